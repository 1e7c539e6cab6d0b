package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"loa/agent/alertrx"
	"loa/player"
	"loa/schedule"
)

// StatusReport is GET /api/v1/status and `loa-agent status --json`.
type StatusReport struct {
	Version   string        `json:"version"`
	Ward      string        `json:"ward,omitempty"`
	Now       time.Time     `json:"now"`
	Uptime    float64       `json:"uptime_s"`
	Healthy   bool          `json:"healthy"`
	Problems  []string      `json:"problems"`
	Clock     ClockState    `json:"clock"`
	Device    DeviceState   `json:"device"`
	Program   *player.OnAir `json:"now_playing"`
	Alert     *player.OnAir `json:"alert"`
	Next      []NextEntry   `json:"next"`
	Silent    float64       `json:"silent_s"`
	Amplifier AmpState      `json:"amplifier"`
	AsRun     []AsRunRow    `json:"last_asrun"`
	Timezone  string        `json:"timezone"`
	Sync      *SyncState    `json:"sync,omitempty"`
	Live      *player.OnAir `json:"live,omitempty"`
	// TestTone is the city's test tone while it sounds.
	TestTone  *player.OnAir        `json:"test_tone,omitempty"`
	Relays    []player.RelayStatus `json:"relays,omitempty"`
	Displaced []NextEntry          `json:"displaced_today"`
	Fleet     *FleetStatus         `json:"fleet,omitempty"`
	Alerts    *alertrx.State       `json:"alerts,omitempty"`
	Disk      *DiskState           `json:"disk,omitempty"`
}

// DeviceState is the audio output's health.
type DeviceState struct {
	Output    string  `json:"output"`
	OK        bool    `json:"ok"`
	Error     string  `json:"error,omitempty"`
	LevelDBFS float64 `json:"level_dbfs"`
	LatencyMS float64 `json:"latency_ms"`
	Position  int64   `json:"frames"`
}

// AmpState is the amplifier power.
type AmpState struct {
	Powered bool   `json:"powered"`
	Error   string `json:"error,omitempty"`
	// Forced is "on" or "off" while the city's amplifier command
	// overrides the automatic decision, until ForcedUntil.
	Forced      string     `json:"forced,omitempty"`
	ForcedUntil *time.Time `json:"forced_until,omitempty"`
}

// NextEntry is an upcoming occurrence.
type NextEntry struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	ID    string    `json:"id"`
	Title string    `json:"title"`
}

// AsRunRow is an as-run entry in JSON.
type AsRunRow struct {
	Kind    string    `json:"kind"`
	Program string    `json:"program"`
	Part    int       `json:"part"`
	Item    string    `json:"item"`
	Planned time.Time `json:"planned"`
	Actual  time.Time `json:"actual,omitempty"`
	End     time.Time `json:"end,omitempty"`
	LateMS  int64     `json:"late_ms"`
	Result  string    `json:"result"`
	Missed  float64   `json:"missed_s"`
	Note    string    `json:"note,omitempty"`
}

// routes are http.listen's: what a technician's phone on the ward's
// network may see, nothing it may change.
func (d *Daemon) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", d.handleHealth)
	mux.HandleFunc("GET /api/v1/status", d.handleStatus)
	// Read-only: state changes are taken on control.listen only
	// (control.go). An attempt here is refused and reported.
	mux.HandleFunc("POST /api/v1/live", d.readOnlyRefusal)
	mux.HandleFunc("DELETE /api/v1/live", d.readOnlyRefusal)
	mux.Handle("GET /metrics", promhttp.HandlerFor(d.m.reg, promhttp.HandlerOpts{}))
	d.statusPageRoutes(mux)
	return mux
}

// Report builds the status report.
func (d *Daemon) Report(ctx context.Context) StatusReport {
	now := d.wall()
	ps := d.pl.Status()
	d.mu.Lock()
	clock, devErr, dbErr, sched, silent, schedErrs := d.clock, d.deviceErr, d.dbErr, d.sched, d.silentRun, d.schedErrs
	lastLoop := d.lastLoop
	d.mu.Unlock()

	r := StatusReport{
		Version: Version, Ward: d.Cfg.Ward, Now: now, Uptime: time.Since(d.started).Seconds(),
		Clock: clock, Program: ps.Program, Alert: ps.Alert, Silent: silent.Seconds(), Problems: []string{},
	}
	peak := d.eng.PeakDBFS()
	if math.IsInf(peak, -1) {
		peak = -150
	}
	r.Device = DeviceState{Output: d.out.Name(), OK: devErr == nil, LevelDBFS: math.Round(peak*10) / 10,
		LatencyMS: float64(d.out.Latency().Milliseconds()), Position: d.eng.Position()}
	if devErr != nil {
		r.Device.Error = devErr.Error()
		r.Problems = append(r.Problems, "Lỗi thiết bị âm thanh / audio device error: "+devErr.Error())
	}
	if !clock.Trusted {
		r.Problems = append(r.Problems, "Lệch giờ / clock not trusted: "+clock.Detail)
	}
	if clock.Problem != "" {
		r.Problems = append(r.Problems, "Lệch giờ / clock off: "+clock.Problem)
	}
	if dbErr != nil {
		r.Problems = append(r.Problems, "Lỗi cơ sở dữ liệu / database error: "+dbErr.Error())
	}
	if silent > 0 {
		r.Problems = append(r.Problems, fmt.Sprintf("Im lặng bất thường / silent on air for %s", silent.Round(time.Second)))
	}
	if !lastLoop.IsZero() && time.Since(lastLoop) > 5*time.Second {
		r.Problems = append(r.Problems, fmt.Sprintf("playout loop stalled for %s", time.Since(lastLoop).Round(time.Second)))
	}
	r.Live, r.Relays, r.TestTone = ps.Live, ps.Relays, ps.Test
	relayBad := false
	for _, rs := range ps.Relays {
		if rs.Fallback || rs.FailingFor >= 10*time.Second {
			relayBad = true
			reason := rs.Reason
			if reason == "" {
				reason = fmt.Sprintf("%s for %s", rs.State, rs.FailingFor.Round(time.Second))
			}
			r.Problems = append(r.Problems, fmt.Sprintf("Tiếp sóng lỗi / relay failed: %s (%s): %s", rs.Program, rs.URL, reason))
		}
	}
	for _, e := range schedErrs {
		r.Problems = append(r.Problems, "Chương trình không nạp được / programs not loaded: "+e.Error())
	}
	r.Fleet = d.fleetStatus()
	r.Healthy = devErr == nil && clock.Trusted && clock.Problem == "" && dbErr == nil && silent == 0 && !relayBad && (lastLoop.IsZero() || time.Since(lastLoop) <= 5*time.Second)
	if problem := d.alertsReport(ctx, &r); problem != "" {
		r.Problems = append(r.Problems, problem)
		r.Healthy = false
	}
	if problem := d.diskReport(&r); problem != "" {
		r.Problems = append(r.Problems, problem)
		r.Healthy = false
	}
	// The overall state never says OK next to a listed problem.
	r.Healthy = r.Healthy && len(r.Problems) == 0
	if r.Program != nil {
		p := *r.Program
		p.Item = d.itemName(p.Item)
		r.Program = &p
	}
	r.Amplifier.Powered, r.Amplifier.Error = d.amp.State()
	if on, until, ok := d.amp.Forced(d.wall()); ok {
		r.Amplifier.Forced, r.Amplifier.ForcedUntil = "off", &until
		if on {
			r.Amplifier.Forced = "on"
		}
	}
	if d.sync != nil {
		ss := d.sync.Status()
		r.Sync = &SyncState{City: d.Cfg.City.URL, Version: ss.Version, LastError: ss.LastError, Pending: ss.Pending, Failures: ss.Failures}
		if !ss.LastSuccess.IsZero() {
			r.Sync.LastSuccess = ss.LastSuccess.Format(time.RFC3339)
			r.Sync.AgeSeconds = now.Sub(ss.LastSuccess).Seconds()
		}
	}
	r.Next = []NextEntry{}
	r.Displaced = []NextEntry{}
	if sched != nil {
		r.Timezone = sched.Location().String()
		for _, o := range sched.Displaced(schedule.DateOf(now.In(sched.Location()))) {
			r.Displaced = append(r.Displaced, NextEntry{Start: o.Start, End: o.End, ID: o.Program.ID, Title: o.Program.Title})
		}
		for _, o := range sched.Next(now, 5) {
			r.Next = append(r.Next, NextEntry{Start: o.Start, End: o.End, ID: o.Program.ID, Title: o.Program.Title})
		}
	}
	r.AsRun = []AsRunRow{}
	if rows, err := d.st.DB.LastAsRun(ctx, 20); err == nil {
		for _, e := range rows {
			row := AsRunRow{Kind: e.Kind, Program: e.Program, Part: e.Part, Item: e.Item, Planned: e.Planned, Actual: e.Actual,
				End: e.End, Result: e.Result, Missed: e.Missed.Seconds(), Note: e.Note}
			if !e.Actual.IsZero() {
				row.LateMS = e.Actual.Sub(e.Planned).Milliseconds()
			}
			r.AsRun = append(r.AsRun, row)
		}
	}
	return r
}

// handleHealth is 200 when the station plays what it should (or is
// correctly idle), 503 with the reasons otherwise.
func (d *Daemon) handleHealth(w http.ResponseWriter, r *http.Request) {
	rep := d.Report(r.Context())
	w.Header().Set("Content-Type", "application/json")
	if !rep.Healthy {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	json.NewEncoder(w).Encode(struct {
		Healthy  bool     `json:"healthy"`
		Problems []string `json:"problems"`
	}{rep.Healthy, rep.Problems})
}

func (d *Daemon) handleStatus(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(d.Report(r.Context()))
}
