package atomicfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// names lists what dir holds, temporary files included.
func names(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

func wantFile(t *testing.T, path, content string, perm fs.FileMode) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil || string(b) != content {
		t.Fatalf("%s: %q %v, want %q", path, b, err, content)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != perm {
		t.Fatalf("%s: mode %v %v, want %v", path, st.Mode().Perm(), err, perm)
	}
}

func TestWriteFileCreatesAndReplaces(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "agent.conf")
	for _, tc := range []struct {
		content string
		perm    fs.FileMode
	}{
		{"ward: p1\n", 0o600},
		{"ward: p2\n", 0o640}, // replaces, with the new mode
		{"", 0o644},           // an empty file is a file
	} {
		if err := WriteFile(path, []byte(tc.content), tc.perm); err != nil {
			t.Fatal(err)
		}
		wantFile(t, path, tc.content, tc.perm)
		if n := names(t, dir); len(n) != 1 {
			t.Fatalf("left behind: %v", n)
		}
	}
}

// A write that fails half-way leaves the old file whole and no temporary
// file.
func TestFailedWriteKeepsOldFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "city.key")
	if err := WriteFile(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := Create(path, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("half of the n")); err != nil {
		t.Fatal(err)
	}
	f.File.Close() // the disk goes away: the next write fails
	if _, err := f.Write([]byte("ew key")); err == nil {
		t.Fatal("a write to a closed file succeeded")
	}
	f.Abort()
	wantFile(t, path, "old", 0o600)
	if n := names(t, dir); len(n) != 1 {
		t.Fatalf("left behind: %v", n)
	}
	if err := f.Commit(); err == nil {
		t.Fatal("commit after abort succeeded")
	}
	wantFile(t, path, "old", 0o600)
}

// A commit that cannot put the file in place (sync, close or rename fail)
// removes the temporary file and leaves the path as it was.
func TestFailedCommitLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	t.Run("close fails", func(t *testing.T) {
		path := filepath.Join(dir, "a")
		if err := WriteFile(path, []byte("old"), 0o640); err != nil {
			t.Fatal(err)
		}
		f, err := Create(path, 0o640)
		if err != nil {
			t.Fatal(err)
		}
		f.Write([]byte("new"))
		f.File.Close()
		if err := f.Commit(); err == nil {
			t.Fatal("commit of a closed file succeeded")
		}
		wantFile(t, path, "old", 0o640)
	})
	t.Run("rename fails", func(t *testing.T) {
		path := filepath.Join(dir, "b")
		// A directory with something in it cannot be renamed over.
		if err := os.MkdirAll(filepath.Join(path, "inside"), 0o750); err != nil {
			t.Fatal(err)
		}
		if err := WriteFile(path, []byte("new"), 0o640); err == nil {
			t.Fatal("replaced a directory")
		}
		if st, err := os.Stat(filepath.Join(path, "inside")); err != nil || !st.IsDir() {
			t.Fatalf("the directory changed: %v", err)
		}
	})
	if n := names(t, dir); len(n) != 2 {
		t.Fatalf("left behind: %v", n)
	}
}

func TestWriteIntoMissingDirectory(t *testing.T) {
	dir := t.TempDir()
	err := WriteFile(filepath.Join(dir, "no", "such"), []byte("x"), 0o600)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("%v", err)
	}
	if n := names(t, dir); len(n) != 0 {
		t.Fatalf("left behind: %v", n)
	}
}

func TestWriteNewNeverReplaces(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "control.token")
	if err := WriteNew(path, []byte("first"), 0o640); err != nil {
		t.Fatal(err)
	}
	wantFile(t, path, "first", 0o640)
	if err := WriteNew(path, []byte("second"), 0o600); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("second WriteNew: %v, want fs.ErrExist", err)
	}
	wantFile(t, path, "first", 0o640)
	// Past the first check, the link still refuses to replace.
	f, err := Create(path, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Abort()
	f.Write([]byte("third"))
	if err := f.CommitNew(); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("CommitNew over a file: %v, want fs.ErrExist", err)
	}
	wantFile(t, path, "first", 0o640)
	if n := names(t, dir); len(n) != 1 {
		t.Fatalf("left behind: %v", n)
	}
}

// Writers racing to create one file: exactly one wins, the others get
// fs.ErrExist, and the file is the winner's, whole.
func TestWriteNewRace(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ward.nkey")
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = WriteNew(path, []byte{byte('a' + i)}, 0o600)
		}()
	}
	wg.Wait()
	won := -1
	for i, err := range errs {
		switch {
		case err == nil && won >= 0:
			t.Fatalf("writers %d and %d both won", won, i)
		case err == nil:
			won = i
		case !errors.Is(err, fs.ErrExist):
			t.Fatalf("writer %d: %v", i, err)
		}
	}
	if won < 0 {
		t.Fatal("no writer won")
	}
	wantFile(t, path, string(rune('a'+won)), 0o600)
	if n := names(t, dir); len(n) != 1 {
		t.Fatalf("left behind: %v", n)
	}
}

func TestRenameAndSyncDir(t *testing.T) {
	dir := t.TempDir()
	tmp := filepath.Join(dir, "tmp-1")
	os.WriteFile(tmp, []byte("media"), 0o640)
	dst := filepath.Join(dir, "ab", "abcd")
	if err := Rename(tmp, dst); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("rename into a missing folder: %v", err)
	}
	os.Mkdir(filepath.Join(dir, "ab"), 0o750)
	if err := Rename(tmp, dst); err != nil {
		t.Fatal(err)
	}
	wantFile(t, dst, "media", 0o640)
	if err := SyncDir(filepath.Join(dir, "missing")); err == nil {
		t.Fatal("SyncDir of a missing folder")
	}
}

func TestRemoveTemps(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "reserve")
	os.WriteFile(path, []byte("kept"), 0o600)
	os.WriteFile(filepath.Join(dir, "other"), []byte("kept"), 0o600)
	os.WriteFile(filepath.Join(dir, ".other.123.tmp"), []byte("another file's"), 0o600)
	for range 3 { // three crashes mid-write
		f, err := Create(path, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		f.File.Close()
	}
	if n := names(t, dir); len(n) != 6 {
		t.Fatalf("%v", n)
	}
	if err := RemoveTemps(path); err != nil {
		t.Fatal(err)
	}
	got := names(t, dir)
	if len(got) != 3 || got[0] != ".other.123.tmp" || got[1] != "other" || got[2] != "reserve" {
		t.Fatalf("left: %v", got)
	}
	wantFile(t, path, "kept", 0o600)
}
