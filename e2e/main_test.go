// Package e2e runs loa's real binaries on loopback: real processes, real
// SQLite files, real HTTP, and the real oto → ALSA path through the test
// devices of docs/design.md §7 (the ALSA file plugin for content, a
// PulseAudio null sink for timing).
package e2e

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

var bin string // folder holding the freshly built binaries

func TestMain(m *testing.M) {
	// The tests start real binaries (built without the race detector)
	// and spend most of their time waiting on them: a program's start at
	// the next minute, heartbeats, retries, timeouts. Four of them run at
	// once unless -test.parallel says otherwise (the default is one per
	// core): more would load the machine enough to move what the tests
	// measure against the wall clock (a program's start within 100 ms, an
	// alert's cut-in) and the real-time tests of the package that
	// go test runs beside this one.
	flag.Parse()
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.parallel" })
	if !set {
		flag.Set("test.parallel", "4")
	}
	dir, err := os.MkdirTemp("", "loa-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin = dir
	// One go build for the three, so that they compile and link side by
	// side (-o a folder: each binary under its own name).
	args := []string{"build", "-o", dir + string(os.PathSeparator)}
	for _, c := range []string{"loa-agent", "loa-city", "loactl"} {
		if _, err := os.Stat(filepath.Join("..", "cmd", c, "main.go")); err == nil {
			args = append(args, "./cmd/"+c)
		}
	}
	cmd := exec.Command("go", args...)
	cmd.Dir = ".."
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build %s: %v\n%s", strings.Join(args[3:], " "), err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
