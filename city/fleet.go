package city

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"loa/city/api"
	"loa/fleet"
	"loa/schedule"
	"loa/sqlite"
)

// FleetConfig is how the city judges its wards' health
// (docs/monitoring.md). Zero values mean the defaults.
type FleetConfig struct {
	// OfflineAfter: heartbeats missed before a ward is offline (3).
	OfflineAfter float64 `yaml:"offline_after"`
	// ClockMaxOffset: clock error tolerated (2s).
	ClockMaxOffset Duration `yaml:"clock_max_offset"`
	// SyncGrace: how long a ward may run an older manifest (10m).
	SyncGrace Duration `yaml:"sync_grace"`
	// LateAfter: a start later than this is late (2s); LateHold: how long
	// a late start shows (30m).
	LateAfter Duration `yaml:"late_after"`
	LateHold  Duration `yaml:"late_hold"`
	// Heartbeat: the interval assumed for a ward never heard from (15s).
	Heartbeat Duration `yaml:"heartbeat"`
	// HistoryDays: how long state changes are kept (90).
	HistoryDays int `yaml:"history_days"`
}

func (f FleetConfig) thresholds() fleet.Thresholds {
	return fleet.Thresholds{OfflineAfter: f.OfflineAfter, ClockMaxOffset: time.Duration(f.ClockMaxOffset),
		SyncGrace: time.Duration(f.SyncGrace), LateAfter: time.Duration(f.LateAfter), LateHold: time.Duration(f.LateHold)}
}

// fleetState is the city's fleet health, created on first use.
type fleetState struct {
	once     sync.Once
	board    *fleet.Board
	asrunIn  atomic.Uint64 // entries stored
	asrunDup atomic.Uint64 // entries already stored
	asrunBad atomic.Uint64 // unreadable messages
	flushMu  sync.Mutex
	ident    identityCounts // city/identity.go

	metricsOnce sync.Once
	metrics     http.Handler
}

// Board is the city's live view of its wards. On first use it is loaded
// with the states the database kept and the registered wards.
func (c *City) Board() *fleet.Board {
	f := &c.fleet
	f.once.Do(func() {
		f.board = fleet.NewBoard(c.Config.Fleet.thresholds(), time.Duration(c.Config.Fleet.Heartbeat))
		ctx := context.Background()
		rows, err := c.DB.Read().WardHealthRows(ctx)
		if err != nil {
			c.Log.Error("fleet: stored ward states not read", "err", err)
		}
		now := c.Now()
		for _, r := range rows {
			var hb *fleet.Heartbeat
			if len(r.Beat) > 0 {
				var h fleet.Heartbeat
				if json.Unmarshal(r.Beat, &h) == nil {
					hb = &h
				}
			}
			f.board.Restore(r.Ward, fleet.State(r.State), r.Since, r.LastSeen, hb, now)
		}
		if err := c.refreshWards(ctx); err != nil {
			c.Log.Error("fleet: ward registry not read", "err", err)
		}
	})
	return f.board
}

// refreshWards tells the board which wards exist and which manifest each
// should run.
func (c *City) refreshWards(ctx context.Context) error {
	ms, err := c.DB.Read().WardManifests(ctx)
	if err != nil {
		return err
	}
	ws := make([]fleet.WardInfo, len(ms))
	for i, m := range ms {
		ws[i] = fleet.WardInfo{ID: m.Ward, Manifest: m.Version, Issued: m.IssuedAt}
	}
	c.fleet.board.SetWards(ws, c.Now())
	return nil
}

// Fleet loop periods: the sweep finds wards gone offline and writes state
// changes; the registry is re-read for wards added by `loa-city ward add`
// and new manifests.
const (
	fleetSweepEvery    = time.Second
	fleetRegistryEvery = 10 * time.Second
)

// RunFleet keeps the wards' states current until ctx ends: it sweeps the
// board, writes state changes to the database in one transaction a
// second, re-reads the registry, and prunes old history.
func (c *City) RunFleet(ctx context.Context) {
	b := c.Board()
	sweep := time.NewTicker(fleetSweepEvery)
	defer sweep.Stop()
	var lastRegistry, lastPrune time.Time
	for {
		select {
		case <-ctx.Done():
			c.FlushFleet(context.WithoutCancel(ctx))
			return
		case <-sweep.C:
		}
		mono := time.Now()
		if mono.Sub(lastRegistry) >= fleetRegistryEvery {
			lastRegistry = mono
			if err := c.refreshWards(ctx); err != nil && ctx.Err() == nil {
				c.Log.Warn("fleet: ward registry not read", "err", err)
			}
		}
		b.Sweep(c.Now())
		if err := c.FlushFleet(ctx); err != nil && ctx.Err() == nil {
			c.Log.Warn("fleet: ward states not written", "err", err)
		}
		if mono.Sub(lastPrune) >= time.Hour {
			lastPrune = mono
			days := c.Config.Fleet.HistoryDays
			if days <= 0 {
				days = 90
			}
			if _, err := c.DB.PruneWardStateChanges(ctx, c.Now().AddDate(0, 0, -days)); err != nil && ctx.Err() == nil {
				c.Log.Warn("fleet: history not pruned", "err", err)
			}
		}
	}
}

// FlushFleet writes the board's pending state changes to the database and
// logs them.
func (c *City) FlushFleet(ctx context.Context) error {
	c.fleet.flushMu.Lock()
	defer c.fleet.flushMu.Unlock()
	b := c.Board()
	cs := b.TakeChanges()
	if len(cs) == 0 {
		return nil
	}
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
			lvl := c.Log.Info
			if ch.To.Problem() {
				lvl = c.Log.Warn
			}
			detail := ""
			if len(ch.Problems) > 0 {
				detail = ch.Problems[0].Detail
			}
			lvl("ward state changed", "ward", ch.Ward, "from", string(ch.From), "to", string(ch.To), "detail", detail)
		}
	}
	if err := c.DB.PutWardStates(ctx, rows, hist); err != nil {
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

// HeartbeatReceived takes a heartbeat that arrived on ward's subject.
func (c *City) HeartbeatReceived(ward string, data []byte) error {
	return c.Board().Observe(ward, data, c.Now())
}

// StoreAsRun stores as-run entries shipped by wards and returns how many
// were new.
func (c *City) StoreAsRun(ctx context.Context, es []fleet.AsRunEntry) (int, error) {
	now := c.Now()
	rows := make([]sqlite.CityAsRun, len(es))
	for i, e := range es {
		rows[i] = sqlite.CityAsRun{Ward: e.Ward, WardEntry: e.ID, Program: e.Program, Source: e.Source, Occurrence: msTime(e.Occurrence),
			Part: e.Part, Item: e.Item, Kind: e.Kind, Planned: msTime(e.Planned), Actual: msTime(e.Actual), End: msTime(e.End),
			Result: e.Result, Missed: time.Duration(e.MissedMS) * time.Millisecond, Note: e.Note, ReceivedAt: now}
	}
	n, err := c.DB.AddAsRun(ctx, rows)
	if err == nil {
		c.fleet.asrunIn.Add(uint64(n))
		c.fleet.asrunDup.Add(uint64(len(es) - n))
	}
	return n, err
}

func msTime(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v)
}

// wardHealth is the health of ward id for the API (nil: the board does
// not know it).
func (c *City) wardHealth(id string) *api.WardHealth {
	v, ok := c.Board().Refresh(id, c.Now())
	if !ok {
		return nil
	}
	h := healthJSON(v, c.Now())
	h.NATS = c.wardNATS(id)
	return h
}

func healthJSON(v fleet.View, now time.Time) *api.WardHealth {
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
		h.NowPlaying = &api.NowPlaying{Kind: p.Kind, ID: p.ID, Title: p.Title, Item: p.Item}
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
	if s := hb.LastStart; s != nil {
		h.LastStart = &api.WardStart{Program: s.Program, Planned: time.UnixMilli(s.Planned).UTC(), LateMS: s.LateMS}
	}
	n := hb.Counters
	h.Counters = &api.WardCounts{Starts: n.Starts, LateStarts: n.LateStarts, SilenceS: n.SilenceS, DeviceErrors: n.DeviceErrors, AlertsRejected: n.AlertsRejected}
	return h
}

// getAsRun is GET /api/v1/wards/{id}/asrun?date=YYYY-MM-DD: the ward's
// broadcast log for a day in the city's zone, as shipped by the ward.
func (c *City) getAsRun(w http.ResponseWriter, r *http.Request, p principal) {
	id := r.PathValue("id")
	if _, err := c.DB.Read().Ward(r.Context(), id); err != nil {
		c.fail(w, r, err)
		return
	}
	d := c.Today()
	if s := r.URL.Query().Get("date"); s != "" {
		var err error
		if d, err = schedule.ParseDate(s); err != nil {
			writeError(w, http.StatusBadRequest, "date %q: want YYYY-MM-DD", s)
			return
		}
	}
	from := d.Midnight(c.loc)
	to := d.AddDays(1).Midnight(c.loc)
	rows, err := c.DB.Read().AsRun(r.Context(), id, from, to)
	if err != nil {
		c.internalError(w, r, err)
		return
	}
	out := api.AsRunDay{Ward: id, Date: d.String(), Timezone: c.loc.String(), Entries: make([]api.AsRunRow, 0, len(rows))}
	for _, e := range rows {
		a := api.AsRunRow{Ward: e.Ward, Program: e.Program, Source: e.Source, Part: e.Part, Item: e.Item, Kind: e.Kind,
			Planned: e.Planned.UTC(), Result: e.Result, MissedS: e.Missed.Seconds(), Note: e.Note, Received: e.ReceivedAt.UTC()}
		if !e.Actual.IsZero() {
			t := e.Actual.UTC()
			a.Actual = &t
			a.LateMS = e.Actual.Sub(e.Planned).Milliseconds()
		}
		if !e.End.IsZero() {
			t := e.End.UTC()
			a.End = &t
		}
		out.Entries = append(out.Entries, a)
	}
	writeJSON(w, http.StatusOK, out)
}

// startFleet runs RunFleet until the returned stop is called (it waits
// for the last state changes to be written).
func (c *City) startFleet(ctx context.Context) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.RunFleet(ctx)
	}()
	return func() {
		cancel()
		<-done
	}
}
