package diskspace

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func TestReserveHeldReleasedAndMadeAgain(t *testing.T) {
	dir := t.TempDir()
	r := &Reserve{Path: filepath.Join(dir, "reserve"), Size: 1 << 20}
	if held, err := r.Ensure(); !held || err != nil {
		t.Fatalf("Ensure: %v %v", held, err)
	}
	fi, err := os.Stat(r.Path)
	if err != nil || fi.Size() != 1<<20 || allocated(fi) < 1<<20 {
		t.Fatalf("reserve file: %v %v", fi, err)
	}
	if r.Bytes() != 1<<20 {
		t.Fatalf("Bytes %d", r.Bytes())
	}
	if !r.Release() {
		t.Fatal("Release gave nothing back")
	}
	if r.Release() {
		t.Fatal("a second Release claimed to give space back")
	}
	if _, err := os.Stat(r.Path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("reserve still there: %v", err)
	}
	if held, err := r.Ensure(); !held || err != nil {
		t.Fatalf("Ensure again: %v %v", held, err)
	}
}

func TestIsFull(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{nil, false},
		{errors.New("boom"), false},
		{fmt.Errorf("write: %w", syscall.ENOSPC), true},
		{&os.PathError{Op: "write", Path: "x", Err: syscall.ENOSPC}, true},
		{errors.New("database or disk is full (13)"), true},
		{errors.New("media x: write /data/cache: no space left on device"), true},
	} {
		if got := IsFull(c.err); got != c.want {
			t.Errorf("IsFull(%v) = %v", c.err, got)
		}
	}
}

func TestFree(t *testing.T) {
	n, err := Free(t.TempDir())
	if err != nil || n <= 0 {
		t.Fatalf("Free: %d %v", n, err)
	}
}
