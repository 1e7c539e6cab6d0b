package bench

// Alert latency and the city's cost with many wards connected.
//
//	go test ./bench -run XXX -bench Alert -benchtime 20x -timeout 30m
//
// BenchmarkAlertFanout runs the real loa-city binary (embedded NATS,
// JetStream on disk, synced writes) and N simulated wards in this process.
// A simulated ward is the agent's own alert receiver (agent.AlertReceiver:
// its NATS link and consumer, signature, addressee, expiry and replay
// checks, its SQLite database, its receipts) with the player replaced by a
// recorder that timestamps the PlayAlert call: latency is from the start
// of POST /api/v1/alerts to that call. The wards' databases are on
// /dev/shm when there is one: a thousand wards share this machine's one
// disk, where each Pi has its own SD card.
//
// BenchmarkAlertToOutput runs one real daemon (player, engine, a null
// output paced like a sound card with a 150 ms buffer) against the same
// city: latency is from the POST to the instant the first alert frame is
// heard (the player's on-air time, by the output's sample clock), and to
// the instant it was handed to the output (one buffer earlier; the output
// takes 20 ms blocks, so this is within ±20 ms).

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"loa/agent"
	"loa/alert"
	"loa/city"
	"loa/city/api"
	"loa/player"
	"loa/signing"
	"loa/sqlite"
)

// alertBenchCity is a loa-city process with n wards.
type alertBenchCity struct {
	url, natsURL string
	cmd          *exec.Cmd
	alerter      string
	key          ed25519.PublicKey
	seeds        map[string]string
	media        string // a media item's sha256
	tokens       map[string]string
}

func alertFreeAddr(b testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startAlertBenchCity registers n wards in a fresh city (in-process, before
// the server starts: loa-city ward add a thousand times would take
// minutes), uploads a tone, and starts the loa-city binary.
func startAlertBenchCity(b *testing.B, n int) *alertBenchCity {
	b.Helper()
	for _, tool := range []string{"ffmpeg", "go"} {
		if _, err := exec.LookPath(tool); err != nil {
			b.Skip(tool + " is not installed")
		}
	}
	dir := b.TempDir()
	bin := filepath.Join(dir, "loa-city")
	build := exec.Command("go", "build", "-o", bin, "./cmd/loa-city")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("build loa-city: %v\n%s", err, out)
	}
	addr, natsAddr := alertFreeAddr(b), alertFreeAddr(b)
	cfg := city.DefaultConfig()
	cfg.Data, cfg.Listen = filepath.Join(dir, "data"), addr
	cfg.NATS.Listen = natsAddr
	cfg.Log.Level = "warn"
	conf := fmt.Sprintf("data: %s\nlisten: %s\nnats:\n  listen: %s\nlog:\n  level: warn\n", cfg.Data, addr, natsAddr)
	confPath := filepath.Join(dir, "city.yaml")
	os.WriteFile(confPath, []byte(conf), 0o600)
	ctx := context.Background()
	c, err := city.Open(ctx, cfg, nil)
	if err != nil {
		b.Fatal(err)
	}
	bc := &alertBenchCity{url: "http://" + addr, natsURL: "nats://" + natsAddr, key: c.PublicKey(), seeds: map[string]string{}, tokens: map[string]string{}}
	for i := 0; i < n; i++ {
		w := fmt.Sprintf("phuong-%04d", i)
		if bc.tokens[w], err = c.AddWard(ctx, w, []string{fmt.Sprintf("quan-%d", i%20)}); err != nil {
			b.Fatal(err)
		}
		if bc.seeds[w], err = c.IssueWardKey(ctx, w); err != nil {
			b.Fatal(err)
		}
	}
	if bc.alerter, err = c.AddUser(ctx, "canh-bao", "alerter"); err != nil {
		b.Fatal(err)
	}
	wav := filepath.Join(dir, "coi.wav")
	if out, err := exec.Command("ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=frequency=700:duration=2", wav).CombinedOutput(); err != nil {
		b.Fatalf("ffmpeg: %v %s", err, out)
	}
	f, _ := os.Open(wav)
	m, _, err := c.Ingest(ctx, f, city.UploadInfo{Name: "coi.wav", By: "bench"})
	f.Close()
	if err != nil {
		b.Fatal(err)
	}
	bc.media = m.SHA256
	c.Close()

	bc.cmd = exec.Command(bin, "run", "--config", confPath)
	var logb bytes.Buffer
	bc.cmd.Stdout, bc.cmd.Stderr = &logb, &logb
	if err := bc.cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		bc.cmd.Process.Signal(os.Interrupt)
		bc.cmd.Wait()
		if b.Failed() {
			b.Logf("city log:\n%s", logb.String())
		}
	})
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get(bc.url + "/healthz"); err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("loa-city did not answer:\n%s", logb.String())
		}
	}
	return bc
}

// send posts an alert for all wards and returns its id and when the
// request began.
func (bc *alertBenchCity) send(b *testing.B, chime bool) (string, time.Time) {
	body, _ := json.Marshal(api.NewAlert{To: "all", Media: bc.media, Priority: "emergency", Chime: &chime, ExpiresS: 600})
	req, _ := http.NewRequest("POST", bc.url+"/api/v1/alerts", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+bc.alerter)
	t0 := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 201 {
		b.Fatalf("send: %d %s", resp.StatusCode, out)
	}
	var a api.Alert
	json.Unmarshal(out, &a)
	return a.ID, t0
}

func (bc *alertBenchCity) status(b *testing.B, id string) api.Alert {
	req, _ := http.NewRequest("GET", bc.url+"/api/v1/alerts/"+id, nil)
	req.Header.Set("Authorization", "Bearer "+bc.alerter)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var a api.Alert
	json.NewDecoder(resp.Body).Decode(&a)
	return a
}

// procUsage reads a process's CPU time (user+system) and resident memory.
func procUsage(pid int) (cpu time.Duration, rssKB int64) {
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
		ut, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		cpu = time.Duration(ut+st) * 10 * time.Millisecond // USER_HZ = 100
	}
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid)); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "VmRSS:") {
				rssKB, _ = strconv.ParseInt(strings.Fields(l)[1], 10, 64)
			}
		}
	}
	return cpu, rssKB
}

// stamper is a simulated ward's player: it notes when PlayAlert is
// called.
type stamper struct {
	mu   *sync.Mutex
	seen map[string][]time.Time
	got  chan struct{}
}

func (s stamper) PlayAlert(a player.Alert) {
	now := time.Now()
	s.mu.Lock()
	s.seen[a.ID] = append(s.seen[a.ID], now)
	s.mu.Unlock()
	s.got <- struct{}{}
}

func (s stamper) CancelAlert(string) {}

type haveAll struct{}

func (haveAll) HasMedia(string) bool                          { return true }
func (haveAll) FetchMedia(context.Context, alert.Media) error { return nil }

func percentile(d []time.Duration, q float64) time.Duration {
	s := append([]time.Duration{}, d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[int(math.Ceil(q*float64(len(s))))-1]
}

func BenchmarkAlertFanout(b *testing.B) {
	for _, n := range []int{1, 100, 1000} {
		b.Run(fmt.Sprintf("wards=%d", n), func(b *testing.B) { benchFanout(b, n) })
	}
}

func benchFanout(b *testing.B, n int) {
	bc := startAlertBenchCity(b, n)
	dbDir := b.TempDir()
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		d, err := os.MkdirTemp("/dev/shm", "loa-bench-")
		if err == nil {
			dbDir = d
			b.Cleanup(func() { os.RemoveAll(d) })
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	st := stamper{mu: &sync.Mutex{}, seen: map[string][]time.Time{}, got: make(chan struct{}, n*4)}
	var rxs []*agent.AlertReceiver
	began := time.Now()
	for i := 0; i < n; i++ {
		w := fmt.Sprintf("phuong-%04d", i)
		db, err := sqlite.OpenAgent(ctx, filepath.Join(dbDir, w+".db"))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { db.Close() })
		rx, err := agent.NewAlertReceiver(agent.AlertConfig{Ward: w, NATS: bc.natsURL, Seed: bc.seeds[w], PublicKeys: []ed25519.PublicKey{bc.key},
			DB: db, Media: haveAll{}, Player: st, Log: slog.New(slog.DiscardHandler)})
		if err != nil {
			b.Fatal(err)
		}
		rxs = append(rxs, rx)
		wg.Add(1)
		go func() { defer wg.Done(); rx.Run(ctx) }()
	}
	for deadline := time.Now().Add(3 * time.Minute); ; time.Sleep(100 * time.Millisecond) {
		ready := 0
		for _, rx := range rxs {
			if s := rx.State(ctx); s.NATS.Connected && s.Consumer == "" {
				ready++
			}
		}
		if ready == n {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d wards connected", ready, n)
		}
	}
	b.Logf("%d wards connected and reading their consumers in %s", n, time.Since(began).Round(time.Millisecond))
	pid := bc.cmd.Process.Pid
	cpu0, _ := procUsage(pid)
	time.Sleep(10 * time.Second)
	cpu1, rssIdle := procUsage(pid)
	idle := float64(cpu1-cpu0) / float64(10*time.Second) * 100

	var lat, respTimes, statusTimes []time.Duration
	var cpu time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		cpuA, _ := procUsage(pid)
		id, t0 := bc.send(b, false)
		respTimes = append(respTimes, time.Since(t0))
		for k := 0; k < n; k++ {
			select {
			case <-st.got:
			case <-time.After(30 * time.Second):
				b.Fatalf("alert %s: %d of %d wards played it", id, k, n)
			}
		}
		st.mu.Lock()
		for _, at := range st.seen[id] {
			lat = append(lat, at.Sub(t0))
		}
		st.mu.Unlock()
		// The receipts come within a second (each ward waits up to 0.5 s
		// before it sends): the city's CPU for the alert is counted up to
		// then, before anyone asks for its status.
		time.Sleep(1500 * time.Millisecond)
		cpuB, _ := procUsage(pid)
		cpu += cpuB - cpuA
		s0 := time.Now()
		a := bc.status(b, id)
		statusTimes = append(statusTimes, time.Since(s0))
		if a.Summary.Received != n {
			b.Fatalf("alert %s: %d receipts of %d after 1.5 s", id, a.Summary.Received, n)
		}
	}
	b.StopTimer()
	_, rssBusy := procUsage(pid)
	b.ReportMetric(float64(percentile(lat, 0.5).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(percentile(lat, 0.99).Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(percentile(lat, 1).Microseconds())/1000, "max-ms")
	b.ReportMetric(float64(percentile(respTimes, 0.5).Microseconds())/1000, "api-ms")
	b.ReportMetric(float64(percentile(statusTimes, 0.5).Microseconds())/1000, "status-api-ms")
	b.ReportMetric(idle, "city-idle-cpu-%")
	b.ReportMetric(float64(cpu)/float64(b.N)/float64(time.Millisecond), "city-cpu-ms/alert")
	b.ReportMetric(float64(rssIdle)/1024, "city-rss-idle-MB")
	b.ReportMetric(float64(rssBusy)/1024, "city-rss-MB")
}

// BenchmarkAlertToOutput: one real daemon (player, engine, null output);
// from the POST to the first alert frame handed to the output.
func BenchmarkAlertToOutput(b *testing.B) {
	bc := startAlertBenchCity(b, 1)
	dir := b.TempDir()
	cfg := agent.DefaultConfig()
	cfg.Data, cfg.Ward, cfg.Clock = filepath.Join(dir, "data"), "phuong-0000", "trust"
	cfg.HTTP.Listen = alertFreeAddr(b)
	cfg.Audio.Output = "null"
	cfg.City.URL, cfg.City.Token, cfg.City.PublicKey = bc.url, bc.tokens["phuong-0000"], signing.PublicKeyText(bc.key)
	cfg.City.NATS, cfg.City.NATSKey = bc.natsURL, bc.seeds["phuong-0000"]
	ready := make(chan string, 1)
	d := &agent.Daemon{Cfg: cfg, Log: slog.New(slog.DiscardHandler), Ready: func(a string) { ready <- a }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	defer func() { cancel(); <-done }()
	addr := <-ready
	status := func() agent.StatusReport {
		resp, err := http.Get("http://" + addr + "/api/v1/status")
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		var r agent.StatusReport
		json.NewDecoder(resp.Body).Decode(&r)
		return r
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if s := status(); s.Alerts != nil && s.Alerts.NATS.Connected && s.Alerts.Consumer == "" {
			break
		}
		if time.Now().After(deadline) {
			b.Fatal("the daemon's alert link did not come up")
		}
	}
	// A first alert fetches and decodes the media; the timed ones find it.
	id, _ := bc.send(b, true)
	for bc.status(b, id).Summary.Finished != 1 {
		time.Sleep(100 * time.Millisecond)
	}
	var heard, handed []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		id, t0 := bc.send(b, true)
		var s agent.StatusReport
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
			if s = status(); s.Alert != nil && s.Alert.ID == id {
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("alert %s not on air", id)
			}
		}
		// Start is when the first frame is heard (the output's clock);
		// the output was handed it one buffer (device.latency_ms) before.
		heard = append(heard, s.Alert.Start.Sub(t0))
		handed = append(handed, s.Alert.Start.Add(-time.Duration(s.Device.LatencyMS)*time.Millisecond).Sub(t0))
		// Let it end (chime + 2 s) before the next.
		for bc.status(b, id).Summary.Finished != 1 {
			time.Sleep(50 * time.Millisecond)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(percentile(heard, 0.5).Microseconds())/1000, "heard-p50-ms")
	b.ReportMetric(float64(percentile(heard, 0.99).Microseconds())/1000, "heard-p99-ms")
	b.ReportMetric(float64(percentile(handed, 0.5).Microseconds())/1000, "handed-p50-ms")
	b.ReportMetric(float64(percentile(handed, 0.99).Microseconds())/1000, "handed-p99-ms")
}
