package mediastore

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPutVerifyRemove(t *testing.T) {
	s, err := New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	key, n, err := s.Put(strings.NewReader("bulletin"), "")
	if err != nil || n != 8 {
		t.Fatal(err, n)
	}
	if !ValidKey(key) || !s.Has(key) {
		t.Fatalf("key %q not stored", key)
	}
	b, _ := os.ReadFile(s.Path(key))
	if string(b) != "bulletin" {
		t.Fatalf("stored %q", b)
	}
	if !strings.HasPrefix(s.Path(key), filepath.Join(s.Dir, "media", "sha256", key[:2])) {
		t.Fatalf("path %s", s.Path(key))
	}
	if err := s.Verify(key); err != nil {
		t.Fatal(err)
	}
	// Same content again: same key, nothing breaks.
	if k2, _, err := s.Put(strings.NewReader("bulletin"), key); err != nil || k2 != key {
		t.Fatal(k2, err)
	}
	os.WriteFile(s.Path(key), []byte("bit rot"), 0o640)
	if err := s.Verify(key); !errors.Is(err, ErrMismatch) {
		t.Fatalf("verify after corruption: %v", err)
	}
	if err := s.Remove(key); err != nil || s.Has(key) {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(filepath.Join(s.Dir, "tmp"))
	if len(entries) != 0 {
		t.Fatalf("temporary files left: %v", entries)
	}
}

func TestPutRejectsWrongContentAndBadKeys(t *testing.T) {
	s, _ := New(t.TempDir())
	other := strings.Repeat("0", 64)
	if _, _, err := s.Put(bytes.NewReader([]byte("x")), other); !errors.Is(err, ErrMismatch) {
		t.Fatalf("mismatch: %v", err)
	}
	if s.Has(other) {
		t.Fatal("mismatching content stored")
	}
	for _, bad := range []string{"../../etc/passwd", strings.Repeat("A", 64), "abc", strings.Repeat("g", 64)} {
		if ValidKey(bad) {
			t.Errorf("%q accepted as key", bad)
		}
		if _, _, err := s.Put(strings.NewReader("x"), bad); !errors.Is(err, ErrBadKey) {
			t.Errorf("put with key %q: %v", bad, err)
		}
		if s.Remove(bad) == nil {
			t.Errorf("remove %q accepted", bad)
		}
	}
	if err := s.CommitFile("/tmp/x", "/etc/passwd"); err == nil {
		t.Fatal("commit outside the store accepted")
	}
}
