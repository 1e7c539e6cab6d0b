package fleet

import (
	"strings"
	"testing"
	"time"
)

// beatAt sends phuong-1's heartbeat number i, sent and received at, from an
// agent started at start, with alert on air ("" : none).
func beatAt(t *testing.T, b *Board, i int, at, start time.Time, alert string) {
	t.Helper()
	data := beat(t, func(h *Heartbeat) {
		h.Seq = uint64(i)
		h.Sent = at.UnixMilli()
		h.Uptime = int64(at.Sub(start) / time.Second)
		if alert != "" {
			h.OnAir = &Playing{Kind: "alert", ID: alert}
			h.LevelDBFS = -10
		}
	})
	if err := b.Observe("phuong-1", data, at); err != nil {
		t.Fatal(err)
	}
}

func identityProblems(b *Board, now time.Time) []string {
	v, _ := b.Refresh("phuong-1", now)
	var out []string
	for _, p := range v.Health.Problems {
		if p.State == Identity {
			out = append(out, p.Detail)
		}
	}
	return out
}

func TestIdentityAlarms(t *testing.T) {
	start := t0.Add(-time.Hour)
	t.Run("a flag is held, then dropped", func(t *testing.T) {
		b := NewBoard(Thresholds{}, 15*time.Second)
		beatAt(t, b, 1, t0, start, "")
		b.Flag("phuong-1", AlarmDuplicateLogin, "two logins", t0)
		if v, _ := b.Ward("phuong-1"); v.Health.State != Identity || v.Health.Problems[0].Detail != "two logins" {
			t.Fatalf("flagged: %+v", v.Health)
		}
		beatAt(t, b, 2, t0.Add(15*time.Second), start, "")
		if v, _ := b.Ward("phuong-1"); v.Health.State != Identity {
			t.Fatalf("a heartbeat cleared the flag: %+v", v.Health)
		}
		if p := identityProblems(b, t0.Add(AlarmHold+time.Second)); len(p) != 0 {
			t.Fatalf("still held after %s: %v", AlarmHold, p)
		}
	})
	t.Run("finished, but the heartbeats never showed it", func(t *testing.T) {
		b := NewBoard(Thresholds{}, 15*time.Second)
		for i := range 8 {
			beatAt(t, b, i+1, t0.Add(time.Duration(i)*15*time.Second), start, "")
		}
		b.Receipt("phuong-1", "cb-1", "started", t0, t0, t0)
		b.Receipt("phuong-1", "cb-1", "finished", t0.Add(100*time.Second), t0.Add(100*time.Second), t0.Add(105*time.Second))
		if p := identityProblems(b, t0.Add(105*time.Second)); len(p) != 1 || !strings.Contains(p[0], "receipts contradict heartbeats") || !strings.Contains(p[0], "cb-1") {
			t.Fatalf("problems %v", p)
		}
	})
	t.Run("finished, and the heartbeats showed it", func(t *testing.T) {
		b := NewBoard(Thresholds{}, 15*time.Second)
		for i := range 8 {
			beatAt(t, b, i+1, t0.Add(time.Duration(i)*15*time.Second), start, "cb-1")
		}
		b.Receipt("phuong-1", "cb-1", "started", t0, t0, t0)
		b.Receipt("phuong-1", "cb-1", "finished", t0.Add(100*time.Second), t0.Add(100*time.Second), t0.Add(105*time.Second))
		if p := identityProblems(b, t0.Add(105*time.Second)); len(p) != 0 {
			t.Fatalf("problems %v", p)
		}
	})
	t.Run("a short alert between two heartbeats is no contradiction", func(t *testing.T) {
		b := NewBoard(Thresholds{}, 15*time.Second)
		for i := range 4 {
			beatAt(t, b, i+1, t0.Add(time.Duration(i)*15*time.Second), start, "")
		}
		b.Receipt("phuong-1", "cb-1", "started", t0.Add(16*time.Second), t0, t0)
		b.Receipt("phuong-1", "cb-1", "finished", t0.Add(29*time.Second), t0, t0.Add(30*time.Second))
		if p := identityProblems(b, t0.Add(31*time.Second)); len(p) != 0 {
			t.Fatalf("problems %v", p)
		}
	})
	t.Run("receipts while no heartbeat comes", func(t *testing.T) {
		b := NewBoard(Thresholds{}, 15*time.Second)
		beatAt(t, b, 1, t0, start, "")
		at := t0.Add(10 * time.Minute) // offline by heartbeat
		b.Receipt("phuong-1", "cb-2", "received", at, at, at)
		if p := identityProblems(b, at.Add(10*time.Second)); len(p) != 0 {
			t.Fatalf("judged before a window passed: %v", p)
		}
		b.Sweep(at.Add(time.Minute))
		if p := identityProblems(b, at.Add(time.Minute)); len(p) != 1 || !strings.Contains(p[0], "no heartbeat") {
			t.Fatalf("problems %v", p)
		}
	})
	t.Run("a receipt just before the ward's heartbeats resume", func(t *testing.T) {
		b := NewBoard(Thresholds{}, 15*time.Second)
		beatAt(t, b, 1, t0, start, "")
		at := t0.Add(10 * time.Minute) // back from a power cut: the receipts go first
		b.Receipt("phuong-1", "cb-2", "finished", at, at, at)
		beatAt(t, b, 1, at.Add(2*time.Second), at.Add(-30*time.Second), "")
		b.Sweep(at.Add(time.Minute))
		if p := identityProblems(b, at.Add(time.Minute)); len(p) != 0 {
			t.Fatalf("problems %v", p)
		}
	})
	t.Run("two agents as one ward", func(t *testing.T) {
		b := NewBoard(Thresholds{}, 15*time.Second)
		other := t0.Add(-5 * time.Minute)
		beatAt(t, b, 100, t0, start, "")
		beatAt(t, b, 3, t0.Add(time.Second), other, "")
		if p := identityProblems(b, t0.Add(time.Second)); len(p) != 0 {
			t.Fatalf("a restart taken for a second agent: %v", p)
		}
		beatAt(t, b, 101, t0.Add(15*time.Second), start, "")
		if p := identityProblems(b, t0.Add(15*time.Second)); len(p) != 1 || !strings.Contains(p[0], "two running agents") {
			t.Fatalf("problems %v", p)
		}
	})
}
