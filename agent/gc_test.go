package agent

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestGarbageCollectionAfterGrace(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	writeTone(t, filepath.Join(dir, "media/x.wav"), 44100, 440, 0.5, 1)
	writeTone(t, filepath.Join(dir, "media/y.wav"), 44100, 660, 0.5, 1)
	loadProgram(t, data, dir, "programs:\n  - id: a\n    cron: \"0 6 * * *\"\n    items: [media/x.wav, media/y.wav]\n", day)
	loadProgram(t, data, dir, "programs:\n  - id: b\n    cron: \"0 7 * * *\"\n    items: [media/y.wav]\n", day)
	st, err := OpenStation(ctx, data, 44100, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	keys, _ := st.Store.Keys()
	if len(keys) != 2 {
		t.Fatalf("%d media stored, want 2", len(keys))
	}
	x, y := keyOf(t, filepath.Join(dir, "media/x.wav")), keyOf(t, filepath.Join(dir, "media/y.wav"))
	grace := 7 * 24 * time.Hour
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	onAir := map[string]bool{}
	inUse := func(k string) bool { return onAir[k] }
	for _, step := range []struct {
		at      time.Duration
		onAir   bool
		removed int
	}{
		{0, false, 0},                   // x noticed unreferenced
		{grace - time.Hour, false, 0},   // not yet
		{grace + time.Hour, true, 0},    // on air: never removed (and its clock restarts)
		{grace + 2*time.Hour, false, 0}, // unreferenced again from here
		{2*grace + 3*time.Hour, false, 1},
	} {
		onAir[x] = step.onAir
		n, err := st.CollectGarbage(ctx, now.Add(step.at), grace, inUse)
		if err != nil || n != step.removed {
			t.Fatalf("at +%s: removed %d (%v), want %d", step.at, n, err, step.removed)
		}
	}
	if st.Store.Has(x) || !st.Store.Has(y) {
		t.Fatalf("after the grace: x stored %v, y stored %v; want only y", st.Store.Has(x), st.Store.Has(y))
	}
	if _, err := os.Stat(st.Store.CachePath(x, 44100)); err == nil {
		t.Fatal("x's decode is still there")
	}
	if _, err := st.DB.Media(ctx, x); err == nil {
		t.Fatal("x's row is still there")
	}
}

func keyOf(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha(b)
}
