package agent

import (
	"testing"
	"time"
)

// The jump detector is what tells the player that the wall clock stepped
// (TestDaemonTellsThePlayerOfClockJumps runs it in the daemon): it
// reports how far the wall clock moved beyond the monotonic clock, and
// nothing while the two agree.
func TestJumpDetector(t *testing.T) {
	var j jumpDetector
	mono := time.Now()
	wall := time.Date(2026, 11, 26, 6, 0, 1, 0, ict)
	step := func(monoD, wallD time.Duration) time.Duration {
		mono, wall = mono.Add(monoD), wall.Add(wallD)
		return j.observe(wall, mono)
	}
	if d := j.observe(wall, mono); d != 0 {
		t.Fatalf("first reading: jump %s, want 0", d)
	}
	for _, c := range []struct {
		name       string
		mono, wall time.Duration
		want       time.Duration
	}{
		{"clocks agree", 100 * time.Millisecond, 100 * time.Millisecond, 0},
		{"step back", 100 * time.Millisecond, 100*time.Millisecond - 10*time.Second, -10 * time.Second},
		{"agree again", time.Second, time.Second, 0},
		{"step forward", 100 * time.Millisecond, 100*time.Millisecond + 61*time.Second, 61 * time.Second},
		{"a stalled loop is no jump", 5 * time.Second, 5 * time.Second, 0},
	} {
		if got := step(c.mono, c.wall); got != c.want {
			t.Errorf("%s: jump %s, want %s", c.name, got, c.want)
		}
	}
}
