package library

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"loa/internal/cmdkit"
	"loa/sqlite"
)

// fakeEditor keeps titles and uses in memory (sqlite's own test runs the
// real queries).
type fakeEditor struct {
	titles map[string]string
	uses   map[string][]string
	gone   map[string]bool
}

func (f *fakeEditor) SetMediaTitle(_ context.Context, key, title string) error {
	if _, ok := f.titles[key]; !ok {
		return sqlite.ErrNotFound
	}
	f.titles[key] = title
	return nil
}

func (f *fakeEditor) DeleteMedia(_ context.Context, key string) ([]string, error) {
	if u := f.uses[key]; len(u) > 0 {
		return u, nil
	}
	if _, ok := f.titles[key]; !ok {
		return nil, sqlite.ErrNotFound
	}
	f.gone[key] = true
	return nil, nil
}

func TestRetitleAndDelete(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	used, free := strings.Repeat("a", 64), strings.Repeat("b", 64)
	ed := &fakeEditor{titles: map[string]string{used: "a", free: "b"}, uses: map[string][]string{used: {"programs group:quan-1", "alert 20261206-x"}}, gone: map[string]bool{}}
	f.Edit = ed
	if err := f.Retitle(ctx, free, "  Bản tin thứ Hai "); err != nil || ed.titles[free] != "Bản tin thứ Hai" {
		t.Fatalf("retitle: %v %q", err, ed.titles[free])
	}
	for _, bad := range []string{"", strings.Repeat("x", 201)} {
		if err := f.Retitle(ctx, free, bad); !cmdkit.IsBadInput(err) {
			t.Errorf("title %q: %v", bad, err)
		}
	}
	if err := f.Retitle(ctx, "../../etc/passwd", "x"); err == nil {
		t.Error("a bad key was accepted")
	}
	var inUse *InUseError
	err := f.Delete(ctx, used)
	if !errors.As(err, &inUse) || !strings.Contains(err.Error(), "đang được dùng, không xoá được: programs group:quan-1; alert 20261206-x / in use") || ed.gone[used] {
		t.Fatalf("delete in use: %v", err)
	}
	// An unused item goes, and its file with it.
	os.WriteFile(f.files.Path(free), []byte("ID3"), 0o644)
	if err := f.Delete(ctx, free); err != nil || !ed.gone[free] {
		t.Fatalf("delete: %v", err)
	}
	if f.files.Has(free) {
		t.Error("the file stays in the store")
	}
	if err := f.Delete(ctx, strings.Repeat("c", 64)); !cmdkit.IsBadInput(err) {
		t.Errorf("unknown item: %v", err)
	}
}
