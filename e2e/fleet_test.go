package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"loa/internal/testwait"
)

type wardHealth struct {
	ID     string `json:"id"`
	Health *struct {
		State    string `json:"state"`
		Problems []struct {
			State, Detail string
		} `json:"problems"`
		NowPlaying *struct {
			ID string `json:"id"`
		} `json:"now_playing"`
	} `json:"health"`
}

func wardStates(t *testing.T, ctl []string) map[string]string {
	t.Helper()
	out := run(t, ctl, "loactl", "wards", "--json")
	var ws []wardHealth
	if err := json.Unmarshal([]byte(out), &ws); err != nil {
		t.Fatalf("loactl wards --json: %v\n%s", err, out)
	}
	m := map[string]string{}
	for _, w := range ws {
		if w.Health != nil {
			m[w.ID] = w.Health.State
		}
	}
	return m
}

// Three real wards report to a real city over its embedded NATS: one with
// its sound card missing (ALSA pointed at card 9), one playing a program of
// digital silence, one healthy. `loactl wards --json` shows each state
// within 45 s; a ward killed goes offline after 3 missed heartbeats; the
// as-run entry it wrote while stopping reaches the city when it is back.
//
// Heartbeats every 1 s (fleet.heartbeat) and silence after 3 s
// (silence.after) keep the test short; the production defaults are 15 s
// and 10 s (docs/monitoring.md).
func TestFleetHealthEndToEnd(t *testing.T) {
	t.Parallel()
	for _, tool := range []string{"ffmpeg", "sox"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skip(tool + " is not installed")
		}
	}
	if _, err := os.Stat("/usr/share/alsa/alsa.conf"); err != nil {
		t.Skip("ALSA is not installed")
	}
	dir := t.TempDir()
	cityAddr, natsAddr := freePort(t), freePort(t)
	os.WriteFile(filepath.Join(dir, "city.yaml"), []byte(fmt.Sprintf("data: %s\nlisten: %s\nnats:\n  listen: %s\n",
		filepath.Join(dir, "city-data"), cityAddr, natsAddr)), 0o600)
	city := startCity(t, dir, cityAddr)
	cfg := []string{"--config", city.config}
	key := strings.Fields(run(t, nil, "loa-city", append([]string{"key"}, cfg...)...))[2]
	admin := lastField(run(t, nil, "loa-city", append([]string{"user", "add", "kt", "--role", "admin"}, cfg...)...))
	ctl := []string{"LOA_CITY=" + city.url, "LOA_TOKEN=" + admin, "HOME=" + dir}

	// The programs: on air from the top of this minute, for 200 s.
	for name, synth := range map[string][]string{"im-lang.wav": {"synth", "200", "sine", "440", "vol", "0"}, "ban-tin.wav": {"synth", "200", "sine", "440", "vol", "0.3"}} {
		path := filepath.Join(dir, name)
		if out, err := exec.Command("sox", append([]string{"-n", "-r", "44100", "-c", "1", "-b", "16", path}, synth...)...).CombinedOutput(); err != nil {
			t.Fatalf("sox: %v\n%s", err, out)
		}
		run(t, ctl, "loactl", "media", "upload", path)
	}
	start := time.Now().In(ict).Truncate(time.Minute)
	program := func(ward, media string) {
		p := filepath.Join(dir, ward+".programs.yaml")
		os.WriteFile(p, []byte(fmt.Sprintf("programs:\n  - id: chuong-trinh\n    title: Chương trình\n    date: %s\n    at: \"%s\"\n    items: [%s]\n",
			start.Format("2006-01-02"), start.Format("15:04"), media)), 0o644)
		run(t, ctl, "loactl", "program", "load", p, "--ward", ward)
	}

	alsaMissing := filepath.Join(dir, "asound-missing.conf")
	os.WriteFile(alsaMissing, []byte("</usr/share/alsa/alsa.conf>\npcm.!default {\n type hw\n card 9\n}\n"), 0o644)
	type ward struct {
		id, media, output string
		env               []string
		agent             *agentProc
		config, data      string
	}
	wards := []*ward{
		{id: "phuong-loi", media: "ban-tin.wav", output: "alsa", env: []string{"ALSA_CONFIG_PATH=" + alsaMissing}},
		{id: "phuong-im", media: "im-lang.wav", output: "null"},
		{id: "phuong-tot", media: "ban-tin.wav", output: "null"},
	}
	for _, w := range wards {
		creds := wardAdd(t, cfg, w.id)
		seed, token := creds.NATSKey, creds.Token
		program(w.id, w.media)
		wdir := filepath.Join(dir, w.id)
		os.MkdirAll(wdir, 0o755)
		w.data = filepath.Join(wdir, "data")
		addr := freePort(t)
		extra := fmt.Sprintf("ward: %s\ncity:\n  url: %s\n  token: %s\n  public_key: %s\n  poll: 1s\n  nats: nats://%s\n  nats_key: %s\nfleet:\n  heartbeat: 1s\nsilence:\n  after: 3s\n",
			w.id, city.url, token, key, natsAddr, seed)
		w.config = writeAgentConfig(t, wdir, w.data, addr, w.output, extra)
		// A device that fails keeps the daemon up for 10 minutes before it
		// exits for systemd to restart it.
		b, _ := os.ReadFile(w.config)
		os.WriteFile(w.config, []byte(strings.Replace(string(b), "device_hold: 4s", "device_hold: 10m", 1)), 0o600)
		if out, err := exec.Command(filepath.Join(bin, "loa-agent"), "status", "--config", w.config).CombinedOutput(); strings.Contains(string(out), "field nats not found") {
			t.Skip("this loa-agent has no NATS settings yet (city.nats, city.nats_key: the alerts branch): " + strings.TrimSpace(string(out)))
		} else {
			_ = err
		}
		w.agent = startAgent(t, w.config, addr, w.data, w.env)
	}
	if code, body := wards[2].agent.get("/api/v1/status"); code != 200 || !strings.Contains(body, `"fleet"`) {
		t.Fatalf("the agent does not report to the city (no fleet in its status): set Daemon.FleetTransport from its NATS link (agent/heartbeat.go)\n%s", body)
	}

	want := map[string]string{"phuong-loi": "device!", "phuong-im": "silent!", "phuong-tot": "on air"}
	began := time.Now()
	var got map[string]string
	testwait.Poll(45*time.Second, func() bool {
		got = wardStates(t, ctl)
		return fmt.Sprint(got) == fmt.Sprint(want)
	})
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("after 45 s: %v, want %v\n%s", got, want, run(t, ctl, "loactl", "wards"))
	}
	t.Logf("every ward in its state %.1f s after the agents started", time.Since(began).Seconds())
	table := run(t, ctl, "loactl", "wards")
	t.Logf("loactl wards:\n%s", table)
	if !strings.Contains(table, "Lỗi thiết bị âm thanh / device!") || !strings.Contains(table, "Im lặng bất thường / silent!") {
		t.Errorf("table:\n%s", table)
	}

	// Stopped (SIGTERM: it logs the item it was playing, "agent stopped",
	// and cannot ship it any more): offline after 3 missed heartbeats.
	tot := wards[2]
	tot.agent.cmd.Process.Signal(syscall.SIGTERM)
	tot.agent.wait()
	stopped := time.Now()
	waitUntil(t, "phuong-tot offline", 15*time.Second, func() bool { return wardStates(t, ctl)["phuong-tot"] == "offline" })
	t.Logf("offline %.1f s after the agent stopped (1 s heartbeats: 3.5 s window + the city's 1 s sweep)", time.Since(stopped).Seconds())
	if csv := run(t, ctl, "loactl", "asrun", "--ward", "phuong-tot", "--date", start.Format("2006-01-02"), "--csv"); strings.Contains(csv, "agent stopped") {
		t.Fatalf("the entry written while stopping reached the city before the agent came back:\n%s", csv)
	}
	tot.agent = startAgent(t, tot.config, tot.agent.addr, tot.data, nil)
	waitUntil(t, "phuong-tot's as-run entry at the city", 20*time.Second, func() bool {
		csv := run(t, ctl, "loactl", "asrun", "--ward", "phuong-tot", "--date", start.Format("2006-01-02"), "--csv")
		return strings.Contains(csv, "chuong-trinh") && strings.Contains(csv, "agent stopped")
	})
	waitUntil(t, "phuong-tot on air again", 15*time.Second, func() bool { return wardStates(t, ctl)["phuong-tot"] == "on air" })
}
