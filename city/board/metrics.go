package board

import (
	"slices"

	"github.com/prometheus/client_golang/prometheus"

	"loa/fleet"
)

// The city's /metrics: one series per ward and measure, from the latest
// heartbeats in memory, computed at scrape time (nothing is kept between
// scrapes). loa_ward_state carries only the ward's current state, with
// value 1: a ward has one series for it, not eight, and an alert rule on
// loa_ward_state{state="silent"} resolves when the series goes away.
var (
	descUp        = prometheus.NewDesc("loa_ward_up", "1 when the ward's heartbeats arrive (not offline).", []string{"ward"}, nil)
	descLastSeen  = prometheus.NewDesc("loa_ward_last_seen_seconds", "Seconds since the ward's latest heartbeat arrived.", []string{"ward"}, nil)
	descState     = prometheus.NewDesc("loa_ward_state", "The ward's state (value 1): on_air, idle, silent, late, offline, clock, disk, device, out_of_sync, identity.", []string{"ward", "state"}, nil)
	descProblem   = prometheus.NewDesc("loa_ward_problem", "Every problem a ward has now (value 1), not only the worst.", []string{"ward", "state"}, nil)
	descSilence   = prometheus.NewDesc("loa_ward_silence_seconds_total", "Seconds of silence on air since the ward's agent started.", []string{"ward"}, nil)
	descSilentNow = prometheus.NewDesc("loa_ward_silent_seconds", "Seconds the ward has been silent on air so far (0: sounding or idle).", []string{"ward"}, nil)
	descLevel     = prometheus.NewDesc("loa_ward_output_level_dbfs", "Peak output level at the ward, dBFS.", []string{"ward"}, nil)
	descOnAir     = prometheus.NewDesc("loa_ward_on_air", "1 when a program or alert plays at the ward.", []string{"ward"}, nil)
	descClock     = prometheus.NewDesc("loa_ward_clock_offset_seconds", "The ward clock's error by the city's reckoning (ward minus city).", []string{"ward"}, nil)
	descClockOK   = prometheus.NewDesc("loa_ward_clock_trusted", "1 when the ward trusts its clock.", []string{"ward", "source"}, nil)
	descDevice    = prometheus.NewDesc("loa_ward_device_ok", "1 when the ward's audio device works.", []string{"ward"}, nil)
	descSyncAge   = prometheus.NewDesc("loa_ward_sync_age_seconds", "Seconds since the ward's last good poll of the city.", []string{"ward"}, nil)
	descManifest  = prometheus.NewDesc("loa_ward_manifest_version", "Manifest version the ward runs.", []string{"ward"}, nil)
	descCityMan   = prometheus.NewDesc("loa_ward_city_manifest_version", "Manifest version the city issued for the ward.", []string{"ward"}, nil)
	descDisk      = prometheus.NewDesc("loa_ward_disk_free_bytes", "Free bytes in the ward's data folder.", []string{"ward"}, nil)
	descTemp      = prometheus.NewDesc("loa_ward_cpu_temperature_celsius", "The ward's CPU temperature (absent without a sensor).", []string{"ward"}, nil)
	descUptime    = prometheus.NewDesc("loa_ward_uptime_seconds", "Seconds since the ward's agent started.", []string{"ward"}, nil)
	descStarts    = prometheus.NewDesc("loa_ward_starts_total", "Program starts since the ward's agent started.", []string{"ward"}, nil)
	descLate      = prometheus.NewDesc("loa_ward_late_starts_total", "Program starts later than 2 s since the ward's agent started.", []string{"ward"}, nil)
	descDevErr    = prometheus.NewDesc("loa_ward_device_errors_total", "Audio device failures since the ward's agent started.", []string{"ward"}, nil)
	descRejected  = prometheus.NewDesc("loa_ward_alerts_rejected_total", "Alerts the ward refused since its agent started.", []string{"ward"}, nil)
	descInfo      = prometheus.NewDesc("loa_ward_info", "The ward's agent version (value 1).", []string{"ward", "version"}, nil)
	descWards     = prometheus.NewDesc("loa_wards", "Registered wards by state.", []string{"state"}, nil)
	descBeats     = prometheus.NewDesc("loa_fleet_heartbeats_total", "Heartbeats accepted.", nil, nil)
	descBeatBytes = prometheus.NewDesc("loa_fleet_heartbeat_bytes_total", "Bytes of heartbeats accepted.", nil, nil)
	descBeatBad   = prometheus.NewDesc("loa_fleet_heartbeats_rejected_total", "Heartbeats refused (unreadable, or from another ward than their subject).", nil, nil)
	descBeatStale = prometheus.NewDesc("loa_fleet_heartbeats_stale_total", "Heartbeats older than one already received (reordered, replayed).", nil, nil)
	descAsRun     = prometheus.NewDesc("loa_fleet_asrun_entries_total", "As-run entries received from wards and stored.", nil, nil)
	descAsRunDup  = prometheus.NewDesc("loa_fleet_asrun_duplicates_total", "As-run entries received again and ignored.", nil, nil)
	descAsRunBad  = prometheus.NewDesc("loa_fleet_asrun_rejected_total", "As-run messages refused as unreadable.", nil, nil)
)

// Collector is the board's series for /metrics, read at scrape time: the
// wards' states and latest heartbeats, the intake's counters, each ward's
// use of NATS and the identity alarms.
func (s *Service) Collector() prometheus.Collector { return collector{s} }

type collector struct{ s *Service }

func (c collector) Describe(ch chan<- *prometheus.Desc) { prometheus.DescribeByCollect(c, ch) }

func (c collector) Collect(ch chan<- prometheus.Metric) {
	c.collectFleet(ch)
	c.collectBus(ch)
	c.s.ident.collect(ch)
}

func (c collector) collectFleet(ch chan<- prometheus.Metric) {
	s := c.s
	b := s.Board()
	now := s.now()
	b.Sweep(now)
	g := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	ctr := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
	}
	counts := map[fleet.State]int{}
	b.Each(func(v fleet.View) {
		if !v.Registered {
			return
		}
		w := v.ID
		st := v.Health.State
		counts[st]++
		g(descState, 1, w, st.Slug())
		var shown []fleet.State // one series per state: a ward may have two identity problems
		for _, p := range v.Health.Problems {
			if !slices.Contains(shown, p.State) {
				shown = append(shown, p.State)
				g(descProblem, 1, w, p.State.Slug())
			}
		}
		up := true // offline may sit under an identity problem: look at all
		for _, p := range v.Health.Problems {
			up = up && p.State != fleet.Offline
		}
		g(descUp, b2f(up), w)
		g(descCityMan, float64(v.Manifest), w)
		if !v.LastSeen.IsZero() {
			g(descLastSeen, now.Sub(v.LastSeen).Seconds(), w)
		}
		if v.CityOffsetKnown {
			g(descClock, v.CityOffset.Seconds(), w)
		}
		hb := v.Beat
		if hb == nil {
			return
		}
		g(descSilentNow, hb.Silent, w)
		g(descLevel, hb.LevelDBFS, w)
		g(descOnAir, b2f(hb.OnAir != nil), w)
		g(descClockOK, b2f(hb.Clock.Trusted), w, hb.Clock.Source)
		g(descDevice, b2f(hb.Device.OK), w)
		if hb.Sync != nil {
			g(descManifest, float64(hb.Sync.Manifest), w)
			if hb.Sync.AgeS >= 0 {
				g(descSyncAge, float64(hb.Sync.AgeS), w)
			}
		}
		g(descDisk, float64(hb.DiskFree), w)
		if hb.CPUTemp > 0 {
			g(descTemp, hb.CPUTemp, w)
		}
		g(descUptime, float64(hb.Uptime), w)
		g(descInfo, 1, w, hb.Version)
		n := hb.Counters
		ctr(descSilence, n.SilenceS, w)
		ctr(descStarts, float64(n.Starts), w)
		ctr(descLate, float64(n.LateStarts), w)
		ctr(descDevErr, float64(n.DeviceErrors), w)
		ctr(descRejected, float64(n.AlertsRejected), w)
	})
	for _, s := range fleet.States {
		g(descWards, float64(counts[s]), s.Slug())
	}
	st := b.Stats()
	ctr(descBeats, float64(st.Heartbeats))
	ctr(descBeatBytes, float64(st.Bytes))
	ctr(descBeatBad, float64(st.Rejected))
	ctr(descBeatStale, float64(st.Stale))
	ctr(descAsRun, float64(s.asrunIn.Load()))
	ctr(descAsRunDup, float64(s.asrunDup.Load()))
	ctr(descAsRunBad, float64(s.asrunBad.Load()))
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// Each ward's use of NATS (docs/monitoring.md).
var (
	descDenied       = prometheus.NewDesc("loa_city_nats_denied_total", "Attempts of the ward's NATS key the server refused for lack of permission (embedded server) since the city started.", []string{"ward"}, nil)
	descFloodDropped = prometheus.NewDesc("loa_city_nats_flood_dropped_total", "Messages of the ward dropped by the city for going over the ward's budget, by kind: report, asrun, heartbeat.", []string{"ward", "kind"}, nil)
	descFlooding     = prometheus.NewDesc("loa_city_nats_ward_flooding", "1 while the ward sends more than its budget (messages dropped in the last 10 minutes); absent otherwise.", []string{"ward"}, nil)
)

func (c collector) collectBus(ch chan<- prometheus.Metric) {
	s := c.s
	now := s.now()
	s.Board().Each(func(v fleet.View) {
		if !v.Registered {
			return
		}
		wb := s.bus.get(v.ID, now)
		ch <- prometheus.MustNewConstMetric(descDenied, prometheus.CounterValue, float64(wb.Denied), v.ID)
		for _, k := range Kinds {
			ch <- prometheus.MustNewConstMetric(descFloodDropped, prometheus.CounterValue, float64(wb.Dropped[k]), v.ID, k)
		}
		if wb.Flooding {
			ch <- prometheus.MustNewConstMetric(descFlooding, prometheus.GaugeValue, 1, v.ID)
		}
	})
}

// The identity alarms' counters.
var (
	descDupLogins = prometheus.NewDesc("loa_city_ward_duplicate_logins_total",
		"NATS logins with a ward's key while another connection of it was alive (the older was closed).", []string{"ward"}, nil)
	descRefused = prometheus.NewDesc("loa_city_ward_messages_refused_total",
		"Receipts and as-run lines refused because the ward's key did not sign them (reason: unsigned, unknown_key, bad_signature).",
		[]string{"ward", "kind", "reason"}, nil)
)

func (f *identityCounts) collect(ch chan<- prometheus.Metric) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for w, n := range f.duplicates {
		ch <- prometheus.MustNewConstMetric(descDupLogins, prometheus.CounterValue, float64(n), w)
	}
	for k, n := range f.refused {
		ch <- prometheus.MustNewConstMetric(descRefused, prometheus.CounterValue, float64(n), k[0], k[1], k[2])
	}
}
