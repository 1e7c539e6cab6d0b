package city

import (
	"context"
	"strings"
	"time"

	"loa/city/api"
	"loa/city/board"
	"loa/fleet"
	"loa/natsbus"
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
	// DiskMinFreeMB: a ward with less free space (in MB, 10^6 bytes) is
	// disk! (64); a ward reporting 0 bytes free always is.
	DiskMinFreeMB int64 `yaml:"disk_min_free_mb"`
	// MapTiles is the console map's tile URL template ({s}, {z}, {x},
	// {y}); "none" shows the wards' points on a blank map. Default
	// OpenStreetMap's; MapAttribution is shown with the tiles.
	MapTiles       string `yaml:"map_tiles"`
	MapAttribution string `yaml:"map_attribution"`
}

// DefaultMapTiles are OpenStreetMap's standard tiles (their usage policy
// asks heavy users to run their own tile server: set fleet.map_tiles).
const (
	DefaultMapTiles       = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
	DefaultMapAttribution = "© OpenStreetMap contributors"
)

// mapTiles is the console map's tiles: "" for none.
func (f FleetConfig) mapTiles() (string, string) {
	switch f.MapTiles {
	case "none":
		return "", ""
	case "":
		return DefaultMapTiles, DefaultMapAttribution
	}
	return f.MapTiles, f.MapAttribution
}

func (f FleetConfig) thresholds() fleet.Thresholds {
	return fleet.Thresholds{OfflineAfter: f.OfflineAfter, ClockMaxOffset: time.Duration(f.ClockMaxOffset),
		SyncGrace: time.Duration(f.SyncGrace), LateAfter: time.Duration(f.LateAfter), LateHold: time.Duration(f.LateHold),
		DiskMinFree: f.DiskMinFreeMB * 1_000_000}
}

// newBoard is the city's fleet board (city/board) over its database.
func (c *City) newBoard() *board.Service {
	f := c.Config.Fleet
	return board.New(boardStore{c.DB}, board.Config{Thresholds: f.thresholds(), Heartbeat: time.Duration(f.Heartbeat),
		HistoryDays: f.HistoryDays, Location: c.loc, Budgets: board.Budgets(natsbus.ReportsPerWard, natsbus.AsRunPerWard),
		ItemTitle: c.mediaTitle},
		func() time.Time { return c.Now() }, c.Log)
}

// mediaTitle is the library's title of the item whose sha256 starts with
// prefix ("" none): how the board names an item a ward could only name by
// its hash. The board caches it.
func (c *City) mediaTitle(prefix string) string {
	all, err := c.Library.List(context.Background())
	if err != nil {
		return ""
	}
	for _, m := range all {
		if strings.HasPrefix(m.SHA256, prefix) {
			switch {
			case m.Title != "":
				return m.Title
			case len(m.Names) > 0:
				return m.Names[0]
			}
			return m.OriginalName
		}
	}
	return ""
}

// boardStore is the board's Store over the city's database.
type boardStore struct{ db *sqlite.CityDB }

func (s boardStore) WardHealthRows(ctx context.Context) ([]sqlite.WardHealthRow, error) {
	return s.db.Read().WardHealthRows(ctx)
}

func (s boardStore) WardManifests(ctx context.Context) ([]sqlite.WardManifestInfo, error) {
	return s.db.Read().WardManifests(ctx)
}

func (s boardStore) PutWardStates(ctx context.Context, rows []sqlite.WardHealthRow, changes []sqlite.WardStateChange) error {
	return s.db.PutWardStates(ctx, rows, changes)
}

func (s boardStore) PruneWardStateChanges(ctx context.Context, cutoff time.Time) (int64, error) {
	return s.db.PruneWardStateChanges(ctx, cutoff)
}

func (s boardStore) AddAsRun(ctx context.Context, rows []sqlite.CityAsRun) (int, error) {
	return s.db.AddAsRun(ctx, rows)
}

func (s boardStore) AsRun(ctx context.Context, ward string, from, to time.Time) ([]sqlite.CityAsRun, error) {
	return s.db.Read().AsRun(ctx, ward, from, to)
}

func (s boardStore) PutWardsSeen(ctx context.Context, seen map[string]board.Seen) error {
	return s.db.Update(ctx, func(tx sqlite.CityTx) error {
		for ward, e := range seen {
			if err := tx.WardSeen(ctx, ward, e.At, e.Version); err != nil {
				return err
			}
		}
		return nil
	})
}

// Board is the city's live view of its wards (city/board). On first use
// it is loaded with the states the database kept and the registered wards.
func (c *City) Board() *fleet.Board { return c.board.Board() }

// RunFleet keeps the wards' states current until ctx ends (board.Run).
func (c *City) RunFleet(ctx context.Context) { c.board.Run(ctx) }

// FlushFleet writes the board's pending state changes to the database.
func (c *City) FlushFleet(ctx context.Context) error { return c.board.Flush(ctx) }

// HeartbeatReceived takes a heartbeat that arrived on ward's subject.
func (c *City) HeartbeatReceived(ward string, data []byte) error {
	return c.board.Heartbeat(ward, data)
}

// StoreAsRun stores as-run entries shipped by wards and returns how many
// were new.
func (c *City) StoreAsRun(ctx context.Context, es []fleet.AsRunEntry) (int, error) {
	return c.board.StoreAsRun(ctx, es)
}

// FlushSeen writes the wards' last requests to the database.
func (c *City) FlushSeen(ctx context.Context) error { return c.board.FlushSeen(ctx) }

// seenFlushInterval is how often Serve calls FlushSeen.
const seenFlushInterval = board.SeenFlushInterval

// startFleet runs RunFleet until the returned stop is called (it waits
// for the last state changes to be written).
func (c *City) startFleet(ctx context.Context) (stop func()) { return c.board.Start(ctx) }

// wardHealth is the health of ward id for the API (nil: the board does
// not know it).
func (c *City) wardHealth(id string) *api.WardHealth { return c.board.WardHealth(id) }

// The kinds of message a ward sends over NATS, each with its budget
// (board.Budgets).
const (
	kindReport    = board.KindReport
	kindAsRun     = board.KindAsRun
	kindHeartbeat = board.KindHeartbeat
)

// allowFromWard takes one message of kind from ward out of its budget;
// false: drop it. The first drop of a minute is logged.
func (c *City) allowFromWard(ward, kind string) bool { return c.board.Allow(ward, kind) }
