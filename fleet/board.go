package fleet

import (
	"slices"
	"sync"
	"time"
)

// Board is the city's live view of its wards: the latest heartbeat of each
// (kept in memory only), their evaluated states, and the state changes not
// yet written down. A city of 10,000 wards sends it 667 heartbeats a
// second; each costs a JSON decode and a map update under one lock.
type Board struct {
	th           Thresholds
	defaultEvery time.Duration

	mu      sync.RWMutex
	wards   map[string]*wardEntry
	pending []Change
	stats   Stats
}

type wardEntry struct {
	hb         *Heartbeat // never changed once stored: readers may keep it
	received   time.Time  // for the offline window (the restart, for a restored one)
	lastSeen   time.Time  // when the latest heartbeat really arrived
	offs       [4]int64   // recent receive − send times, ms
	noffs      int
	manifest   int64
	issued     time.Time
	registered bool
	health     Health
	since      time.Time
	evaluated  bool
	id         identity // fleet/identity.go
}

// Change is a ward's move from one state to another: what the city writes
// to its database (never every heartbeat).
type Change struct {
	Ward     string
	At       time.Time
	From, To State
	Problems []Problem
	LastSeen time.Time  // zero: never
	Beat     *Heartbeat // the latest heartbeat (nil: none)
}

// Stats count what reached the board.
type Stats struct {
	Heartbeats uint64 // accepted
	Bytes      uint64 // of accepted heartbeats
	Rejected   uint64 // unreadable or from the wrong ward
	Stale      uint64 // older than one already seen (reordered, replayed)
}

// WardInfo is what the registry says of a ward.
type WardInfo struct {
	ID       string
	Manifest int64     // version the city serves it (0: none)
	Issued   time.Time // when that version was issued
}

// View is a ward as the board sees it.
type View struct {
	ID              string
	Health          Health
	Since           time.Time // in this state since
	LastSeen        time.Time // zero: never
	Beat            *Heartbeat
	CityOffset      time.Duration
	CityOffsetKnown bool
	Manifest        int64
	Issued          time.Time
	Registered      bool
}

// NewBoard returns an empty board. defaultEvery is the heartbeat interval
// assumed for wards never heard from.
func NewBoard(th Thresholds, defaultEvery time.Duration) *Board {
	if defaultEvery <= 0 {
		defaultEvery = 15 * time.Second
	}
	return &Board{th: th.WithDefaults(), defaultEvery: defaultEvery, wards: map[string]*wardEntry{}}
}

// Thresholds are the board's thresholds, defaults filled.
func (b *Board) Thresholds() Thresholds { return b.th }

func (b *Board) entry(ward string) *wardEntry {
	e := b.wards[ward]
	if e == nil {
		e = &wardEntry{}
		b.wards[ward] = e
	}
	return e
}

// Restore puts back what the database kept of a ward when the city starts:
// its state, since when, and its latest heartbeat. The ward then has a
// full offline window from now to speak again before it is offline.
func (b *Board) Restore(ward string, state State, since, lastSeen time.Time, hb *Heartbeat, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	e := b.entry(ward)
	e.hb, e.lastSeen, e.since = hb, lastSeen, since
	e.health = Health{State: state}
	e.evaluated = true
	if hb != nil {
		e.received = now
	}
}

// SetWards sets the registered wards and the manifest each should run.
// Wards not listed are kept (their heartbeats still count) but not
// registered.
func (b *Board) SetWards(ws []WardInfo, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, e := range b.wards {
		e.registered = false
	}
	for _, w := range ws {
		e := b.entry(w.ID)
		e.registered = true
		e.manifest, e.issued = w.Manifest, w.Issued
	}
	for id, e := range b.wards {
		b.evaluate(id, e, now)
	}
}

// Observe takes a heartbeat received at recv on ward's subject.
func (b *Board) Observe(ward string, data []byte, recv time.Time) error {
	hb, err := DecodeHeartbeat(data, ward)
	b.mu.Lock()
	defer b.mu.Unlock()
	if err != nil {
		b.stats.Rejected++
		return err
	}
	e := b.entry(ward)
	b.noteBeat(e, &hb, recv)
	if old := e.hb; old != nil {
		if hb.Seq <= old.Seq && hb.Uptime >= old.Uptime {
			b.stats.Stale++
			return nil
		}
		if hb.Uptime < old.Uptime || hb.Clock.Source != old.Clock.Source || hb.Clock.Trusted != old.Clock.Trusted {
			e.noffs = 0 // a new process or a corrected clock: old samples lie
		}
	}
	b.stats.Heartbeats++
	b.stats.Bytes += uint64(len(data))
	e.offs[e.noffs%len(e.offs)] = recv.UnixMilli() - hb.Sent
	e.noffs++
	e.hb = &hb
	e.received, e.lastSeen = recv, recv
	b.evaluate(ward, e, recv)
	return nil
}

// cityOffset is the ward clock's error by the city's reckoning. Network
// delay only makes a heartbeat look older, so the sample with the least
// receive − send time is the best: its delay is the smallest.
func (e *wardEntry) cityOffset() (time.Duration, bool) {
	n := min(e.noffs, len(e.offs))
	if n == 0 {
		return 0, false
	}
	best := e.offs[0]
	for _, v := range e.offs[1:n] {
		best = min(best, v)
	}
	return -time.Duration(best) * time.Millisecond, true
}

func (b *Board) evaluate(ward string, e *wardEntry, now time.Time) {
	b.checkReceipts(e, now)
	off, known := e.cityOffset()
	h := Evaluate(now, Observation{Heartbeat: e.hb, Received: e.received, CityOffset: off, CityOffsetKnown: known,
		Manifest: e.manifest, Issued: e.issued, DefaultEvery: b.defaultEvery, Alarms: e.activeAlarms(now)}, b.th)
	prev := e.health.State
	e.health = h
	if e.evaluated && prev == h.State {
		return
	}
	e.evaluated = true
	e.since = now
	b.pending = append(b.pending, Change{Ward: ward, At: now, From: prev, To: h.State, Problems: h.Problems,
		LastSeen: e.lastSeen, Beat: e.hb})
}

// Sweep re-evaluates every ward at now: wards go offline, and time-bound
// states (out of sync after its grace, late for its hold) change, without
// a heartbeat.
func (b *Board) Sweep(now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for id, e := range b.wards {
		b.evaluate(id, e, now)
	}
}

// TakeChanges returns the state changes since the last call, oldest first.
func (b *Board) TakeChanges() []Change {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := b.pending
	b.pending = nil
	return out
}

// Requeue puts back changes that could not be written, before newer ones.
func (b *Board) Requeue(cs []Change) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.pending = append(slices.Clone(cs), b.pending...)
}

// Stats returns the counts so far.
func (b *Board) Stats() Stats {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.stats
}

func (e *wardEntry) view(id string) View {
	off, known := e.cityOffset()
	return View{ID: id, Health: e.health, Since: e.since, LastSeen: e.lastSeen, Beat: e.hb, CityOffset: off, CityOffsetKnown: known,
		Manifest: e.manifest, Issued: e.issued, Registered: e.registered}
}

// Ward returns the view of one ward.
func (b *Board) Ward(id string) (View, bool) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	e := b.wards[id]
	if e == nil {
		return View{}, false
	}
	return e.view(id), true
}

// Each calls fn for every ward, in no order, under the board's read lock:
// fn must be quick and must not call the board.
func (b *Board) Each(fn func(View)) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	for id, e := range b.wards {
		fn(e.view(id))
	}
}

// Refresh re-evaluates one ward at now and returns its view.
func (b *Board) Refresh(id string, now time.Time) (View, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	e := b.wards[id]
	if e == nil {
		return View{}, false
	}
	b.evaluate(id, e, now)
	return e.view(id), true
}
