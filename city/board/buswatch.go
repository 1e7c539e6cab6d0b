package board

import (
	"sync"
	"time"

	"loa/city/api"
)

// Budget is what one ward may send the city over NATS of one kind: a
// burst, then a steady rate (docs/nats.md, "Limits"). The NATS server has
// no per-user rate limit: the streams bound what a ward can make the store
// hold (natsbus.Streams), and the city bounds what it takes into its
// database and its board, here. A burst as large as a ward's share of its
// stream takes a backlog the stream kept for the ward (the city was down,
// the ward was offline) in one go; beyond it, a ward sending faster than
// the rate has the excess dropped, counted, and is shown as flooding.
type Budget struct {
	Burst     float64
	PerSecond float64
}

// Budgets are the wards' budgets by kind. The bursts of receipts and
// as-run lines are each ward's share of the REPORTS and ASRUN streams
// (natsbus.ReportsPerWard, natsbus.AsRunPerWard), passed in so that this
// package does not import the NATS client.
func Budgets(reportBurst, asRunBurst float64) map[string]Budget {
	return map[string]Budget{
		KindReport: {Burst: reportBurst, PerSecond: 2}, // a few receipts per alert
		KindAsRun:  {Burst: asRunBurst, PerSecond: 2},  // a line per item played
		// One every 15 s by default, every 200 ms at the fastest an agent
		// allows (fleet.heartbeat), and one at each change on air.
		KindHeartbeat: {Burst: 50, PerSecond: 10},
	}
}

// The kinds of message a ward sends the city over NATS, each with its own
// budget.
const (
	KindReport    = "report"
	KindAsRun     = "asrun"
	KindHeartbeat = "heartbeat"
)

// FloodHold is how long a ward that had messages dropped shows as
// flooding after the last one.
const FloodHold = 10 * time.Minute

// Kinds are the kinds of message a ward sends, in the order shown.
var Kinds = []string{KindReport, KindAsRun, KindHeartbeat}

// busWatch is what the city knows of each ward's use of NATS: the
// attempts the server refused (embedded server only), and the rate of
// what it sends, with what was dropped for going over it.
type busWatch struct {
	budgets map[string]Budget // nil: no limit

	mu    sync.Mutex
	wards map[string]*wardBus
}

// wardBus is one ward's record, by kind in arrays indexed by kindIndex
// (a map per kind and ward cost about 1 KB a ward; 10 MB at 10,000).
type wardBus struct {
	tokens     [nKinds]float64
	filled     [nKinds]int64 // unix ns of the last take; 0: never
	dropped    [nKinds]uint64
	denied     uint64
	lastDenied time.Time
	deniedWhat string // "publish loa.alert.all"
	floodSince time.Time
	lastDrop   time.Time
	loggedDrop [nKinds]int64 // unix ns
	loggedBad  [nKinds]int64
}

// nKinds is len(Kinds), plus one slot for a kind not in Kinds.
const nKinds = 4

func kindIndex(kind string) int {
	switch kind {
	case KindReport:
		return 0
	case KindAsRun:
		return 1
	case KindHeartbeat:
		return 2
	}
	return 3
}

// since is now - t for a unix-ns time t (0: never, a long time).
func since(now time.Time, t int64) time.Duration {
	if t == 0 {
		return 1<<63 - 1
	}
	return now.Sub(time.Unix(0, t))
}

// WardBus is a ward's use of NATS as the city saw it.
type WardBus struct {
	Denied     uint64
	LastDenied time.Time
	DeniedWhat string
	Dropped    map[string]uint64
	Flooding   bool
	FloodSince time.Time
	LastDrop   time.Time
}

func (b *busWatch) ward(id string) *wardBus {
	if b.wards == nil {
		b.wards = map[string]*wardBus{}
	}
	w := b.wards[id]
	if w == nil {
		w = &wardBus{}
		b.wards[id] = w
	}
	return w
}

// allow takes one message of kind from ward at now out of the ward's
// budget. False: over budget, drop it (counted). logIt is true for the
// first drop of a kind in a minute, for the caller to log.
func (b *busWatch) allow(ward, kind string, now time.Time) (ok, logIt bool) {
	bud, limited := b.budgets[kind]
	if !limited {
		return true, false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	w := b.ward(ward)
	k := kindIndex(kind)
	t, seen := w.tokens[k], w.filled[k] != 0
	if !seen {
		t = bud.Burst
	} else if dt := since(now, w.filled[k]).Seconds(); dt > 0 {
		t = min(bud.Burst, t+dt*bud.PerSecond)
	}
	w.filled[k] = now.UnixNano()
	if t >= 1 {
		w.tokens[k] = t - 1
		return true, false
	}
	w.tokens[k] = t
	w.dropped[k]++
	if w.floodSince.IsZero() || now.Sub(w.lastDrop) > FloodHold {
		w.floodSince = now
	}
	w.lastDrop = now
	if since(now, w.loggedDrop[k]) >= time.Minute {
		w.loggedDrop[k] = now.UnixNano()
		return false, true
	}
	return false, false
}

// logBad reports whether a refused (unreadable) message of kind from ward
// should be logged: at most once a minute per ward and kind, so that a
// flood of garbage is not a flood of log lines.
func (b *busWatch) logBad(ward, kind string, now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	w := b.ward(ward)
	k := kindIndex(kind)
	if since(now, w.loggedBad[k]) < time.Minute {
		return false
	}
	w.loggedBad[k] = now.UnixNano()
	return true
}

// denied counts an attempt the NATS server refused.
func (b *busWatch) denied(ward, kind, subject string, now time.Time) {
	if ward == "" {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	w := b.ward(ward)
	w.denied++
	w.lastDenied = now
	w.deniedWhat = kind + " " + subject
}

// get returns ward's record (zero: nothing seen).
func (b *busWatch) get(ward string, now time.Time) WardBus {
	b.mu.Lock()
	defer b.mu.Unlock()
	w := b.wards[ward]
	if w == nil {
		return WardBus{}
	}
	out := WardBus{Denied: w.denied, LastDenied: w.lastDenied, DeniedWhat: w.deniedWhat, Dropped: map[string]uint64{}, LastDrop: w.lastDrop}
	for _, k := range Kinds {
		if n := w.dropped[kindIndex(k)]; n > 0 {
			out.Dropped[k] = n
		}
	}
	if !w.lastDrop.IsZero() && now.Sub(w.lastDrop) <= FloodHold {
		out.Flooding, out.FloodSince = true, w.floodSince
	}
	return out
}

// Allow takes one message of kind from ward out of its budget; false:
// drop it. The first drop of a minute is logged.
func (s *Service) Allow(ward, kind string) bool {
	now := s.now()
	ok, logIt := s.bus.allow(ward, kind, now)
	if logIt {
		s.log.Warn("ward sends too much over NATS: messages dropped (logged at most once a minute)", "ward", ward, "kind", kind,
			"dropped_total", s.bus.get(ward, now).Dropped[kind], "budget_per_s", s.bus.budgets[kind].PerSecond)
	}
	return ok
}

// LogBad reports whether a refused (unreadable) message of kind from ward
// should be logged now: at most once a minute per ward and kind.
func (s *Service) LogBad(ward, kind string) bool {
	return s.bus.logBad(ward, kind, s.now())
}

// Denied counts an attempt of ward's NATS key that the server refused
// (kind: publish or subscribe, on subject). A key that is not a ward's
// (ward empty: an admin's, an unknown one) is not counted.
func (s *Service) Denied(ward, kind, subject string) {
	s.bus.denied(ward, kind, subject, s.now())
}

// Bus is ward's use of NATS as the city saw it (zero: nothing seen).
func (s *Service) Bus(ward string) WardBus {
	return s.bus.get(ward, s.now())
}

// WardNATS is the board's view of ward's NATS misuse for the API (nil:
// none).
func (s *Service) WardNATS(ward string) *api.WardNATS {
	wb := s.bus.get(ward, s.now())
	total := wb.Denied
	for _, n := range wb.Dropped {
		total += n
	}
	if total == 0 {
		return nil
	}
	out := &api.WardNATS{Denied: wb.Denied, LastDeniedWhat: wb.DeniedWhat, Dropped: map[string]uint64{}, Flooding: wb.Flooding}
	for _, k := range Kinds {
		out.Dropped[k] = wb.Dropped[k]
	}
	if !wb.LastDenied.IsZero() {
		t := wb.LastDenied.UTC()
		out.LastDenied = &t
	}
	if wb.Flooding {
		t := wb.FloodSince.UTC()
		out.FloodingSince = &t
	}
	return out
}
