// Package bench holds loa's benchmarks: the numbers the issues ask for,
// measured on the real binaries and devices. `go test ./bench` runs nothing
// long; the measurements run with
//
//	go test ./bench -run XXX -bench . -benchtime 1x                  (minutes)
//	LOA_BENCH=1 go test ./bench -run 'Start|Soak' -v -timeout 2h     (real time: up to an hour)
//
// bench/README.md has the results and how they were taken.
package bench

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// agentBin builds loa-agent once per run and returns its path.
func agentBin(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "loa-bench-bin-")
		if buildErr != nil {
			return
		}
		cmd := exec.Command("go", "build", "-o", filepath.Join(binDir, "loa-agent"), "./cmd/loa-agent")
		cmd.Dir = ".."
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = &buildError{err, string(out)}
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return filepath.Join(binDir, "loa-agent")
}

type buildError struct {
	err error
	out string
}

func (e *buildError) Error() string { return "build loa-agent: " + e.err.Error() + "\n" + e.out }

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	if cityDir != "" {
		os.RemoveAll(cityDir)
	}
	os.Exit(code)
}

// long skips a real-time measurement unless LOA_BENCH=1.
func long(t *testing.T, what string) {
	t.Helper()
	if os.Getenv("LOA_BENCH") == "" {
		t.Skipf("set LOA_BENCH=1 to run: %s", what)
	}
}

func need(t testing.TB, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed", tool)
		}
	}
}
