package e2e

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"loa/city/api"
	"loa/internal/testdb"
	"loa/natsbus"
	"loa/sqlite"
)

// alertCity is a real loa-city with its embedded NATS (or nats.url), its
// wards registered and an alerter, as the operators' commands leave it.
type alertCity struct {
	t        *testing.T
	dir      string
	proc     *cityProc
	key      string            // public signing key
	seeds    map[string]string // ward → NATS key
	tokens   map[string]string // ward → HTTP token
	natsURL  string            // what wards connect to
	adminKey string            // seed of a key in nats.admin_keys
	ctl      []string          // loactl's environment (alerter)
	adminCtl []string          // loactl's environment (admin)
	addr     string            // HTTP
	config   string
	// agentExtra is appended to every ward's configuration.
	agentExtra string
}

// newAlertCity writes a city configuration (extra YAML appended), registers
// wards ("id" or "id:group"), and starts loa-city.
func newAlertCity(t *testing.T, extra string, wards ...string) *alertCity {
	t.Helper()
	c := prepareAlertCity(t, extra, wards...)
	c.start()
	return c
}

// prepareAlertCity does what newAlertCity does but start the city.
func prepareAlertCity(t *testing.T, extra string, wards ...string) *alertCity {
	t.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg is not installed")
	}
	if _, err := exec.LookPath("espeak-ng"); err != nil {
		t.Skip("espeak-ng is not installed")
	}
	dir := t.TempDir()
	addr := freePort(t)
	adminSeed, adminPub, _ := natsbus.NewUserKey()
	c := &alertCity{t: t, dir: dir, seeds: map[string]string{}, tokens: map[string]string{}, adminKey: adminSeed}
	natsCfg := extra
	if !strings.Contains(extra, "nats:") {
		natsAddr := freePort(t)
		c.natsURL = "nats://" + natsAddr
		natsCfg = fmt.Sprintf("nats:\n  listen: %s\n  admin_keys: [%s]\n%s", natsAddr, adminPub, extra)
	} else {
		natsCfg = strings.Replace(extra, "ADMIN_KEY", adminPub, 1)
	}
	if !strings.Contains(extra, "alert_rules:") {
		natsCfg += onePersonAlerts
	}
	cfg := fmt.Sprintf("data: %s\nlisten: %s\n%s", filepath.Join(dir, "city-data"), addr, natsCfg)
	config := filepath.Join(dir, "city.yaml")
	if err := os.WriteFile(config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	args := func(a ...string) []string { return append(a, "--config", config) }
	c.key = strings.Fields(run(t, nil, "loa-city", args("key")...))[2]
	for _, w := range wards {
		id, group, _ := strings.Cut(w, ":")
		a := args("ward", "add", id)
		if group != "" {
			a = append(a, "--group", group)
		}
		out := run(t, nil, "loa-city", a...)
		// Each credential is on the line after the one that names it.
		lines := strings.Split(out, "\n")
		for i := 0; i+1 < len(lines); i++ {
			switch {
			case strings.Contains(lines[i], "(city.nats_key;"):
				c.seeds[id] = strings.TrimSpace(lines[i+1])
			case strings.Contains(lines[i], "token (city.token;"), strings.Contains(lines[i], "Its token"):
				c.tokens[id] = strings.TrimSpace(lines[i+1])
			}
		}
		if !strings.HasPrefix(c.seeds[id], "SU") || !strings.HasPrefix(c.tokens[id], "loaw_") {
			t.Fatalf("ward add printed:\n%s", out)
		}
	}
	alerter := lastField(run(t, nil, "loa-city", args("user", "add", "canh-bao", "--role", "alerter")...))
	admin := lastField(run(t, nil, "loa-city", args("user", "add", "quan-tri", "--role", "admin")...))
	c.addr, c.config = addr, config
	c.ctl = []string{"LOA_CITY=http://" + addr, "LOA_TOKEN=" + alerter, "HOME=" + dir}
	c.adminCtl = []string{"LOA_CITY=http://" + addr, "LOA_TOKEN=" + admin, "HOME=" + dir}
	return c
}

func (c *alertCity) start() {
	c.proc = startCity(c.t, c.dir, c.addr)
	c.t.Cleanup(func() {
		if c.t.Failed() {
			b, _ := os.ReadFile(c.proc.log)
			c.t.Logf("city log:\n%s", tail(string(b), 80))
		}
	})
}

// agentConfig is the city part of a ward's configuration.
func (c *alertCity) agentConfig(ward string) string {
	poll := "2s"
	if strings.Contains(c.agentExtra, "#poll:10m") {
		poll = "10m"
	}
	return fmt.Sprintf("ward: %s\ncity:\n  url: %s\n  token: %s\n  public_key: %s\n  poll: %s\n  nats: %s\n  nats_key: %s\n%s",
		ward, "http://"+c.addr, c.tokens[ward], c.key, poll, c.natsURL, c.seeds[ward], c.agentExtra)
}

// startWard starts ward's agent with output ("null" or "wav:PATH").
func (c *alertCity) startWard(ward, output string, flags ...string) *agentProc {
	c.t.Helper()
	dir := filepath.Join(c.dir, ward)
	os.MkdirAll(dir, 0o755)
	data := filepath.Join(dir, "data")
	addr := freePort(c.t)
	cfgPath := writeAgentConfig(c.t, dir, data, addr, output, c.agentConfig(ward))
	return startAgent(c.t, cfgPath, addr, data, nil, flags...)
}

// restart starts an agent again with its configuration and data.
func (a *agentProc) restart() *agentProc {
	a.t.Helper()
	return startAgent(a.t, a.config, a.addr, a.data, nil)
}

// stopAgent stops an agent with SIGTERM and waits for it.
func (a *agentProc) stop() {
	a.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-a.done:
	case <-time.After(10 * time.Second):
		a.cmd.Process.Kill()
		<-a.done
	}
}

// alertSend runs loactl alert send and returns the alert id.
func (c *alertCity) alertSend(args ...string) string {
	c.t.Helper()
	out := run(c.t, c.ctl, "loactl", append([]string{"alert", "send"}, args...)...)
	id := strings.TrimSpace(strings.SplitN(out, "\n", 2)[0])
	if !strings.HasPrefix(id, "cb-") {
		c.t.Fatalf("alert send printed %q", out)
	}
	return id
}

func (c *alertCity) alertStatus(id string) api.Alert {
	c.t.Helper()
	out := run(c.t, c.ctl, "loactl", "alert", "status", id, "--json")
	var a api.Alert
	if err := json.Unmarshal([]byte(out), &a); err != nil {
		c.t.Fatalf("alert status: %v\n%s", err, out)
	}
	return a
}

func (c *alertCity) wardState(id, ward string) api.WardAlertState {
	for _, w := range c.alertStatus(id).Wards {
		if w.Ward == ward {
			return w
		}
	}
	return api.WardAlertState{}
}

// waitWardState waits until ward reports state for alert id.
func (c *alertCity) waitWardState(id, ward, state string, limit time.Duration) api.WardAlertState {
	c.t.Helper()
	var last api.WardAlertState
	waitUntil(c.t, fmt.Sprintf("%s %s at %s", id, state, ward), limit, func() bool {
		last = c.wardState(id, ward)
		return last.State == state
	})
	return last
}

// reports reads the city's database: every receipt stored for an id.
func (c *alertCity) reports(id string) []sqlite.AlertReport {
	c.t.Helper()
	r, err := testdb.City(c.t, filepath.Join(c.dir, "city-data", "city.db")).Read().AlertReports(context.Background(), id)
	if err != nil {
		c.t.Fatal(err)
	}
	return r
}

// alertRows are the as-run rows of alerts in an agent's database.
func alertRows(t *testing.T, data string) []sqlite.AsRunEntry {
	var out []sqlite.AsRunEntry
	for _, r := range asrun(t, data) {
		if r.Kind == "alert" {
			out = append(out, r)
		}
	}
	return out
}

// metric reads one value from an agent's /metrics ("" if absent).
func (a *agentProc) metric(series string) string {
	_, body := a.get("/metrics")
	for _, l := range strings.Split(body, "\n") {
		if strings.HasPrefix(l, series+" ") {
			return strings.TrimPrefix(l, series+" ")
		}
	}
	return ""
}

// readWAVFile reads the left channel of a 16-bit WAV that may still be
// growing (its header's size is not trusted: the data run to the end).
func readWAVFile(t *testing.T, path string) ([]float64, int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 44 || string(b[:4]) != "RIFF" {
		t.Fatalf("%s: not a WAV", path)
	}
	ch := int(binary.LittleEndian.Uint16(b[22:]))
	rate := int(binary.LittleEndian.Uint32(b[24:]))
	i := 12
	for i+8 <= len(b) && string(b[i:i+4]) != "data" {
		i += 8 + int(binary.LittleEndian.Uint32(b[i+4:]))
	}
	data := b[i+8:]
	n := len(data) / (2 * ch)
	out := make([]float64, n)
	for k := range out {
		out[k] = float64(int16(binary.LittleEndian.Uint16(data[k*2*ch:]))) / 32768
	}
	return out, rate
}

// goertzel is the power of x at frequency f, per sample².
func goertzel(x []float64, f float64, rate int) float64 {
	w := 2 * math.Pi * f / float64(rate)
	c := 2 * math.Cos(w)
	var s1, s2 float64
	for _, v := range x {
		s0 := v + c*s1 - s2
		s2, s1 = s1, s0
	}
	return (s1*s1 + s2*s2 - c*s1*s2) / float64(len(x)*len(x))
}

func rmsDB(x []float64) float64 {
	var s float64
	for _, v := range x {
		s += v * v
	}
	return 10 * math.Log10(s/float64(len(x))+1e-20)
}

// window is 100 ms of captured output, measured.
type window struct {
	tone  float64 // power at the program's frequency, relative to the program's own
	chime float64 // the same at the chime's first tone (880 Hz)
	level float64 // RMS dBFS
}

// analyze cuts x into 100 ms windows and measures each.
func analyze(x []float64, rate int, toneHz float64) []window {
	n := rate / 10
	var ws []window
	for i := 0; i+n <= len(x); i += n {
		seg := x[i : i+n]
		ws = append(ws, window{tone: goertzel(seg, toneHz, rate), chime: goertzel(seg, 880, rate), level: rmsDB(seg)})
	}
	// The program's power is the median over windows where it is loud.
	var tones []float64
	for _, w := range ws {
		if w.tone > 0 {
			tones = append(tones, w.tone)
		}
	}
	ref := quantile(tones, 0.9)
	for i := range ws {
		ws[i].tone /= ref
		ws[i].chime /= ref
	}
	return ws
}

func quantile(v []float64, q float64) float64 {
	if len(v) == 0 {
		return 1
	}
	s := append([]float64{}, v...)
	sort.Float64s(s)
	return s[int(q*float64(len(s)-1))]
}

// loadProgramNow loads the program "nhac" for every ward: a 150 s tone of
// hz started at the current minute, so that a ward started now joins it
// on air.
func (c *alertCity) loadProgramNow(hz float64) {
	t := c.t
	t.Helper()
	tone(t, filepath.Join(c.dir, "chuong-trinh.wav"), hz, 150)
	run(t, c.adminCtl, "loactl", "media", "upload", filepath.Join(c.dir, "chuong-trinh.wav"))
	start := time.Now().In(ict).Truncate(time.Minute)
	prog := filepath.Join(c.dir, "p.yaml")
	os.WriteFile(prog, []byte(fmt.Sprintf("programs:\n  - id: nhac\n    title: Ca nhạc\n    date: %s\n    at: \"%s\"\n    items: [chuong-trinh.wav]\n",
		start.Format("2006-01-02"), start.Format("15:04"))), 0o644)
	run(t, c.adminCtl, "loactl", "program", "load", prog, "--all")
}

// waitProgramOnAir waits until the ward plays "nhac" (loadProgramNow) and
// is linked to the city.
func (a *agentProc) waitProgramOnAir() {
	a.t.Helper()
	waitUntil(a.t, "the program on air", 30*time.Second, func() bool {
		s := a.alertStatus()
		return s.Program != nil && s.Program.ID == "nhac"
	})
	a.waitLinked()
}

// playingProgram starts ward with the program "nhac" on air (a 150 s
// tone of hz, loadProgramNow) played to a WAV. It returns the ward once
// the program plays and the ward is linked, and the WAV's path.
func (c *alertCity) playingProgram(ward string, hz float64) (*agentProc, string) {
	c.t.Helper()
	c.loadProgramNow(hz)
	wav := filepath.Join(c.dir, ward+".wav")
	a := c.startWard(ward, "wav:"+wav)
	a.waitProgramOnAir()
	return a, wav
}
