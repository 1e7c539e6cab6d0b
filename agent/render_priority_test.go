package agent

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"loa/priority"
)

// A local alert file reaches the player at the level of the one mapping
// (priority.ParseAlert): no priority is the top, as for any alert; a word
// that is not a priority is refused, naming the file and the word.
func TestAlertFilePriority(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		line    string
		want    priority.Level
		wantErr string
	}{
		{"", priority.Emergency, ""},
		{"priority: emergency\n", priority.Emergency, ""},
		{"priority: urgent\n", priority.Urgent, ""},
		{"priority: normal\n", 0, `priority "normal": must be emergency or urgent`},
	}
	for i, c := range cases {
		path := filepath.Join(dir, "a"+string(rune('0'+i))+".yaml")
		if err := os.WriteFile(path, []byte(c.line+"media: bao.mp3\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		f, err := loadAlertFile(path)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("%q: error %v, want %q naming the file", c.line, err, c.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%q: %v", c.line, err)
		}
		if got := alertFromFile("a", f, "c", "", time.Time{}).Priority; got != c.want {
			t.Errorf("%q: played at %v, want %v", c.line, got, c.want)
		}
	}
}
