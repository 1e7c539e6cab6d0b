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
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// built is one binary built for the run: its folder is removed at the end.
type built struct {
	once sync.Once
	dir  string
	path string
	err  error
}

var (
	builtMu sync.Mutex
	builds  = map[string]*built{} // by package
)

// buildBin builds pkg (a package path, ./cmd/... or a module's) into a
// binary called name, once per run, and returns its path.
func buildBin(tb testing.TB, name, pkg string) string {
	tb.Helper()
	builtMu.Lock()
	b := builds[pkg]
	if b == nil {
		b = &built{}
		builds[pkg] = b
	}
	builtMu.Unlock()
	b.once.Do(func() {
		if b.dir, b.err = os.MkdirTemp("", "loa-bench-"+name+"-"); b.err != nil {
			return
		}
		b.path = filepath.Join(b.dir, name)
		cmd := exec.Command("go", "build", "-o", b.path, pkg)
		cmd.Dir = ".."
		if out, err := cmd.CombinedOutput(); err != nil {
			b.err = fmt.Errorf("build %s: %w\n%s", name, err, out)
		}
	})
	if b.err != nil {
		tb.Fatal(b.err)
	}
	return b.path
}

// agentBin builds loa-agent once per run and returns its path.
func agentBin(tb testing.TB) string { return buildBin(tb, "loa-agent", "./cmd/loa-agent") }

func TestMain(m *testing.M) {
	code := m.Run()
	for _, b := range builds {
		if b.dir != "" {
			os.RemoveAll(b.dir)
		}
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
