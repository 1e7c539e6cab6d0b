package board

import (
	"strings"
	"testing"
	"time"
	"unsafe"

	"loa/fleet"
)

// What plays is shown by its title: a ward that can only name its item by
// its sha256 (cut to 48 bytes in the heartbeat) gets the library's title,
// never the hash; an item the library does not know is left out. A live
// announcement is live.
func TestNowPlayingTitles(t *testing.T) {
	s, _, clk, _ := newTest(t, "phuong-1", "phuong-2", "phuong-3")
	sha := strings.Repeat("ab", 32)
	unknown := strings.Repeat("cd", 32)
	asked := 0
	s.cfg.ItemTitle = func(k string) string {
		asked++
		if strings.HasPrefix(sha, k) {
			return "Bản tin sáng thứ Hai"
		}
		return ""
	}
	with := func(kind, item string) func(h *fleet.Heartbeat) {
		return func(h *fleet.Heartbeat) {
			h.OnAir = &fleet.Playing{Kind: kind, ID: "ban-tin", Title: "Bản tin", Item: item}
		}
	}
	s.Heartbeat("phuong-1", beat(t, "phuong-1", clk.Now(), 1, with(fleet.PlayingProgram, sha)))
	s.Heartbeat("phuong-2", beat(t, "phuong-2", clk.Now(), 1, with(fleet.PlayingProgram, unknown)))
	s.Heartbeat("phuong-3", beat(t, "phuong-3", clk.Now(), 1, with(fleet.PlayingLive, "")))
	for ward, want := range map[string]string{"phuong-1": "Bản tin sáng thứ Hai", "phuong-2": ""} {
		h := s.WardHealth(ward)
		if h.NowPlaying == nil || h.NowPlaying.Item != want || h.NowPlaying.Title != "Bản tin" {
			t.Errorf("%s: now playing %+v, want item %q", ward, h.NowPlaying, want)
		}
	}
	s.WardHealth("phuong-1")
	if asked != 2 {
		t.Errorf("the library was asked %d times, want 2 (titles are cached)", asked)
	}
	h := s.WardHealth("phuong-3")
	if h.State != string(fleet.OnAir) || h.NowPlaying == nil || h.NowPlaying.Kind != fleet.PlayingLive ||
		fleet.State(h.State).LabelFor(h.NowPlaying.Kind) != "Đang phát trực tiếp / live" {
		t.Errorf("live ward: %+v", h)
	}
	for _, b := range s.Heartbeats("phuong-1") {
		if b.NowPlaying == nil || b.NowPlaying.Item != "Bản tin sáng thứ Hai" {
			t.Errorf("history: %+v", b.NowPlaying)
		}
	}
}

// A heartbeat with 0 bytes free is a problem (disk!), never idle.
func TestDiskFullHeartbeat(t *testing.T) {
	s, _, clk, _ := newTest(t, "phuong-1")
	s.Heartbeat("phuong-1", beat(t, "phuong-1", clk.Now(), 1, func(h *fleet.Heartbeat) { h.DiskFree = 0 }))
	h := s.WardHealth("phuong-1")
	if h.State != string(fleet.DiskLow) || len(h.Problems) != 1 || h.StateVI != "Sắp đầy đĩa" {
		t.Errorf("disk_free 0: %+v", h)
	}
}

// The history keeps the last Config.History heartbeats, newest first,
// each with the state judged from it.
func TestHeartbeatHistory(t *testing.T) {
	s, _, clk, _ := newTest(t, "phuong-1")
	s.cfg.History = 5
	for i := 1; i <= 8; i++ {
		clk.Add(15 * time.Second)
		f := onAir
		if i == 8 {
			f = func(h *fleet.Heartbeat) { onAir(h); h.Silent = 12 }
		}
		if err := s.Heartbeat("phuong-1", beat(t, "phuong-1", clk.Now(), uint64(i), f)); err != nil {
			t.Fatal(err)
		}
	}
	// A replayed heartbeat is not history.
	s.Heartbeat("phuong-1", beat(t, "phuong-1", clk.Now(), 8, func(h *fleet.Heartbeat) { onAir(h); h.Silent = 12 }))
	hs := s.Heartbeats("phuong-1")
	if len(hs) != 5 || hs[0].Seq != 8 || hs[4].Seq != 4 || hs[0].State != string(fleet.Silent) || hs[1].State != string(fleet.OnAir) ||
		!hs[0].At.Equal(clk.Now()) || hs[0].SilentS != 12 || hs[0].NowPlaying == nil {
		t.Errorf("history: %+v", hs)
	}
	if n := unsafe.Sizeof(sample{}); n > 40 {
		t.Errorf("a history sample is %d bytes; history.go says 40", n)
	}
	if got := s.Heartbeats("phuong-9"); len(got) != 0 || got == nil {
		t.Errorf("unknown ward: %v", got)
	}
}

// A viewer is woken by heartbeats and state changes; changes coalesce
// into one pending signal, and a viewer that never reads does not block
// the intake. Stop forgets the viewer.
func TestWatchCoalescesAndNeverBlocks(t *testing.T) {
	s, _, clk, _ := newTest(t, "phuong-1")
	changed, stop := s.Watch()
	_, stuck := s.Watch() // never read
	defer stuck()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 1; i <= 1000; i++ {
			s.Heartbeat("phuong-1", beat(t, "phuong-1", clk.Now(), uint64(i), nil))
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("1,000 heartbeats not taken in 10 s with a viewer that does not read")
	}
	if len(changed) != 1 {
		t.Errorf("pending signals %d, want 1", len(changed))
	}
	<-changed
	clk.Add(time.Hour)
	s.Sweep(t.Context())
	select {
	case <-changed:
	default:
		t.Error("the ward going offline woke no viewer")
	}
	if s.Watchers() != 2 {
		t.Errorf("watchers %d", s.Watchers())
	}
	stop()
	stop()
	if s.Watchers() != 1 {
		t.Errorf("watchers after stop %d", s.Watchers())
	}
}
