package library

import (
	"context"
	"errors"
	"strings"
	"testing"

	"loa/internal/cmdkit"
	"loa/sqlite"
)

// fakeRenamer keeps names (name -> key) and which names program files
// refer to (sqlite's own test runs the real queries).
type fakeRenamer struct {
	fakeEditor
	names map[string]string
	refs  map[string][]string
}

func (f *fakeRenamer) RenameMedia(_ context.Context, key, from, to string) ([]string, error) {
	if f.names[from] != key {
		return nil, sqlite.ErrNotFound
	}
	if _, ok := f.names[to]; ok && from != to {
		return nil, sqlite.ErrExists
	}
	if u := f.refs[from]; len(u) > 0 {
		return u, nil
	}
	delete(f.names, from)
	f.names[to] = key
	return nil, nil
}

func TestRename(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	a, b := strings.Repeat("a", 64), strings.Repeat("b", 64)
	r := &fakeRenamer{names: map[string]string{"ban-tin.mp3": a, "cu.mp3": a, "nhac.mp3": b, BuiltinChime: b},
		refs: map[string][]string{"ban-tin.mp3": {"p1.yaml (ward:phuong-1)", "q1.yaml (group:quan-1)"}}}
	f.Edit = r
	f.Config.Chime = "nhac.mp3"
	// A free name is renamed (spaces around the new one trimmed).
	if err := f.Rename(ctx, a, "cu.mp3", "  ban-tin-2025.mp3 "); err != nil || r.names["ban-tin-2025.mp3"] != a || r.names["cu.mp3"] != "" {
		t.Fatalf("rename: %v %v", err, r.names)
	}
	// A name program files refer to stays, and the files are named in
	// both languages.
	err := f.Rename(ctx, a, "ban-tin.mp3", "ban-tin-sang.mp3")
	var inUse *NameInUseError
	if !errors.As(err, &inUse) || r.names["ban-tin.mp3"] != a ||
		!strings.Contains(err.Error(), `tên "ban-tin.mp3" đang được tệp chương trình dùng, chưa đổi: p1.yaml (ward:phuong-1); q1.yaml (group:quan-1)`) ||
		!strings.Contains(err.Error(), `the name "ban-tin.mp3" is used by program files, not renamed: p1.yaml (ward:phuong-1); q1.yaml (group:quan-1)`) {
		t.Fatalf("rename of a used name: %v", err)
	}
	// The alert chime's names (built-in and configured) stay.
	for _, n := range []string{BuiltinChime, "nhac.mp3"} {
		if err := f.Rename(ctx, b, n, "x.mp3"); !errors.As(err, &inUse) || r.names[n] != b {
			t.Errorf("rename of the chime %s: %v", n, err)
		}
	}
	// Another item's name.
	if err := f.Rename(ctx, a, "ban-tin-2025.mp3", "nhac.mp3"); !errors.Is(err, ErrNameTaken) || !strings.Contains(err.Error(), "name: ") {
		t.Fatalf("rename onto a taken name: %v", err)
	}
	// Bad input names the field and changes nothing.
	for _, c := range []struct{ key, from, to, want string }{
		{a, "ban-tin-2025.mp3", "", "name: cần tên tệp"},
		{a, "ban-tin-2025.mp3", "media/x.mp3", "name: tên tệp, không có thư mục"},
		{a, "ban-tin-2025.mp3", strings.Repeat("c", 64), "name: trông như mã sha256"},
		{a, "ban-tin-2025.mp3", "a\x01.mp3", "name: có ký tự điều khiển"},
		{a, "khong-co.mp3", "y.mp3", "from: mục"},
		{"../etc", "cu.mp3", "y.mp3", "sha256"},
	} {
		err := f.Rename(ctx, c.key, c.from, c.to)
		if !cmdkit.IsBadInput(err) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q -> %q: %v, want %q", c.from, c.to, err, c.want)
		}
	}
	if r.names["ban-tin-2025.mp3"] != a || len(r.names) != 4 {
		t.Fatalf("names changed: %v", r.names)
	}
}
