package city

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"loa/internal/manpage"
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
	for _, p := range manpage.Problems(page.String(), "loa-city", commandTitles) {
		t.Error(p)
	}
}

// tee writes to two buffers.
type tee struct{ a, b *bytes.Buffer }

func (w *tee) Write(p []byte) (int, error) {
	w.a.Write(p)
	return w.b.Write(p)
}
