package cap

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// FuzzRead: no input panics the reader, and what it accepts passes Check.
func FuzzRead(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.xml")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil && len(b) < 20000 {
			f.Add(b)
		}
	}
	now := time.Date(2019, 4, 19, 17, 46, 20, 0, time.UTC)
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := Read(data, now)
		if err != nil {
			return
		}
		if err := a.Check(); err != nil {
			t.Fatalf("accepted but fails Check: %v", err)
		}
		ReadFeed(data)
	})
}
