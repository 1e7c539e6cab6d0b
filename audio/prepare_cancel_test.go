package audio

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// A cancelled context stops Prepare before it writes anything, with the
// context's error, and leaves no temporary file.
func TestPrepareContextCancelled(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "a.wav")
	w, err := CreateWAV(src, 8000, 1)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(make([][2]float64, 8000))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	out := filepath.Join(dir, "out", "a.wav")
	os.MkdirAll(filepath.Dir(out), 0o755)
	if _, err := PrepareContext(ctx, src, out, 44100, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
	if left, _ := os.ReadDir(filepath.Dir(out)); len(left) != 0 {
		t.Fatalf("left behind: %v", left)
	}
	if _, err := PrepareContext(context.Background(), src, out, 44100, nil); err != nil {
		t.Fatal(err)
	}
}
