package agent

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"loa/internal/manpage"
	"loa/player"
)

// TestHelpOncePerCommand: on a terminal standard output and standard error
// are the same screen; every command's --help shows there once, on
// standard output, and names the command in Vietnamese.
func TestHelpOncePerCommand(t *testing.T) {
	for name, title := range commandTitles {
		if !strings.Contains(agentUsage, " "+name) {
			t.Errorf("%q has a title but is not in the usage", name)
		}
		var screen, out bytes.Buffer
		c := &CLI{Stdout: &both{&screen, &out}, Stderr: &screen}
		args := append(strings.Fields(name), "--help")
		if code := c.Main(context.Background(), args); code != ExitOK {
			t.Errorf("%v: exit %d\n%s", args, code, screen.String())
		}
		if n := strings.Count(screen.String(), "Usage:"); n != 1 || screen.String() != out.String() {
			t.Errorf("%v: help shown %d times, standard output %q, screen %q", args, n, out.String(), screen.String())
		}
		if !strings.HasPrefix(out.String(), "loa-agent "+name+" — "+title+"\n") {
			t.Errorf("%v: help does not start with its Vietnamese name: %q", args, out.String())
		}
	}
	// And every command in the usage has a title.
	for _, line := range strings.Split(agentUsage, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || f[0] != "loa-agent" || f[1] == "version" || strings.HasPrefix(f[1], "—") {
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
	// A bad flag: the error and the usage line, once, on standard error.
	var out, errb bytes.Buffer
	c := &CLI{Stdout: &out, Stderr: &errb}
	if code := c.Main(context.Background(), []string{"status", "--bogus"}); code != ExitInput || out.Len() != 0 ||
		strings.Count(errb.String(), "usage: loa-agent status") != 1 || !strings.Contains(errb.String(), "-bogus") {
		t.Errorf("status --bogus: exit %d, stdout %q, stderr %q", code, out.String(), errb.String())
	}
}

// TestManpage: the manual page the package installs holds every
// command's help, escaped for roff.
func TestManpage(t *testing.T) {
	var page bytes.Buffer
	if code := (&CLI{Stdout: &page, Stderr: &page}).Main(context.Background(), []string{"manpage"}); code != 0 {
		t.Fatalf("manpage: exit %d\n%s", code, page.String())
	}
	for _, p := range manpage.Problems(page.String(), "loa-agent", commandTitles) {
		t.Error(p)
	}
}

// both writes to two writers.
type both struct{ a, b *bytes.Buffer }

func (w *both) Write(p []byte) (int, error) {
	w.a.Write(p)
	return w.b.Write(p)
}

// `loa-agent status` never says OK next to a listed problem, shows a live
// announcement as live (not the program it ducks, nor idle), and names
// what plays by its title.
func TestPrintStatusAgrees(t *testing.T) {
	var b strings.Builder
	printStatus(&b, StatusReport{Ward: "phuong-1", Healthy: true, Problems: []string{"Chương trình không nạp được / programs not loaded: x"},
		Live:    &player.OnAir{Kind: "live", ID: "live-1", Title: "Thông báo của UBND"},
		Program: &player.OnAir{Kind: "program", ID: "ban-tin", Title: "Bản tin sáng", Item: "ban-tin.mp3"}})
	out := b.String()
	if !strings.Contains(out, "CÓ LỖI / PROBLEMS") || strings.Contains(out, "TỐT / OK") {
		t.Errorf("OK beside a problem:\n%s", out)
	}
	if !strings.Contains(out, "ĐANG PHÁT TRỰC TIẾP / LIVE: Thông báo của UBND") || strings.Contains(out, "nghỉ / idle") {
		t.Errorf("live not shown as live:\n%s", out)
	}
	b.Reset()
	printStatus(&b, StatusReport{Ward: "phuong-1", Healthy: true, Problems: []string{},
		Program: &player.OnAir{Kind: "program", ID: "ban-tin", Title: "Bản tin sáng"}})
	if out := b.String(); !strings.Contains(out, "TỐT / OK") || !strings.Contains(out, "đang phát / on air: Bản tin sáng,") {
		t.Errorf("healthy:\n%s", out)
	}
}
