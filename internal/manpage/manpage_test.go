package manpage

import (
	"strings"
	"testing"
)

// A page Write makes passes Problems; one with a command missing or a help
// line starting with a dot unescaped does not.
func TestProblems(t *testing.T) {
	var b strings.Builder
	titles := map[string]string{"run": "Chạy đài - run"}
	p := Page{Name: "loa-x", Summary: "test", Version: "1", Usage: "usage\n.not a request\n"}
	p.AddCommands(titles, func(args []string) string { return "loa-x " + args[0] + " — " + titles[args[0]] + "\n" })
	if err := Write(&b, p); err != nil {
		t.Fatal(err)
	}
	if bad := Problems(b.String(), "loa-x", titles); len(bad) != 0 {
		t.Fatalf("a good page: %v", bad)
	}
	if bad := Problems(b.String(), "loa-x", map[string]string{"stop": "Dừng"}); len(bad) != 1 {
		t.Fatalf("a missing command: %v", bad)
	}
	if bad := Problems(b.String()+".bogus\n", "loa-x", titles); len(bad) != 1 {
		t.Fatalf("a stray request: %v", bad)
	}
}
