package fleet

import (
	"testing"
	"time"
)

func beat(t *testing.T, f func(h *Heartbeat)) []byte {
	t.Helper()
	h := healthy()
	if f != nil {
		f(h)
	}
	b, err := h.Encode(nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The board keeps the latest heartbeat, records state changes (not
// heartbeats), and sends a silent ward offline on its own.
func TestBoardChanges(t *testing.T) {
	b := NewBoard(Thresholds{}, 15*time.Second)
	b.SetWards([]WardInfo{{ID: "phuong-1", Manifest: 7, Issued: t0.Add(-time.Hour)}, {ID: "phuong-2"}}, t0)
	cs := b.TakeChanges()
	if len(cs) != 2 || cs[0].To != Offline || cs[1].To != Offline {
		t.Fatalf("registered wards start offline: %+v", cs)
	}
	for i := range 5 {
		at := t0.Add(time.Duration(i) * 15 * time.Second)
		if err := b.Observe("phuong-1", beat(t, func(h *Heartbeat) { h.Seq = uint64(i + 1); h.Sent = at.UnixMilli() }), at.Add(40*time.Millisecond)); err != nil {
			t.Fatal(err)
		}
	}
	cs = b.TakeChanges()
	if len(cs) != 1 || cs[0].From != Offline || cs[0].To != Idle || cs[0].Beat == nil || cs[0].Beat.Seq != 1 {
		t.Fatalf("five heartbeats, one change: %+v", cs)
	}
	v, _ := b.Ward("phuong-1")
	if v.Beat.Seq != 5 || !v.CityOffsetKnown || v.CityOffset != -40*time.Millisecond || v.Health.State != Idle {
		t.Fatalf("view: %+v", v)
	}
	last := t0.Add(4 * 15 * time.Second).Add(40 * time.Millisecond)
	b.Sweep(last.Add(52 * time.Second))
	if cs := b.TakeChanges(); len(cs) != 0 {
		t.Fatalf("offline too soon: %+v", cs)
	}
	b.Sweep(last.Add(53 * time.Second))
	cs = b.TakeChanges()
	if len(cs) != 1 || cs[0].To != Offline || !cs[0].LastSeen.Equal(last) {
		t.Fatalf("offline after 3 missed heartbeats and half an interval: %+v", cs)
	}
	if st := b.Stats(); st.Heartbeats != 5 || st.Rejected != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestBoardStaleAndRejected(t *testing.T) {
	b := NewBoard(Thresholds{}, 0)
	b.Observe("phuong-1", beat(t, func(h *Heartbeat) { h.Seq = 5 }), t0)
	// A replayed older heartbeat (a reconnecting client's buffer) changes
	// nothing.
	b.Observe("phuong-1", beat(t, func(h *Heartbeat) { h.Seq = 4; h.Silent = 20; h.OnAir = &Playing{ID: "x"} }), t0.Add(time.Second))
	if v, _ := b.Ward("phuong-1"); v.Beat.Seq != 5 || v.Health.State != Idle {
		t.Fatalf("stale heartbeat taken: %+v", v)
	}
	// A restarted agent counts from 1 again, with a smaller uptime.
	b.Observe("phuong-1", beat(t, func(h *Heartbeat) { h.Seq = 1; h.Uptime = 2 }), t0.Add(2*time.Second))
	if v, _ := b.Ward("phuong-1"); v.Beat.Seq != 1 {
		t.Fatalf("restart not taken: %+v", v.Beat)
	}
	if err := b.Observe("phuong-2", beat(t, nil), t0); err == nil {
		t.Fatal("phuong-1's heartbeat on phuong-2's subject taken")
	}
	if st := b.Stats(); st.Stale != 1 || st.Rejected != 1 || st.Heartbeats != 2 {
		t.Errorf("stats %+v", st)
	}
}

// A ward whose clock is 5 s ahead is clock! by the city's reckoning even
// when it thinks itself right; a delayed heartbeat does not make a right
// clock look wrong.
func TestBoardCityOffset(t *testing.T) {
	b := NewBoard(Thresholds{}, 0)
	for i := range 4 {
		at := t0.Add(time.Duration(i) * 15 * time.Second)
		b.Observe("ahead", beat(t, func(h *Heartbeat) {
			h.Ward = "ahead"
			h.Seq = uint64(i + 1)
			h.Sent = at.Add(5 * time.Second).UnixMilli()
		}), at.Add(30*time.Millisecond))
		delay := 30 * time.Millisecond
		if i == 2 {
			delay = 4 * time.Second // held in a reconnect buffer
		}
		b.Observe("right", beat(t, func(h *Heartbeat) { h.Ward = "right"; h.Seq = uint64(i + 1); h.Sent = at.UnixMilli() }), at.Add(delay))
	}
	if v, _ := b.Ward("ahead"); v.Health.State != ClockBad || v.CityOffset != 5*time.Second-30*time.Millisecond {
		t.Errorf("ahead: %+v %s", v.Health, v.CityOffset)
	}
	if v, _ := b.Ward("right"); v.Health.State != Idle {
		t.Errorf("right: %+v %s", v.Health, v.CityOffset)
	}
}

// After a restart of the city, a ward keeps its stored state until it
// speaks again or misses a full offline window: no flood of "offline".
func TestBoardRestore(t *testing.T) {
	b := NewBoard(Thresholds{}, 0)
	hb := healthy()
	hb.OnAir = &Playing{Kind: "program", ID: "p"}
	b.Restore("phuong-1", OnAir, t0.Add(-time.Hour), t0.Add(-time.Minute), hb, t0)
	b.SetWards([]WardInfo{{ID: "phuong-1"}}, t0)
	b.Sweep(t0.Add(50 * time.Second))
	if cs := b.TakeChanges(); len(cs) != 0 {
		t.Fatalf("changes right after the restart: %+v", cs)
	}
	v, _ := b.Ward("phuong-1")
	if v.Health.State != OnAir || !v.Since.Equal(t0.Add(-time.Hour)) || !v.LastSeen.Equal(t0.Add(-time.Minute)) {
		t.Fatalf("restored: %+v", v)
	}
	b.Sweep(t0.Add(53 * time.Second))
	if cs := b.TakeChanges(); len(cs) != 1 || cs[0].To != Offline {
		t.Fatalf("silent after the restart: %+v", cs)
	}
}
