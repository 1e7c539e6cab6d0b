package city_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"loa/city/api"
	"loa/city/citytest"
	"loa/fleet"
)

func sendBeat(t *testing.T, c *citytest.City, ward string, f func(h *fleet.Heartbeat)) {
	t.Helper()
	h := &fleet.Heartbeat{Ward: ward, Seq: uint64(time.Now().UnixNano()), Sent: c.Now().UnixMilli(), Every: 15, Version: "1.2.0", Uptime: 60,
		Clock: fleet.Clock{Source: "ntp", Trusted: true}, LevelDBFS: -20, Device: fleet.Device{OK: true}, DiskFree: 3 << 30, CPUTemp: 48.5,
		Counters: fleet.Counter{Starts: 3, SilenceS: 12.5}}
	if f != nil {
		f(h)
	}
	data, _ := h.Encode(nil)
	if err := c.HeartbeatReceived(ward, data); err != nil {
		t.Fatal(err)
	}
}

// The city's /metrics has a series per ward and measure, only the current
// state in loa_ward_state, and the counts by state; a user's token is
// needed. The state changes, not the heartbeats, are written down and
// survive a restart.
func TestCityMetricsAndStates(t *testing.T) {
	c := citytest.New(t)
	now := time.Date(2026, 5, 1, 10, 0, 0, 0, c.Location())
	c.Now = func() time.Time { return now }
	c.AddWard(t, "phuong-1")
	c.AddWard(t, "phuong-2")
	c.AddWard(t, "phuong-3")
	sendBeat(t, c, "phuong-1", func(h *fleet.Heartbeat) { h.OnAir = &fleet.Playing{Kind: "program", ID: "p"} })
	sendBeat(t, c, "phuong-2", func(h *fleet.Heartbeat) {
		h.OnAir = &fleet.Playing{Kind: "program", ID: "p"}
		h.Silent, h.Device = 20, fleet.Device{Error: "card gone"}
	})
	for range 3 {
		sendBeat(t, c, "phuong-1", func(h *fleet.Heartbeat) { h.OnAir = &fleet.Playing{Kind: "program", ID: "p"} })
	}
	if code, _, _ := c.Do(t, "GET", "/metrics", "", nil); code != 401 {
		t.Fatalf("/metrics without a token: %d", code)
	}
	code, body, _ := c.Do(t, "GET", "/metrics", c.Technician, nil)
	m := string(body)
	if code != 200 {
		t.Fatalf("/metrics: %d", code)
	}
	for _, want := range []string{
		`loa_ward_state{state="on_air",ward="phuong-1"} 1`,
		`loa_ward_state{state="device",ward="phuong-2"} 1`,
		`loa_ward_state{state="offline",ward="phuong-3"} 1`,
		`loa_ward_problem{state="silent",ward="phuong-2"} 1`,
		`loa_ward_up{ward="phuong-3"} 0`,
		`loa_ward_up{ward="phuong-1"} 1`,
		`loa_ward_last_seen_seconds{ward="phuong-1"} 0`,
		`loa_ward_silence_seconds_total{ward="phuong-2"} 12.5`,
		`loa_ward_cpu_temperature_celsius{ward="phuong-1"} 48.5`,
		`loa_ward_info{version="1.2.0",ward="phuong-1"} 1`,
		`loa_wards{state="offline"} 1`,
		`loa_wards{state="device"} 1`,
		`loa_wards{state="on_air"} 1`,
		`loa_wards{state="silent"} 0`,
		`loa_fleet_heartbeats_total 5`,
	} {
		if !strings.Contains(m, want+"\n") {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if !strings.Contains(m, "\nprocess_cpu_seconds_total ") {
		t.Error("/metrics lacks the process's own series")
	}
	if n := strings.Count(m, `loa_ward_state{`); n != 3 {
		t.Errorf("%d loa_ward_state series for 3 wards", n)
	}

	// Written down: one change per ward (its first state) and phuong-1's
	// heartbeats none.
	if err := c.FlushFleet(t.Context()); err != nil {
		t.Fatal(err)
	}
	rows, err := c.DB.Read().WardHealthRows(t.Context())
	if err != nil || len(rows) != 3 || rows[0].State != "on air" || rows[1].State != "device!" || rows[2].State != "offline" {
		t.Fatalf("stored states: %+v %v", rows, err)
	}
	hist, _ := c.DB.Read().WardStateChanges(t.Context(), "phuong-1", time.Time{}, 10)
	if len(hist) != 2 || hist[0].To != "on air" || hist[0].From != "offline" || hist[1].To != "offline" {
		t.Errorf("phuong-1's history: %+v", hist)
	}
	// 53 s without a heartbeat: offline.
	now = now.Add(53 * time.Second)
	var w api.Ward
	_, body, _ = c.Do(t, "GET", "/api/v1/wards/phuong-1", c.Technician, nil)
	json.Unmarshal(body, &w)
	if w.Health == nil || w.Health.State != "offline" || w.Health.StateVI != "Mất kết nối" || w.Health.LastHeartbeatAge != 53 ||
		w.Health.NowPlaying == nil || w.Health.Problems[0].Detail != "no heartbeat for 53s" {
		t.Fatalf("phuong-1 after 53 s: %s", body)
	}
}

var metricName = regexp.MustCompile(`\bloa_[a-z_]+\b`)

// exported are the metric names the city's /metrics can have.
func exported(t *testing.T) map[string]bool {
	out := map[string]bool{}
	// The city's own files and its services' (city/board has the wards').
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	more, _ := filepath.Glob("*/*.go")
	for _, f := range append(files, more...) {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range regexp.MustCompile(`NewDesc\("(loa_[a-z_]+)"`).FindAllStringSubmatch(string(b), -1) {
			out[m[1]] = true
		}
	}
	if len(out) < 20 {
		t.Fatalf("only %d metrics found in the city's files", len(out))
	}
	return out
}

// The example alert rules parse, use only metrics the city exports, and
// pass promtool when it is installed (Debian: prometheus).
func TestPrometheusRulesFile(t *testing.T) {
	path := filepath.Join("..", "docs", "prometheus-rules.yml")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Groups []struct {
			Name  string `yaml:"name"`
			Rules []struct {
				Alert       string            `yaml:"alert"`
				Expr        string            `yaml:"expr"`
				For         string            `yaml:"for"`
				Labels      map[string]string `yaml:"labels"`
				Annotations map[string]string `yaml:"annotations"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	known := exported(t)
	var alerts []string
	for _, g := range doc.Groups {
		for _, r := range g.Rules {
			alerts = append(alerts, r.Alert)
			if r.Expr == "" || r.Annotations["summary"] == "" || r.Labels["severity"] == "" {
				t.Errorf("%s: incomplete rule", r.Alert)
			}
			if r.For != "" {
				if _, err := time.ParseDuration(r.For); err != nil {
					t.Errorf("%s: for: %v", r.Alert, err)
				}
			}
			for _, name := range metricName.FindAllString(r.Expr, -1) {
				if !known[name] {
					t.Errorf("%s uses %s, which the city does not export", r.Alert, name)
				}
			}
		}
	}
	sort.Strings(alerts)
	for _, want := range []string{"LoaWardDeviceError", "LoaWardOffline", "LoaWardSilentOnAir"} {
		if i := sort.SearchStrings(alerts, want); i == len(alerts) || alerts[i] != want {
			t.Errorf("no rule %s", want)
		}
	}
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Log("promtool not installed: YAML checked only")
		return
	}
	if out, err := exec.Command(promtool, "check", "rules", path).CombinedOutput(); err != nil {
		t.Fatalf("promtool check rules: %v\n%s", err, out)
	}
}

// The Grafana dashboard is valid JSON, importable (a data source input,
// panels with queries) and queries only metrics the city exports.
func TestGrafanaDashboard(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "docs", "grafana-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Inputs []struct {
			Name     string `json:"name"`
			PluginID string `json:"pluginId"`
		} `json:"__inputs"`
		Title  string `json:"title"`
		UID    string `json:"uid"`
		Panels []struct {
			Title   string `json:"title"`
			Type    string `json:"type"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
		Schema int `json:"schemaVersion"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("grafana-dashboard.json: %v", err)
	}
	if d.Title == "" || d.UID == "" || d.Schema < 30 || len(d.Inputs) != 1 || d.Inputs[0].PluginID != "prometheus" || len(d.Panels) < 8 {
		t.Fatalf("dashboard: %+v", d)
	}
	known := exported(t)
	for _, p := range d.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			for _, name := range metricName.FindAllString(tg.Expr, -1) {
				if !known[name] {
					t.Errorf("panel %q queries %s, which the city does not export", p.Title, name)
				}
			}
		}
	}
}
