package board

import (
	"sync"
	"time"

	"loa/city/api"
	"loa/fleet"
)

// DefaultHistory is how many recent heartbeats the board keeps per ward
// for its page: 60 at the default 15 s interval is the last 15 minutes.
// Each is a 40-byte sample (below), not the heartbeat itself, and what
// plays is shared between samples while it stays the same: 60 cost about
// 2.4 KB a ward (24 MB at 10,000 wards), by the struct's size, not a
// measurement.
const DefaultHistory = 60

// sample is one heartbeat as the ward page lists it.
type sample struct {
	at       int64 // unix ms, the city's clock
	diskFree int64
	onAir    *fleet.Playing // shared with the heartbeat (or the sample before), never changed
	seq      uint32
	level    float32
	silent   float32
	state    uint8 // index in fleet.States
}

func stateIndex(s fleet.State) uint8 {
	for i, x := range fleet.States {
		if x == s {
			return uint8(i)
		}
	}
	return uint8(len(fleet.States) - 1)
}

type ring struct {
	b []sample
	n int // beats written so far
}

type history struct {
	mu sync.Mutex
	m  map[string]*ring
}

func (s *Service) historySize() int {
	switch n := s.cfg.History; {
	case n < 0:
		return 0
	case n == 0:
		return DefaultHistory
	default:
		return n
	}
}

// remember keeps ward's latest heartbeat in its history.
func (s *Service) remember(ward string, recv time.Time) {
	size := s.historySize()
	if size == 0 {
		return
	}
	v, ok := s.Board().Ward(ward)
	if !ok || v.Beat == nil {
		return
	}
	hb := v.Beat
	b := sample{at: recv.UnixMilli(), seq: uint32(hb.Seq), level: float32(hb.LevelDBFS), silent: float32(hb.Silent),
		diskFree: hb.DiskFree, state: stateIndex(v.Health.State), onAir: hb.OnAir}
	h := &s.hist
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.m == nil {
		h.m = map[string]*ring{}
	}
	r := h.m[ward]
	if r == nil {
		r = &ring{b: make([]sample, size)}
		h.m[ward] = r
	}
	if r.n > 0 {
		// The same heartbeat again (a stale one the board did not take).
		last := r.b[(r.n-1)%len(r.b)]
		if last.seq == b.seq && last.state == b.state {
			return
		}
		if last.onAir != nil && b.onAir != nil && *last.onAir == *b.onAir {
			b.onAir = last.onAir // the heartbeat's own copy can go
		}
	}
	r.b[r.n%len(r.b)] = b
	r.n++
}

// Heartbeats are ward's recent heartbeats, newest first (at most
// Config.History), for its page and GET /api/v1/wards/{id}/heartbeats.
func (s *Service) Heartbeats(ward string) []api.WardBeat {
	h := &s.hist
	h.mu.Lock()
	defer h.mu.Unlock()
	r := h.m[ward]
	if r == nil {
		return []api.WardBeat{}
	}
	n := min(r.n, len(r.b))
	out := make([]api.WardBeat, 0, n)
	for i := range n {
		b := r.b[(r.n-1-i)%len(r.b)]
		wb := api.WardBeat{At: time.UnixMilli(b.at).UTC(), Seq: uint64(b.seq), State: string(fleet.States[b.state]), LevelDBFS: float64(b.level),
			SilentS: float64(b.silent), DiskFree: b.diskFree}
		if p := b.onAir; p != nil {
			wb.NowPlaying = &api.NowPlaying{Kind: p.Kind, ID: p.ID, Title: p.Title, Item: s.itemTitle(p.Item)}
		}
		out = append(out, wb)
	}
	return out
}
