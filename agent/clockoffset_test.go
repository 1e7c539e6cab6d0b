package agent

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A --clock-offset that is not a duration stops run before it starts
// (exit status 2, the flag named) and changes nothing. The shifted clock
// itself is exercised end to end: e2e's schedule tests run their agents on
// it (shiftedMinute).
func TestRunRefusesBadClockOffset(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "agent.conf")
	os.WriteFile(path, []byte("data: "+dir+"\nclock: trust\n"), 0o600)
	var stdout, stderr strings.Builder
	cli := &CLI{Stdout: &stdout, Stderr: &stderr}
	if code := cli.Main(context.Background(), []string{"run", "--config", path, "--clock-offset", "8 giờ"}); code != ExitInput {
		t.Fatalf("exit %d, want %d; stderr %s", code, ExitInput, stderr.String())
	}
	if got := stderr.String(); !strings.Contains(got, "clock-offset") || !strings.Contains(got, `"8 giờ"`) {
		t.Fatalf("stderr %q", got)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Fatalf("the refused run changed the data folder: %v", entries)
	}
}
