package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"

	"loa/internal/diskspace"
	"loa/sqlite"
)

// StorageConfig guards the data folder's space (storage: in the
// configuration): a full SD card must not cost an alert its replay record,
// its receipts or its as-run rows.
type StorageConfig struct {
	// Reserve is preallocated in the data folder at start (reserve.bin)
	// and released the moment a database write fails for lack of space;
	// it is made again once the space is back. 0: no reserve.
	Reserve Bytes `yaml:"reserve"`
	// MinFree is the floor: with less free than this (the reserve
	// counted as free), media sync stops and /healthz reports the disk.
	MinFree Bytes `yaml:"min_free"`
}

func (s StorageConfig) validate() error {
	switch {
	case s.Reserve < 0:
		return fmt.Errorf("storage.reserve: %s: must not be negative", s.Reserve)
	case s.Reserve > 4*GB:
		return fmt.Errorf("storage.reserve: %s: at most 4GB", s.Reserve)
	case s.MinFree < 0:
		return fmt.Errorf("storage.min_free: %s: must not be negative", s.MinFree)
	}
	return nil
}

// Bytes is a size written like 32MB, 512kB, 1GB or 4096 in YAML (decimal
// units; KiB, MiB and GiB are binary).
type Bytes int64

// Decimal units, as disk makers count.
const (
	KB Bytes = 1000
	MB       = 1000 * KB
	GB       = 1000 * MB
)

var byteUnits = []struct {
	name string
	n    Bytes
}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"GB", GB}, {"MB", MB}, {"kB", KB}, {"KB", KB}, {"B", 1}}

// ParseBytes reads a size: a whole number and an optional unit.
func ParseBytes(s string) (Bytes, error) {
	t := strings.TrimSpace(s)
	mult := Bytes(1)
	for _, u := range byteUnits {
		if rest, ok := strings.CutSuffix(t, u.name); ok {
			t, mult = strings.TrimSpace(rest), u.n
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 || n > math.MaxInt64/int64(mult) || strings.HasPrefix(t, "+") {
		return 0, fmt.Errorf("%q is not a size (like 32MB, 512kB, 1GB)", s)
	}
	return Bytes(n) * mult, nil
}

func (b *Bytes) UnmarshalYAML(n *yaml.Node) error {
	v, err := ParseBytes(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %v", n.Line, err)
	}
	*b = v
	return nil
}

func (b Bytes) MarshalYAML() (any, error) { return b.String(), nil }

func (b Bytes) String() string {
	for _, u := range []struct {
		name string
		n    Bytes
	}{{"GB", GB}, {"MB", MB}, {"kB", KB}} {
		if b != 0 && b%u.n == 0 {
			return strconv.FormatInt(int64(b/u.n), 10) + u.name
		}
	}
	return strconv.FormatInt(int64(b), 10)
}

// reserveFile is the reserve's name in the data folder.
const reserveFile = "reserve.bin"

// diskGuard watches the data folder's space for the daemon: it holds the
// reserve, gives it to the database when a write fails for lack of space,
// makes it again when space is back, and says when media sync must wait.
type diskGuard struct {
	dir     string
	minFree int64
	reserve *diskspace.Reserve
	log     *slog.Logger

	mu       sync.Mutex
	low      bool // as last logged
	released time.Time
}

func newDiskGuard(dir string, c StorageConfig, log *slog.Logger) *diskGuard {
	return &diskGuard{dir: dir, minFree: int64(c.MinFree), log: log,
		reserve: &diskspace.Reserve{Path: filepath.Join(dir, reserveFile), Size: int64(c.Reserve)}}
}

// start makes the reserve (or finds it from the last run).
func (g *diskGuard) start() {
	if g.reserve.Size <= 0 {
		return
	}
	if _, err := g.reserve.Ensure(); err != nil {
		g.log.Warn("disk reserve not made: a full disk can cost alert records", "err", err)
	}
}

// onFull is the database's call when a write failed for lack of space: the
// reserve is given back so that the write can be done again.
func (g *diskGuard) onFull() bool {
	if !g.reserve.Release() {
		return false
	}
	g.mu.Lock()
	g.released = time.Now()
	g.mu.Unlock()
	g.log.Warn("disk full: the reserve is released so that the database can write", "reserve_bytes", g.reserve.Size)
	return true
}

// DiskState is the data folder's space, in the status.
type DiskState struct {
	Path string `json:"path"`
	// Free is what may still be written; Reserve what the reserve file
	// holds (released to the database when the disk fills).
	Free    int64 `json:"free_bytes"`
	Reserve int64 `json:"reserve_bytes"`
	MinFree int64 `json:"min_free_bytes"`
	// Low: Free + Reserve is under MinFree; media sync waits.
	Low   bool   `json:"low"`
	Error string `json:"error,omitempty"`
	// Unsaved counts alert records, receipts and as-run rows held in
	// memory until the database takes them.
	Unsaved int `json:"unsaved"`
}

func (g *diskGuard) state() DiskState {
	s := DiskState{Path: g.dir, MinFree: g.minFree, Reserve: g.reserve.Bytes()}
	free, err := diskspace.Free(g.dir)
	if err != nil {
		s.Error = err.Error()
		return s
	}
	s.Free = free
	s.Low = free+s.Reserve < g.minFree
	return s
}

// errDiskLow is why media sync waits.
var errDiskLow = errors.New("Sắp đầy đĩa / disk almost full")

// mediaSpace is asked by the city sync before each download: below the
// floor it waits, so that media never take the database's last space.
func (g *diskGuard) mediaSpace() error {
	s := g.state()
	if !s.Low {
		return nil
	}
	return fmt.Errorf("%w: %s free, media sync waits for %s (storage.min_free)", errDiskLow, mbText(s.Free+s.Reserve), mbText(g.minFree))
}

// maintain logs the floor crossed either way and makes the reserve again
// once there is room for it above the floor. It reports whether the space
// just came back above the floor.
func (g *diskGuard) maintain() (back bool) {
	s := g.state()
	if s.Error != "" {
		return false
	}
	g.mu.Lock()
	changed := s.Low != g.low
	g.low = s.Low
	g.mu.Unlock()
	if changed && s.Low {
		g.log.Warn("disk almost full: media sync stops until space is freed", "free", mbText(s.Free), "reserve", mbText(s.Reserve), "min_free", mbText(g.minFree))
	} else if changed {
		g.log.Info("disk space back above the floor: media sync resumes", "free", mbText(s.Free))
	}
	if g.reserve.Size > 0 && !g.reserve.Held() && s.Free >= g.minFree+g.reserve.Size {
		if _, err := g.reserve.Ensure(); err != nil {
			g.log.Warn("disk reserve not made again", "err", err)
		} else {
			g.log.Info("disk reserve made again", "reserve_bytes", g.reserve.Size)
		}
	}
	return changed && !s.Low
}

// isLow is the floor's state as last seen by maintain.
func (g *diskGuard) isLow() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.low
}

func mbText(n int64) string {
	return fmt.Sprintf("%.1f MB", float64(n)/1e6)
}

// diskProblem is the status's problem for a disk under the floor, or for
// state held in memory because the database could not take it.
func diskProblem(s DiskState) string {
	var parts []string
	if s.Low {
		parts = append(parts, fmt.Sprintf("Sắp đầy đĩa / disk almost full: %s free in %s (floor %s); media sync stopped",
			mbText(s.Free+s.Reserve), s.Path, mbText(s.MinFree)))
	}
	if s.Unsaved > 0 {
		parts = append(parts, fmt.Sprintf("Chưa lưu được / not stored yet: %d alert records, receipts or as-run rows held in memory, retried", s.Unsaved))
	}
	return strings.Join(parts, "; ")
}

// asrunHold keeps the as-run rows the database refused (a full disk), in
// order, until it takes them.
type asrunHold struct {
	mu   sync.Mutex
	rows []sqlite.AsRunEntry
}

func (h *asrunHold) len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.rows)
}

// putAsRun stores e, after any rows still held (the log keeps its order);
// what the database refuses is held for flushAsRun.
func (d *Daemon) putAsRun(e sqlite.AsRunEntry) error {
	d.asrunHeld.mu.Lock()
	d.asrunHeld.rows = append(d.asrunHeld.rows, e)
	d.asrunHeld.mu.Unlock()
	return d.flushAsRun()
}

// flushAsRun writes the held as-run rows, oldest first, until one fails.
func (d *Daemon) flushAsRun() error {
	h := &d.asrunHeld
	h.mu.Lock()
	defer h.mu.Unlock()
	for len(h.rows) > 0 {
		if _, err := d.st.DB.AddAsRun(context.Background(), h.rows[0]); err != nil {
			return err
		}
		h.rows = h.rows[1:]
	}
	h.rows = nil
	return nil
}

// diskReport adds the data folder's space to the status, and returns the
// problem (if any) that makes the station unhealthy.
func (d *Daemon) diskReport(r *StatusReport) string {
	if d.disk == nil {
		return ""
	}
	s := d.disk.state()
	s.Unsaved = d.asrunHeld.len()
	if d.alerts != nil {
		s.Unsaved += d.alerts.Unsaved()
	}
	r.Disk = &s
	return diskProblem(s)
}

// watchDisk makes the reserve (off the playout loop: on a slow SD card
// writing it takes seconds), then looks at the space every diskEvery.
func (d *Daemon) watchDisk(ctx context.Context) {
	d.disk.start()
	tick := time.NewTicker(diskEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if d.disk.maintain() && d.sync != nil {
			// Space is back: the media sync, waiting out its backoff,
			// goes now.
			d.sync.SyncNow()
		}
	}
}
