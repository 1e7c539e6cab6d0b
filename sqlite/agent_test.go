package sqlite

import (
	"context"
	"io/fs"
	"path/filepath"
	"testing"
	"time"
)

func openTest(t *testing.T) (*AgentDB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "loa.db")
	db, err := OpenAgent(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, path
}

func TestMigrationsApplyOnceAndReopen(t *testing.T) {
	ctx := context.Background()
	db, path := openTest(t)
	if err := db.Set(ctx, "k", "v"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db2, err := OpenAgent(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	var n int
	db2.QueryRow(`SELECT count(*) FROM schema_migrations`).Scan(&n)
	files, _ := fs.ReadDir(migrations, "migrations/agent")
	if n != len(files) {
		t.Fatalf("%d migrations recorded after reopening, want %d (one per file, each once)", n, len(files))
	}
	if v, _ := db2.Get(ctx, "k"); v != "v" {
		t.Fatalf("value lost across reopen: %q", v)
	}
	var mode string
	db2.QueryRow(`PRAGMA journal_mode`).Scan(&mode)
	var sync int
	db2.QueryRow(`PRAGMA synchronous`).Scan(&sync)
	if mode != "wal" || sync != 2 {
		t.Fatalf("journal_mode=%s synchronous=%d, want wal and 2 (FULL)", mode, sync)
	}
	if err := db2.IntegrityCheck(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestReplaceProgramSource(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t)
	m := Media{SHA256: "ab", Size: 10, Codec: "mp3", SourceRate: 22050, Channels: 1, CacheRate: 44100, Frames: 44100, LoudnessLUFS: -20.5, HasLoudness: true, TruePeakDB: -1.2, AddedAt: time.UnixMilli(1000)}
	src := ProgramSource{Name: "local", Path: "/p.yaml", Body: []byte("programs: []"), MediaMap: map[string]string{"a.mp3": "ab"}, Version: "v1"}
	if err := db.ReplaceProgramSource(ctx, src, []Media{m}); err != nil {
		t.Fatal(err)
	}
	src.Body, src.Version = []byte("programs: [x]"), "v2"
	if err := db.ReplaceProgramSource(ctx, src, nil); err != nil {
		t.Fatal(err)
	}
	got, err := db.ProgramSources(ctx)
	if err != nil || len(got) != 1 || string(got[0].Body) != "programs: [x]" || got[0].MediaMap["a.mp3"] != "ab" {
		t.Fatalf("sources = %+v, %v", got, err)
	}
	gm, err := db.Media(ctx, "ab")
	if err != nil || gm.Duration() != time.Second || gm.LoudnessLUFS != -20.5 || !gm.HasLoudness {
		t.Fatalf("media = %+v, %v", gm, err)
	}
	if _, err := db.Media(ctx, "zz"); err == nil {
		t.Fatal("unknown media found")
	}
}

func TestAsRunLogAndRetention(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t)
	day := time.Date(2026, 11, 26, 5, 30, 0, 0, time.UTC)
	for i := 0; i < 5; i++ {
		planned := day.Add(time.Duration(i) * 24 * time.Hour)
		if _, err := db.AddAsRun(ctx, AsRunEntry{Program: "p", Occurrence: planned, Item: "a.mp3", Kind: "program", Planned: planned, Actual: planned.Add(3 * time.Millisecond), End: planned.Add(time.Minute), Result: "completed"}); err != nil {
			t.Fatal(err)
		}
	}
	rows, _ := db.AsRun(ctx, day, day.Add(24*time.Hour))
	if len(rows) != 1 || rows[0].Actual.Sub(rows[0].Planned) != 3*time.Millisecond || rows[0].Result != "completed" {
		t.Fatalf("rows = %+v", rows)
	}
	un, _ := db.UnshippedAsRun(ctx, 10)
	if len(un) != 5 {
		t.Fatalf("%d unshipped, want 5", len(un))
	}
	db.MarkShipped(ctx, []int64{un[0].ID, un[1].ID})
	// Shipped and older than 2 days go; unshipped stay until the hard limit.
	n, err := db.PruneAsRun(ctx, day.Add(2*24*time.Hour+time.Hour), day.Add(-time.Hour))
	if err != nil || n != 2 {
		t.Fatalf("pruned %d (%v), want 2", n, err)
	}
	n, _ = db.PruneAsRun(ctx, day, day.Add(3*24*time.Hour))
	if n != 1 {
		t.Fatalf("hard limit pruned %d, want 1", n)
	}
}
