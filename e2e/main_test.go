// Package e2e runs loa's real binaries on loopback: real processes, real
// SQLite files, real HTTP, and the real oto → ALSA path through the test
// devices of docs/design.md §7 (the ALSA file plugin for content, a
// PulseAudio null sink for timing).
package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

var bin string // folder holding the freshly built binaries

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "loa-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin = dir
	for _, c := range []string{"loa-agent", "loa-city", "loactl"} {
		if _, err := os.Stat(filepath.Join("..", "cmd", c, "main.go")); err != nil {
			continue
		}
		cmd := exec.Command("go", "build", "-o", filepath.Join(dir, c), "./cmd/"+c)
		cmd.Dir = ".."
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "build %s: %v\n%s", c, err, out)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
