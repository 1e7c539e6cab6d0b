package agent

import (
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// The record of commands accepted survives a restart (a replay after it
// is still refused); ids long expired are dropped when one is added.
func TestCommandSeenSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	s := loadCommandSeen(dir, clock)
	if err := s.Remember("old", now.Add(-2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.Remember("c1", now.Add(10*time.Minute)); err != nil {
		t.Fatal(err)
	}
	s.Remember("c2", now.Add(10*time.Minute))
	again := loadCommandSeen(dir, clock)
	if !again.Seen("c1") || !again.Seen("c2") || again.Seen("c3") {
		t.Fatalf("after a restart: %v", again.ids)
	}
	if again.Seen("old") {
		t.Fatal("an id expired two hours ago is still kept")
	}
}

// The volume the city set is kept in the data directory and applied on
// top of audio.master_volume.
func TestCommandVolumeKept(t *testing.T) {
	d := &Daemon{Cfg: Config{Data: t.TempDir()}}
	d.Cfg.Audio.MasterVolume = 100
	if g := d.masterGain(); g != 1 {
		t.Fatalf("no volume set: gain %g", g)
	}
	os.WriteFile(filepath.Join(d.Cfg.Data, commandVolumeFile), []byte(`{"db":-6}`), 0o600)
	if g := 20 * math.Log10(d.masterGain()); math.Abs(g+6) > 1e-9 {
		t.Fatalf("volume -6: gain %g dB", g)
	}
	os.WriteFile(filepath.Join(d.Cfg.Data, commandVolumeFile), []byte(`{"db":12}`), 0o600)
	if g := d.masterGain(); g != 1 {
		t.Fatalf("an out-of-range volume on disk was applied: gain %g", g)
	}
}
