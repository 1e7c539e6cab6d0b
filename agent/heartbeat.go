package agent

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"golang.org/x/sync/errgroup"
	"golang.org/x/sys/unix"

	"loa/fleet"
)

// FleetTransport carries a ward's reports to the city: heartbeats (fire
// and forget) and as-run entries (stored by the city's stream before they
// count as shipped). The NATS one is NewNATSFleetTransport.
type FleetTransport interface {
	PublishHeartbeat(data []byte) error
	// PublishAsRun sends the entries and reports, for each, nil once the
	// city's stream has stored it.
	PublishAsRun(ctx context.Context, msgs []AsRunMessage) []error
	// State is the connection as the status page shows it.
	State() TransportState
}

// AsRunMessage is an as-run entry ready to ship.
type AsRunMessage struct {
	ID   string // deduplication id (fleet.AsRunEntry.MsgID)
	Data []byte
}

// TransportState is the connection to the city's message bus.
type TransportState struct {
	Kind      string `json:"kind"` // nats
	Connected bool   `json:"connected"`
	URL       string `json:"url,omitempty"`
	Detail    string `json:"detail,omitempty"`
}

// FleetConfig is the agent's reporting to the city.
type FleetConfig struct {
	// Heartbeat is the interval between regular heartbeats (default 15s).
	Heartbeat Duration `yaml:"heartbeat"`
	// Thermal is the sysfs folder of thermal zones (default
	// /sys/class/thermal); a board without one reports no temperature.
	Thermal string `yaml:"thermal"`
}

func (c FleetConfig) every() time.Duration {
	if c.Heartbeat.D() <= 0 {
		return 15 * time.Second
	}
	return max(c.Heartbeat.D(), 200*time.Millisecond)
}

// FleetStatus is the reporting's part of the status.
type FleetStatus struct {
	Transport      TransportState `json:"transport"`
	HeartbeatEvery float64        `json:"heartbeat_every_s"`
	HeartbeatsSent uint64         `json:"heartbeats_sent"`
	LastHeartbeat  *time.Time     `json:"last_heartbeat,omitempty"`
	HeartbeatBytes int            `json:"heartbeat_bytes"`
	LastError      string         `json:"last_error,omitempty"`
	AsRunUnshipped int            `json:"asrun_unshipped"`
	LastShipped    *time.Time     `json:"asrun_last_shipped,omitempty"`
	ShipError      string         `json:"asrun_error,omitempty"`
}

// reporter samples the daemon, sends heartbeats and ships the as-run log.
type reporter struct {
	d     *Daemon
	tr    FleetTransport
	every time.Duration
	buf   []byte

	mu        sync.Mutex
	seq       uint64
	sent      uint64
	lastSent  time.Time // monotonic
	lastWall  time.Time
	lastBytes int
	lastErr   string
	unshipped int
	shippedAt time.Time
	shipErr   string

	// Program starts, seen on the player's status.
	occKey     string
	prevSample time.Time
	lastStart  *fleet.Start
	starts     int64
	lateStarts int64
}

// startFleet starts the reporting to the city when the daemon has a
// transport.
func (d *Daemon) startFleet(ctx context.Context, g *errgroup.Group) {
	if d.FleetTransport == nil {
		return
	}
	r := &reporter{d: d, tr: d.FleetTransport, every: d.Cfg.Fleet.every()}
	d.mu.Lock()
	d.fleet = r
	d.mu.Unlock()
	g.Go(func() error { r.beat(ctx); return nil })
	g.Go(func() error { r.ship(ctx); return nil })
}

// fleetStatus is the reporting's status (nil without a transport).
func (d *Daemon) fleetStatus() *FleetStatus {
	d.mu.Lock()
	r := d.fleet
	d.mu.Unlock()
	if r == nil {
		return nil
	}
	st := FleetStatus{Transport: r.tr.State(), HeartbeatEvery: r.every.Seconds()}
	r.mu.Lock()
	defer r.mu.Unlock()
	st.HeartbeatsSent, st.HeartbeatBytes, st.LastError = r.sent, r.lastBytes, r.lastErr
	st.AsRunUnshipped, st.ShipError = r.unshipped, r.shipErr
	if !r.lastWall.IsZero() {
		t := r.lastWall
		st.LastHeartbeat = &t
	}
	if !r.shippedAt.IsZero() {
		t := r.shippedAt
		st.LastShipped = &t
	}
	return &st
}

// sampleEvery is how often the reporter looks at the player: a change
// (a program starts, silence begins, the device fails) is reported at
// once, not at the next regular heartbeat.
const sampleEvery = 250 * time.Millisecond

// minGap bounds the heartbeats sent on changes to one a second.
const minGap = time.Second

func (r *reporter) beat(ctx context.Context) {
	tick := time.NewTicker(sampleEvery)
	defer tick.Stop()
	var sig string
	for {
		now := r.d.wall()
		mono := time.Now()
		s := r.sample(now)
		r.mu.Lock()
		due := r.lastSent.IsZero() || mono.Sub(r.lastSent) >= r.every
		changed := s != sig && mono.Sub(r.lastSent) >= minGap
		r.mu.Unlock()
		if due || changed {
			sig = s
			r.send(now, mono)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// sample notes program starts and returns a signature of what a heartbeat
// reports on change.
func (r *reporter) sample(now time.Time) string {
	d := r.d
	ps := d.pl.Status()
	d.mu.Lock()
	devOK, silent, trusted := d.deviceErr == nil, d.silentRun > 0, d.clock.Trusted
	d.mu.Unlock()
	r.mu.Lock()
	defer r.mu.Unlock()
	var sig strings.Builder
	if p := ps.Program; p != nil {
		key := p.ID + "@" + strconv.FormatInt(p.Start.UnixMilli(), 10)
		if key != r.occKey && p.Joined {
			// The station came to it after its start (a restart, a program
			// that arrived late, a clock trusted late): joined where the
			// clock says, not a late start of a running station.
			r.occKey = key
		}
		if key != r.occKey {
			// First seen on air between the previous sample and now: it
			// began at most this long after its planned start.
			began := now
			if !r.prevSample.IsZero() && now.Sub(r.prevSample) < 2*sampleEvery {
				began = r.prevSample.Add(now.Sub(r.prevSample) / 2)
			}
			late := max(began.Sub(p.Start), 0)
			if p.Offset < late {
				late = p.Offset
			}
			r.occKey = key
			r.starts++
			if late > 2*time.Second {
				r.lateStarts++
			} else {
				late = 0 // within the sampling's precision: on time
			}
			r.lastStart = &fleet.Start{Program: p.ID, Planned: p.Start.UnixMilli(), LateMS: late.Milliseconds()}
		}
		sig.WriteString(key + "/" + p.Item + strconv.Itoa(p.Part))
	}
	if ps.Alert != nil {
		sig.WriteString("!" + ps.Alert.ID)
	}
	if ps.Live != nil {
		sig.WriteString("~" + ps.Live.ID)
	}
	sig.WriteString(strconv.FormatBool(devOK) + strconv.FormatBool(silent) + strconv.FormatBool(trusted))
	if d.disk != nil && d.disk.isLow() {
		sig.WriteString("disk")
	}
	r.prevSample = now
	return sig.String()
}

func (r *reporter) send(now, mono time.Time) {
	hb := r.heartbeat(now)
	r.mu.Lock()
	r.seq++
	hb.Seq = r.seq
	r.mu.Unlock()
	var err error
	r.buf, err = hb.Encode(r.buf[:0])
	if err == nil {
		err = r.tr.PublishHeartbeat(r.buf)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lastSent = mono
	if err != nil {
		if r.lastErr == "" {
			r.d.Log.Warn("heartbeat not sent", "err", err)
		}
		r.lastErr = err.Error()
		return
	}
	r.lastErr = ""
	r.sent++
	r.lastWall, r.lastBytes = now, len(r.buf)
}

// heartbeat builds a heartbeat from the daemon's state.
func (r *reporter) heartbeat(now time.Time) fleet.Heartbeat {
	d := r.d
	ps := d.pl.Status()
	d.mu.Lock()
	clock, devErr, silent := d.clock, d.deviceErr, d.silentRun
	d.mu.Unlock()
	hb := fleet.Heartbeat{
		Ward: d.Cfg.Ward, Sent: now.UnixMilli(), Every: r.every.Seconds(), Version: Version,
		Uptime: int64(time.Since(d.started).Seconds()), Scheduled: ps.Scheduled, Silent: math.Round(silent.Seconds()*10) / 10,
		Clock:  fleet.Clock{Source: clock.Source, Trusted: clock.Trusted, OffsetMS: clockOffsetMS(clock), Detail: clockDetail(clock)},
		Device: fleet.Device{OK: devErr == nil},
	}
	if devErr != nil {
		hb.Device.Error = devErr.Error()
	}
	// What the listeners hear: an alert over a live announcement over the
	// program (DESIGN.md §3). A live announcement is reported as live, not
	// as the program it ducks (nor as idle when nothing is scheduled).
	switch {
	case ps.Alert != nil:
		hb.OnAir = &fleet.Playing{Kind: fleet.PlayingAlert, ID: ps.Alert.ID, Title: ps.Alert.Title}
	case ps.Live != nil:
		hb.OnAir = &fleet.Playing{Kind: fleet.PlayingLive, ID: ps.Live.ID, Title: ps.Live.Title}
	case ps.Program != nil:
		hb.OnAir = &fleet.Playing{Kind: fleet.PlayingProgram, ID: ps.Program.ID, Title: ps.Program.Title, Item: d.itemName(ps.Program.Item)}
	}
	peak := d.eng.PeakDBFS()
	if math.IsInf(peak, -1) || peak < -150 {
		peak = -150
	}
	hb.LevelDBFS = math.Round(peak*10) / 10
	if d.sync != nil {
		ss := d.sync.Status()
		hb.Sync = &fleet.Sync{AgeS: -1, Manifest: ss.Version}
		if !ss.LastSuccess.IsZero() {
			hb.Sync.AgeS = int64(now.Sub(ss.LastSuccess).Seconds())
		}
	}
	if d.disk != nil {
		ds := d.disk.state()
		hb.DiskFree, hb.DiskLow = ds.Free, ds.Low
	} else {
		var fs syscall.Statfs_t
		if syscall.Statfs(d.Cfg.Data, &fs) == nil {
			hb.DiskFree = int64(fs.Bavail) * int64(fs.Bsize)
		}
	}
	hb.CPUTemp = cpuTemperature(d.Cfg.Fleet.Thermal)
	r.mu.Lock()
	if r.lastStart != nil {
		s := *r.lastStart
		hb.LastStart = &s
	}
	hb.Counters.Starts, hb.Counters.LateStarts = r.starts, r.lateStarts
	r.mu.Unlock()
	hb.Counters.SilenceS = math.Round(counterValue(d.m.silenceSeconds)*10) / 10
	hb.Counters.DeviceErrors = int64(counterValue(d.m.deviceErrors))
	hb.Counters.AlertsRejected = int64(counterValue(d.m.alertsRejected))
	return hb
}

// itemName is the name operators know a media item by (city programs name
// media by sha256; the manifest gives each its name in the city's
// library). An item without a known name is "", never its raw sha256:
// screens then show the program's title alone.
func (d *Daemon) itemName(item string) string {
	if item == "" {
		return ""
	}
	base := filepath.Base(item)
	sha := strings.TrimSuffix(base, filepath.Ext(base))
	if !fleet.IsSHA256(sha) {
		return base
	}
	if m, err := d.st.DB.Media(context.Background(), sha); err == nil && m.Name != "" {
		return m.Name
	}
	return ""
}

// clockOffsetMS is the clock's own estimate of its error: the kernel's
// NTP offset (adjtimex), or 0 when nothing measures it.
// clockDetail is what the city is told about the clock (48 bytes at
// most): the problem standing first (a refused city time, a step held
// back), else its detail.
func clockDetail(c ClockState) string {
	switch c.ProblemKind {
	case "":
		return c.Detail
	case "step":
		return "Lệch giờ: city clock step held back"
	}
	return "Lệch giờ: city time refused (" + c.ProblemKind + ")"
}

func clockOffsetMS(c ClockState) int64 {
	if c.Source != "ntp" {
		return 0
	}
	var tx unix.Timex
	if _, err := unix.Adjtimex(&tx); err != nil {
		return 0
	}
	const staNano = 0x2000
	if tx.Status&staNano != 0 {
		return int64(tx.Offset) / 1e6 // int32 on 32-bit ARM
	}
	return int64(tx.Offset) / 1e3
}

// cpuTemperature reads the CPU's thermal zone in °C (0: none). Raspberry
// Pi OS has one, cpu-thermal; a PC may have several: the hottest counts.
func cpuTemperature(root string) float64 {
	if root == "" {
		root = "/sys/class/thermal"
	}
	zones, _ := filepath.Glob(filepath.Join(root, "thermal_zone*"))
	best := 0.0
	for _, z := range zones {
		b, err := os.ReadFile(filepath.Join(z, "temp"))
		if err != nil {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(string(b)), 64)
		if err != nil || v <= 0 {
			continue
		}
		best = max(best, math.Round(v/100)/10) // millidegrees
	}
	return best
}

// counterValue sums what a collector (counter or counter vector) holds.
func counterValue(c prometheus.Collector) float64 {
	ch := make(chan prometheus.Metric, 64)
	go func() { c.Collect(ch); close(ch) }()
	sum := 0.0
	for m := range ch {
		var pb dto.Metric
		if m.Write(&pb) == nil && pb.Counter != nil {
			sum += pb.Counter.GetValue()
		}
	}
	return sum
}

// printLink adds the city sync and the link to the city to `loa-agent
// status`.
func printLink(w io.Writer, r StatusReport) {
	if s := r.Sync; s != nil {
		state := "chưa / never"
		if s.LastSuccess != "" {
			state = fmt.Sprintf("%s trước / ago", (time.Duration(s.AgeSeconds) * time.Second).String())
		}
		fmt.Fprintf(w, "  đồng bộ / sync: v%d, %s", s.Version, state)
		if s.LastError != "" {
			fmt.Fprintf(w, " (lỗi / error: %s)", s.LastError)
		}
		fmt.Fprintln(w)
	}
	if f := r.Fleet; f != nil {
		link := "MẤT KẾT NỐI / DISCONNECTED"
		if f.Transport.Connected {
			link = "đã kết nối / connected " + f.Transport.URL
		}
		fmt.Fprintf(w, "  kết nối / link (%s): %s; %d heartbeats sent, as-run not yet shipped: %d\n", f.Transport.Kind, link, f.HeartbeatsSent, f.AsRunUnshipped)
	}
}
