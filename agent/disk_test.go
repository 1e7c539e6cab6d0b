package agent

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestStorageConfig(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "c.conf")
	os.WriteFile(path, []byte("storage:\n  reserve: 16MB\n  min_free: 1GB\n"), 0o600)
	cfg, err := LoadConfig(path, true)
	if err != nil || cfg.Storage.Reserve != 16e6 || cfg.Storage.MinFree != 1e9 {
		t.Fatalf("storage %+v %v", cfg.Storage, err)
	}
	if d := DefaultConfig().Storage; d.Reserve != 32*MB || d.MinFree != 128*MB {
		t.Fatalf("defaults %+v", d)
	}
	for body, want := range map[string]string{
		"storage:\n  reserve: lots\n":   `"lots" is not a size`,
		"storage:\n  reserve: 5GB\n":    "storage.reserve: 5GB: at most 4GB",
		"storage:\n  min_free: -1MB\n":  `"-1MB" is not a size`,
		"storage:\n  min_fre: 100MB\n":  "field min_fre not found",
		"storage:\n  reserve: 1.5MB\n":  `"1.5MB" is not a size`,
		"storage:\n  reserve: 16 MB\n":  "",
		"storage:\n  reserve: 64MiB\n":  "",
		"storage:\n  min_free: 4096\n":  "",
		"storage:\n  min_free: 512kB\n": "",
	} {
		os.WriteFile(path, []byte(body), 0o600)
		_, err := LoadConfig(path, true)
		if want == "" && err != nil || want != "" && (err == nil || !strings.Contains(err.Error(), want)) {
			t.Errorf("%q: error %v, want %q", body, err, want)
		}
	}
	for b, s := range map[Bytes]string{32 * MB: "32MB", 1 * GB: "1GB", 512 * KB: "512kB", 4096: "4096", 0: "0", 1 << 20: "1048576"} {
		if b.String() != s {
			t.Errorf("%d: %q, want %q", int64(b), b.String(), s)
		}
		if back, err := ParseBytes(s); err != nil || back != b {
			t.Errorf("%q parsed as %d %v", s, back, err)
		}
	}
}

// The guard makes the reserve, gives it up when the database asks, makes
// it again when there is room, and stops media below the floor.
func TestDiskGuard(t *testing.T) {
	dir := t.TempDir()
	g := newDiskGuard(dir, StorageConfig{Reserve: 1 * MB, MinFree: 1 * MB}, slog.New(slog.DiscardHandler))
	g.start()
	if fi, err := os.Stat(filepath.Join(dir, reserveFile)); err != nil || fi.Size() != 1e6 {
		t.Fatalf("reserve: %v %v", fi, err)
	}
	if s := g.state(); s.Reserve != 1e6 || s.Low || s.Free <= 0 || diskProblem(s) != "" {
		t.Fatalf("state %+v", s)
	}
	if !g.onFull() {
		t.Fatal("onFull gave nothing back")
	}
	if g.onFull() {
		t.Fatal("a second onFull claimed space")
	}
	if s := g.state(); s.Reserve != 0 {
		t.Fatalf("after release %+v", s)
	}
	g.maintain()
	if s := g.state(); s.Reserve != 1e6 {
		t.Fatalf("reserve not made again: %+v", s)
	}
	if err := g.mediaSpace(); err != nil {
		t.Fatalf("media refused with room: %v", err)
	}

	// A floor above what the disk has.
	g.minFree = 1 << 62
	if back := g.maintain(); back || !g.isLow() {
		t.Fatalf("maintain below the floor: back %v low %v", back, g.isLow())
	}
	s := g.state()
	if err := g.mediaSpace(); err == nil || !strings.Contains(err.Error(), "Sắp đầy đĩa / disk almost full") {
		t.Fatalf("media below the floor: %v", err)
	}
	s.Unsaved = 3
	if p := diskProblem(s); !strings.Contains(p, "Sắp đầy đĩa / disk almost full") || !strings.Contains(p, "3 alert records") {
		t.Fatalf("problem %q", p)
	}
	g.minFree = 0
	if !g.maintain() || g.isLow() {
		t.Fatal("the space back above the floor is not reported")
	}
}

// ParseBytes reads the configuration file: it never panics, and what it
// accepts prints back to the same size.
func FuzzParseBytes(f *testing.F) {
	for _, s := range []string{"32MB", "0", "4096", "1GiB", " 16 MB", "-1", "1e9", "99999999999999999999GB", "9223372036854775807kB", "+5MB", "kB", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, err := ParseBytes(s)
		if err != nil {
			return
		}
		if b < 0 {
			t.Fatalf("%q: negative %d", s, b)
		}
		if back, err := ParseBytes(b.String()); err != nil || back != b {
			t.Fatalf("%q → %d → %q → %d %v", s, b, b.String(), back, err)
		}
	})
}
