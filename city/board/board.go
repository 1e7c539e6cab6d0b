// Package board is the city's fleet board: what the city knows of its
// wards as they run. It owns the intake of heartbeats (judged by package
// loa/fleet into a state per ward, changes written down), the intake of
// the wards' as-run logs, the bus watch (what each ward sent over NATS,
// what was dropped for going over its budget or refused by the server),
// the wards' "last seen" (their last manifest request), the identity
// alarms raised on the board, and the Prometheus series built from all
// of it.
//
// Why a package of its own: the wards' picture is read by the JSON API,
// /metrics and (next) the web console, and fed by NATS and HTTP; keeping
// it behind one small Store interface and an injected clock lets it be
// tested without a server, a bus or a database, and keeps the transports
// (NATS subscriptions, HTTP handlers, in package city) thin. The package
// imports neither NATS nor net/http.
package board

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"loa/city/api"
	"loa/fleet"
	"loa/sqlite"
)

// Store is what the board keeps in the database (the city's is
// *sqlite.CityDB through a small adapter in package city).
type Store interface {
	// WardHealthRows are the wards' states written down before.
	WardHealthRows(ctx context.Context) ([]sqlite.WardHealthRow, error)
	// WardManifests lists every registered ward with its manifest.
	WardManifests(ctx context.Context) ([]sqlite.WardManifestInfo, error)
	// PutWardStates writes state changes in one transaction.
	PutWardStates(ctx context.Context, rows []sqlite.WardHealthRow, changes []sqlite.WardStateChange) error
	// PruneWardStateChanges forgets history older than cutoff.
	PruneWardStateChanges(ctx context.Context, cutoff time.Time) (int64, error)
	// AddAsRun stores as-run rows once (by ward and the ward's id) and
	// returns how many were new.
	AddAsRun(ctx context.Context, rows []sqlite.CityAsRun) (int, error)
	// AsRun lists ward's as-run rows planned in [from, to).
	AsRun(ctx context.Context, ward string, from, to time.Time) ([]sqlite.CityAsRun, error)
	// PutWardsSeen writes the wards' last requests in one transaction:
	// all or none.
	PutWardsSeen(ctx context.Context, seen map[string]Seen) error
}

// Config is how the board judges its wards (city config, fleet:).
type Config struct {
	Thresholds fleet.Thresholds
	// Heartbeat is the interval assumed for a ward never heard from.
	Heartbeat time.Duration
	// HistoryDays: how long state changes are kept (0: 90).
	HistoryDays int
	// Location is the city's zone: as-run days are its days.
	Location *time.Location
	// Budgets are what each ward may send over NATS, by kind (Budgets;
	// nil: no limit).
	Budgets map[string]Budget
	// ItemTitle is the library's title of the media item whose sha256
	// starts with prefix ("" unknown; nil: none), for wards that name what
	// plays by its hash (cut in their heartbeats).
	ItemTitle func(prefix string) string
	// History is how many recent heartbeats are kept per ward in memory
	// for its page (0: DefaultHistory; negative: none).
	History int
}

// Service is the city's fleet board.
type Service struct {
	store Store
	cfg   Config
	now   func() time.Time
	log   *slog.Logger

	once    sync.Once
	board   *fleet.Board
	flushMu sync.Mutex

	asrunIn  atomic.Uint64 // entries stored
	asrunDup atomic.Uint64 // entries already stored
	asrunBad atomic.Uint64 // unreadable messages

	badMu     sync.Mutex
	lastBadHB time.Time // the last refused heartbeat logged
	bus       busWatch
	seen      seenTracker
	ident     identityCounts
	titles    titles
	watch     watchers // watch.go
	hist      history  // history.go
}

// New returns the board over store; now is the clock (read at each use,
// so a test may change what it returns), log its logger (nil: none).
func New(store Store, cfg Config, now func() time.Time, log *slog.Logger) *Service {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	if cfg.Location == nil {
		cfg.Location = time.UTC
	}
	s := &Service{store: store, cfg: cfg, now: now, log: log}
	s.bus.budgets = cfg.Budgets
	return s
}

// Board is the live view of the wards. On first use it is loaded with the
// states the database kept and the registered wards.
func (s *Service) Board() *fleet.Board {
	s.once.Do(func() {
		s.board = fleet.NewBoard(s.cfg.Thresholds, s.cfg.Heartbeat)
		ctx := context.Background()
		rows, err := s.store.WardHealthRows(ctx)
		if err != nil {
			s.log.Error("fleet: stored ward states not read", "err", err)
		}
		now := s.now()
		for _, r := range rows {
			var hb *fleet.Heartbeat
			if len(r.Beat) > 0 {
				var h fleet.Heartbeat
				if json.Unmarshal(r.Beat, &h) == nil {
					hb = &h
				}
			}
			s.board.Restore(r.Ward, fleet.State(r.State), r.Since, r.LastSeen, hb, now)
		}
		if err := s.refreshWards(ctx); err != nil {
			s.log.Error("fleet: ward registry not read", "err", err)
		}
	})
	return s.board
}

// refreshWards tells the board which wards exist and which manifest each
// should run.
func (s *Service) refreshWards(ctx context.Context) error {
	ms, err := s.store.WardManifests(ctx)
	if err != nil {
		return err
	}
	ws := make([]fleet.WardInfo, len(ms))
	for i, m := range ms {
		ws[i] = fleet.WardInfo{ID: m.Ward, Manifest: m.Version, Issued: m.IssuedAt}
	}
	s.board.SetWards(ws, s.now())
	return nil
}

// RefreshWards re-reads the ward registry (wards added, new manifests).
func (s *Service) RefreshWards(ctx context.Context) error {
	s.Board()
	return s.refreshWards(ctx)
}

// Loop periods: the sweep finds wards gone offline and writes state
// changes; the registry is re-read for wards added by `loa-city ward add`
// and new manifests.
const (
	SweepEvery    = time.Second
	RegistryEvery = 10 * time.Second
	pruneEvery    = time.Hour
)

// Run keeps the wards' states current until ctx ends: it sweeps the
// board, writes state changes to the database in one transaction a
// second, re-reads the registry, and prunes old history. The periods are
// counted on the machine's monotonic clock, not Now: a wall clock that
// jumps does not stop the sweep.
func (s *Service) Run(ctx context.Context) {
	s.Board()
	sweep := time.NewTicker(SweepEvery)
	defer sweep.Stop()
	var lastRegistry, lastPrune time.Time
	for {
		select {
		case <-ctx.Done():
			s.Flush(context.WithoutCancel(ctx))
			return
		case <-sweep.C:
		}
		mono := time.Now()
		if mono.Sub(lastRegistry) >= RegistryEvery {
			lastRegistry = mono
			if err := s.refreshWards(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("fleet: ward registry not read", "err", err)
			}
		}
		if err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("fleet: ward states not written", "err", err)
		}
		if mono.Sub(lastPrune) >= pruneEvery {
			lastPrune = mono
			if err := s.Prune(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("fleet: history not pruned", "err", err)
			}
		}
	}
}

// Start runs Run until the returned stop is called (it waits for the
// last state changes to be written).
func (s *Service) Start(ctx context.Context) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Run(ctx)
	}()
	return func() {
		cancel()
		<-done
	}
}

// Sweep finds the wards whose heartbeats stopped (offline after
// Thresholds.OfflineAfter intervals) at Now and writes the state changes.
func (s *Service) Sweep(ctx context.Context) error {
	s.Board().Sweep(s.now())
	return s.Flush(ctx)
}

// Prune forgets state changes older than HistoryDays.
func (s *Service) Prune(ctx context.Context) error {
	days := s.cfg.HistoryDays
	if days <= 0 {
		days = 90
	}
	_, err := s.store.PruneWardStateChanges(ctx, s.now().AddDate(0, 0, -days))
	return err
}

// Flush writes the board's pending state changes to the database in one
// transaction and logs them; when the store fails they are kept for the
// next flush.
func (s *Service) Flush(ctx context.Context) error {
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	b := s.Board()
	cs := b.TakeChanges()
	if len(cs) == 0 {
		return nil
	}
	s.notify()
	latest := map[string]int{}
	var rows []sqlite.WardHealthRow
	hist := make([]sqlite.WardStateChange, 0, len(cs))
	for _, ch := range cs {
		probs, _ := json.Marshal(nonNilProblems(ch.Problems))
		hist = append(hist, sqlite.WardStateChange{Ward: ch.Ward, At: ch.At, From: string(ch.From), To: string(ch.To), Problems: string(probs)})
		var beat []byte
		if ch.Beat != nil {
			beat, _ = json.Marshal(ch.Beat)
		}
		row := sqlite.WardHealthRow{Ward: ch.Ward, State: string(ch.To), Since: ch.At, Problems: string(probs), LastSeen: ch.LastSeen, Beat: beat}
		if i, ok := latest[ch.Ward]; ok {
			rows[i] = row
		} else {
			latest[ch.Ward] = len(rows)
			rows = append(rows, row)
		}
		if ch.From != "" {
			lvl := s.log.Info
			if ch.To.Problem() {
				lvl = s.log.Warn
			}
			detail := ""
			if len(ch.Problems) > 0 {
				detail = ch.Problems[0].Detail
			}
			lvl("ward state changed", "ward", ch.Ward, "from", string(ch.From), "to", string(ch.To), "detail", detail)
		}
	}
	if err := s.store.PutWardStates(ctx, rows, hist); err != nil {
		b.Requeue(cs)
		return err
	}
	return nil
}

func nonNilProblems(ps []fleet.Problem) []fleet.Problem {
	if ps == nil {
		return []fleet.Problem{}
	}
	return ps
}

// Heartbeat takes a heartbeat that arrived on ward's subject into the
// board, which judges the ward's state from it (loa/fleet). It does not
// count against the ward's budget: TakeHeartbeat does.
func (s *Service) Heartbeat(ward string, data []byte) error {
	now := s.now()
	if err := s.Board().Observe(ward, data, now); err != nil {
		return err
	}
	s.remember(ward, now)
	s.notify()
	return nil
}

// TakeHeartbeat is the bus's heartbeat intake: one message of ward's out
// of its budget (dropped over it), then into the board. A refused
// heartbeat is logged, at most one a minute.
func (s *Service) TakeHeartbeat(ward, subject string, data []byte) {
	if !s.Allow(ward, KindHeartbeat) {
		return
	}
	err := s.Heartbeat(ward, data)
	if err == nil {
		return
	}
	now := s.now()
	s.badMu.Lock()
	logIt := s.lastBadHB.IsZero() || now.Sub(s.lastBadHB) > time.Minute
	if logIt {
		s.lastBadHB = now
	}
	s.badMu.Unlock()
	if logIt {
		s.log.Warn("fleet: heartbeat refused", "subject", subject, "err", err)
	}
}

// Ward is ward's view, refreshed at Now (false: the board does not know
// it).
func (s *Service) Ward(id string) (fleet.View, bool) {
	return s.Board().Refresh(id, s.now())
}

// WardHealth is the health of ward id for the API, its use of NATS
// included (nil: the board does not know it).
func (s *Service) WardHealth(id string) *api.WardHealth {
	now := s.now()
	v, ok := s.Board().Refresh(id, now)
	if !ok {
		return nil
	}
	h := s.healthJSON(v, now)
	h.NATS = s.WardNATS(id)
	return h
}

func (s *Service) healthJSON(v fleet.View, now time.Time) *api.WardHealth {
	h := &api.WardHealth{State: string(v.Health.State), StateVI: v.Health.State.Vietnamese(), Since: v.Since.UTC(),
		Problems: []api.WardProblem{}}
	for _, p := range v.Health.Problems {
		h.Problems = append(h.Problems, api.WardProblem{State: string(p.State), Detail: p.Detail})
	}
	if !v.LastSeen.IsZero() {
		t := v.LastSeen.UTC()
		h.LastHeartbeat = &t
		h.LastHeartbeatAge = now.Sub(v.LastSeen).Seconds()
	}
	h.Sync.CityVersion = v.Manifest
	if !v.Issued.IsZero() {
		h.Sync.CityIssued = v.Issued.UTC()
	}
	hb := v.Beat
	if hb == nil {
		return h
	}
	h.HeartbeatEvery, h.Version, h.UptimeS, h.SilentS = hb.Every, hb.Version, hb.Uptime, hb.Silent
	lvl := hb.LevelDBFS
	h.LevelDBFS = &lvl
	if p := hb.OnAir; p != nil {
		h.NowPlaying = &api.NowPlaying{Kind: p.Kind, ID: p.ID, Title: p.Title, Item: s.itemTitle(p.Item)}
	}
	h.Device = &api.WardDevice{OK: hb.Device.OK, Error: hb.Device.Error}
	h.Clock = &api.WardClock{Source: hb.Clock.Source, Trusted: hb.Clock.Trusted, OffsetMS: hb.Clock.OffsetMS, Detail: hb.Clock.Detail}
	if v.CityOffsetKnown {
		ms := v.CityOffset.Milliseconds()
		h.Clock.CityOffsetMS = &ms
	}
	if hb.Sync != nil {
		age := hb.Sync.AgeS
		h.Sync.AgeS = &age
		h.Sync.Version = hb.Sync.Manifest
	}
	h.DiskFree, h.CPUTempC = hb.DiskFree, hb.CPUTemp
	if st := hb.LastStart; st != nil {
		h.LastStart = &api.WardStart{Program: st.Program, Planned: time.UnixMilli(st.Planned).UTC(), LateMS: st.LateMS}
	}
	n := hb.Counters
	h.Counters = &api.WardCounts{Starts: n.Starts, LateStarts: n.LateStarts, SilenceS: n.SilenceS, DeviceErrors: n.DeviceErrors, AlertsRejected: n.AlertsRejected}
	return h
}
