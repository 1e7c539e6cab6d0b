package city

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"
)

// TestHelpOncePerCommand: on a terminal standard output and standard error
// are the same screen; every command's --help shows there once, on
// standard output, and names the command in Vietnamese.
func TestHelpOncePerCommand(t *testing.T) {
	for name, title := range commandTitles {
		var screen, out bytes.Buffer
		args := append(strings.Fields(name), "--help")
		code := Main(context.Background(), args, &tee{&screen, &out}, &screen)
		if code != exitOK {
			t.Errorf("%v: exit %d\n%s", args, code, screen.String())
		}
		if n := strings.Count(screen.String(), "Usage:"); n != 1 || screen.String() != out.String() {
			t.Errorf("%v: help shown %d times, standard output %q, screen %q", args, n, out.String(), screen.String())
		}
		if !strings.HasPrefix(out.String(), "loa-city "+name+" — "+title+"\n") {
			t.Errorf("%v: help does not start with its Vietnamese name: %q", args, out.String())
		}
	}
	// Every command in the usage has a title.
	for _, line := range strings.Split(usage, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || f[0] != "loa-city" || strings.HasPrefix(f[1], "-") || f[1] == "—" {
			continue
		}
		name := f[1]
		if len(f) > 2 && commandTitles[f[1]+" "+f[2]] != "" {
			name = f[1] + " " + f[2]
		}
		if commandTitles[name] == "" {
			t.Errorf("%q has no Vietnamese name in commandTitles", name)
		}
	}
	// A bad flag: the error and the help, once, on standard error.
	var out, errb bytes.Buffer
	if code := Main(context.Background(), []string{"key", "--bogus"}, &out, &errb); code != exitBadArgs || out.Len() != 0 ||
		strings.Count(errb.String(), "Usage:") != 1 || !strings.Contains(errb.String(), "-bogus") {
		t.Errorf("key --bogus: exit %d, stdout %q, stderr %q", code, out.String(), errb.String())
	}
}

// TestManpage: the manual page the package installs holds every
// command's help, escaped for roff.
func TestManpage(t *testing.T) {
	var page bytes.Buffer
	if code := Main(context.Background(), []string{"manpage"}, &page, &page); code != 0 {
		t.Fatalf("manpage: exit %d\n%s", code, page.String())
	}
	roff := page.String()
	if !strings.HasPrefix(roff, `.TH "LOA-CITY" 1 `) || !strings.Contains(roff, "\n.SH NAME\n"+`loa\-city \- `) {
		t.Errorf("manpage header:\n%.300s", roff)
	}
	for name, title := range commandTitles {
		if !strings.Contains(roff, ".SS \"loa-city "+name+"\"\n") || !strings.Contains(roff, strings.ReplaceAll(title, "-", `\-`)) {
			t.Errorf("manpage lacks %q (%s)", name, title)
		}
	}
	for _, line := range strings.Split(roff, "\n") {
		if strings.HasPrefix(line, ".") && !regexp.MustCompile(`^\.(TH|SH|SS|nf|fi|nh|hy|sp)( |$)`).MatchString(line) {
			t.Errorf("a line roff takes for a request: %q", line)
		}
	}
}

// tee writes to two buffers.
type tee struct{ a, b *bytes.Buffer }

func (w *tee) Write(p []byte) (int, error) {
	w.a.Write(p)
	return w.b.Write(p)
}
