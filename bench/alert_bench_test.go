package bench

// Alert latency and the city's cost with many wards connected.
//
//	go test ./bench -run XXX -bench Alert -benchtime 20x -timeout 30m
//
// BenchmarkAlertFanout runs the real loa-city binary (embedded NATS,
// JetStream on disk, synced writes) and N simulated wards in this process.
// A simulated ward is the agent's own alert receiver (alertrx.Receiver:
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
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"loa/agent"
	"loa/agent/alertrx"
	"loa/alert"
	"loa/city"
	"loa/city/api"
	"loa/internal/testwait"
	"loa/natsbus"
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
	adminSeed    string // a NATS user with every right (nats.admin_keys)
	to           string // the alerts' targets (default all: one copy)
	log          *cityLog
	// capAudio, when set, makes send POST a CAP 1.2 message with this
	// audio inline instead of a JSON alert (cap_bench_test.go).
	capAudio []byte
	capN     int
	// approver is a second person's token (role approver).
	approver string
}

// cityLog keeps loa-city's output and picks out its "alert copies
// published" lines.
type cityLog struct {
	mu        sync.Mutex
	all       bytes.Buffer
	partial   []byte
	published map[string]publishedLine
}

// publishedLine is the city's account of publishing one alert's copies.
type publishedLine struct {
	Time     time.Time `json:"time"`
	Alert    string    `json:"alert"`
	Copies   int       `json:"copies"`
	TotalMS  float64   `json:"total_ms"`
	AckMS    float64   `json:"ack_ms"`
	RecordMS float64   `json:"record_ms"`
}

func (l *cityLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.all.Write(p)
	l.partial = append(l.partial, p...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			break
		}
		line := l.partial[:i]
		if bytes.Contains(line, []byte(`"alert copies published"`)) {
			var pl publishedLine
			if json.Unmarshal(line, &pl) == nil {
				l.published[pl.Alert] = pl
			}
		}
		l.partial = l.partial[i+1:]
	}
	return len(p), nil
}

func (l *cityLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.all.String()
}

func (l *cityLog) publishedOf(id string) (publishedLine, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	p, ok := l.published[id]
	return p, ok
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
	return startAlertBenchCityConf(b, n, "")
}

// startAlertBenchCityConf is startAlertBenchCity with extra YAML in the
// city's configuration.
func startAlertBenchCityConf(b *testing.B, n int, extra string) *alertBenchCity {
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
	adminSeed, adminPub, err := natsbus.NewUserKey()
	if err != nil {
		b.Fatal(err)
	}
	// JSON logs at info: the city's "alert copies published" line times
	// each alert's JetStream acknowledgements and SQLite records.
	// The two-person rule off: the benchmarks time one person's emergency
	// (unless extra gives alert_rules of its own).
	rules := "alert_rules:\n  approval:\n    emergency_wards: 0\n"
	if strings.Contains(extra, "alert_rules:") {
		rules = ""
	}
	conf := fmt.Sprintf("data: %s\nlisten: %s\nnats:\n  listen: %s\n  admin_keys: [%s]\nlog:\n  level: info\n  format: json\n%s%s", cfg.Data, addr, natsAddr, adminPub, rules, extra)
	confPath := filepath.Join(dir, "city.yaml")
	os.WriteFile(confPath, []byte(conf), 0o600)
	ctx := context.Background()
	c, err := city.Open(ctx, cfg, nil)
	if err != nil {
		b.Fatal(err)
	}
	bc := &alertBenchCity{url: "http://" + addr, natsURL: "nats://" + natsAddr, key: c.PublicKey(), seeds: map[string]string{}, tokens: map[string]string{},
		adminSeed: adminSeed, log: &cityLog{published: map[string]publishedLine{}}}
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
	if bc.approver, err = c.AddUser(ctx, "duyet", "approver"); err != nil {
		b.Fatal(err)
	}
	wav := filepath.Join(dir, "coi.wav")
	if out, err := exec.Command("ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=frequency=700:duration=2", wav).CombinedOutput(); err != nil {
		b.Fatalf("ffmpeg: %v %s", err, out)
	}
	f, _ := os.Open(wav)
	m, _, err := c.Library.Ingest(ctx, f, city.UploadInfo{Name: "coi.wav", By: "bench"})
	f.Close()
	if err != nil {
		b.Fatal(err)
	}
	bc.media = m.SHA256
	c.Close()

	bc.cmd = exec.Command(bin, "run", "--config", confPath)
	logb := bc.log
	bc.cmd.Stdout, bc.cmd.Stderr = logb, logb
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
	if bc.capAudio != nil {
		return bc.sendCAP(b)
	}
	to := bc.to
	if to == "" {
		to = "all"
	}
	body, _ := json.Marshal(api.NewAlert{To: to, Media: bc.media, Priority: "emergency", Chime: &chime, ExpiresS: 600})
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
		b.Run(fmt.Sprintf("wards=%d", n), func(b *testing.B) { benchFanout(b, n, false) })
	}
}

// BenchmarkAlertFanoutByWard sends each alert to 100 wards named one by
// one: the city publishes 100 copies (one per ward subject) instead of one
// on loa.alert.all.
func BenchmarkAlertFanoutByWard(b *testing.B) { benchFanout(b, 100, true) }

// stageTimes collects, per alert, when each stage was seen: the copies
// passing through the NATS server (a tap subscribed to every ward's
// subject) and the wards' "alert received" log records.
type stageTimes struct {
	mu  sync.Mutex
	at  map[string][]time.Time
	msg string // the log message counted (receivedHandler)
}

func (s *stageTimes) add(id string, t time.Time) {
	s.mu.Lock()
	s.at[id] = append(s.at[id], t)
	s.mu.Unlock()
}

// span is the first and last time seen for id, relative to t0, and how many.
func (s *stageTimes) span(id string, t0 time.Time) (first, last time.Duration, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, t := range s.at[id] {
		d := t.Sub(t0)
		if i == 0 || d < first {
			first = d
		}
		last = max(last, d)
	}
	return first, last, len(s.at[id])
}

// receivedHandler is a ward's logger: it notes the time of the receiver's
// "alert received" record (the message has arrived, its signature and
// addressee are checked, nothing is written yet).
type receivedHandler struct{ st *stageTimes }

func (h receivedHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelInfo }
func (h receivedHandler) WithAttrs([]slog.Attr) slog.Handler           { return h }
func (h receivedHandler) WithGroup(string) slog.Handler                { return h }
func (h receivedHandler) Handle(_ context.Context, r slog.Record) error {
	if r.Message != h.st.msg {
		return nil
	}
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "alert" {
			h.st.add(a.Value.String(), r.Time)
			return false
		}
		return true
	})
	return nil
}

// alertTrace is one timed alert, stage by stage, from the POST (t0).
type alertTrace struct {
	id                  string
	t0                  time.Time
	answer              time.Duration // the city's HTTP answer (every copy acknowledged and recorded)
	pubFirst, pubLast   time.Duration // copies through the NATS server (tap)
	recvFirst, recvLast time.Duration // wards' "alert received"
	playFirst, playLast time.Duration // wards' PlayAlert (player start)
	city                publishedLine // the city's own timing of its publish round
	gcCount             int           // GC pauses of this process (the simulated wards) during the alert
	gcPause, gcPauseMax time.Duration
	// Time the threads of loa-city and of this process (the wards) spent
	// runnable but waiting for a CPU (schedstat) from the POST to the last
	// player start, and the machine's CPU pressure (PSI "some") then.
	cityWait, wardsWait time.Duration
	cpuPressure         float64
}

func (a alertTrace) String() string {
	ms := func(d time.Duration) string { return fmt.Sprintf("%.1f", float64(d.Microseconds())/1000) }
	return fmt.Sprintf("%s: on NATS %s..%s | JetStream acks %.1f, record %.1f | answer %s | received %s..%s | player %s..%s | ward GC %d pauses %s | run-queue wait: city %s, wards %s | CPU pressure %.0f %%",
		a.id, ms(a.pubFirst), ms(a.pubLast), a.city.AckMS, a.city.RecordMS, ms(a.answer),
		ms(a.recvFirst), ms(a.recvLast), ms(a.playFirst), ms(a.playLast), a.gcCount, ms(a.gcPause), ms(a.cityWait), ms(a.wardsWait), a.cpuPressure*100)
}

// runQueueWait is the time all threads of pid have spent runnable but not
// running (the second field of /proc/PID/task/*/schedstat).
func runQueueWait(pid int) time.Duration {
	tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	var sum int64
	for _, t := range tasks {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/schedstat", pid, t.Name()))
		if err != nil {
			continue
		}
		if f := strings.Fields(string(b)); len(f) >= 2 {
			v, _ := strconv.ParseInt(f[1], 10, 64)
			sum += v
		}
	}
	return time.Duration(sum)
}

// cpuStall is the machine's cumulative CPU pressure stall ("some").
func cpuStall() time.Duration {
	b, err := os.ReadFile("/proc/pressure/cpu")
	if err != nil {
		return 0
	}
	for _, f := range strings.Fields(strings.SplitN(string(b), "\n", 2)[0]) {
		if v, ok := strings.CutPrefix(f, "total="); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return time.Duration(n) * time.Microsecond
		}
	}
	return 0
}

// gcPausesIn counts this process's GC pauses that ended in [from, to].
func gcPausesIn(from, to time.Time) (n int, total, longest time.Duration) {
	var st debug.GCStats
	st.PauseQuantiles = nil
	debug.ReadGCStats(&st)
	for i, end := range st.PauseEnd {
		if end.Before(from) || end.After(to) || i >= len(st.Pause) {
			continue
		}
		n++
		total += st.Pause[i]
		longest = max(longest, st.Pause[i])
	}
	return n, total, longest
}

func benchFanout(b *testing.B, n int, byWard bool) {
	benchFanoutWith(b, n, func(bc *alertBenchCity) {
		if byWard {
			var ids []string
			for i := 0; i < n; i++ {
				ids = append(ids, fmt.Sprintf("phuong-%04d", i))
			}
			bc.to = strings.Join(ids, ",")
		}
	}, "")
}

// benchFanoutWith runs the fan-out benchmark with the city configured by
// extra YAML and set up by setup.
func benchFanoutWith(b *testing.B, n int, setup func(*alertBenchCity), extra string) {
	bc := startAlertBenchCityConf(b, n, extra)
	setup(bc)
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
	received := &stageTimes{at: map[string][]time.Time{}, msg: "alert received"}
	onNATS := &stageTimes{at: map[string][]time.Time{}}
	tap, err := natsbus.Dial(natsbus.ConnOptions{URLs: bc.natsURL, Seed: bc.adminSeed})
	if err != nil {
		b.Fatal(err)
	}
	defer tap.Close()
	for _, subj := range []string{natsbus.AlertAll, natsbus.AlertWard("*"), natsbus.AlertGroup("*")} {
		if _, err := tap.Conn.Subscribe(subj, func(m *nats.Msg) {
			now := time.Now()
			if env, err := alert.ReadEnvelope(m.Data); err == nil {
				var v struct {
					ID string `json:"id"`
				}
				if json.Unmarshal(env.Payload, &v) == nil {
					onNATS.add(v.ID, now)
				}
			}
		}); err != nil {
			b.Fatal(err)
		}
	}
	tap.Conn.Flush()
	var rxs []*alertrx.Receiver
	began := time.Now()
	for i := 0; i < n; i++ {
		w := fmt.Sprintf("phuong-%04d", i)
		db, err := sqlite.OpenAgent(ctx, filepath.Join(dbDir, w+".db"))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { db.Close() })
		rx, err := alertrx.New(alertrx.Config{Ward: w, NATS: bc.natsURL, Seed: bc.seeds[w], PublicKeys: []ed25519.PublicKey{bc.key},
			DB: db, Media: haveAll{}, Player: st, Log: slog.New(receivedHandler{received})})
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

	var lat, last, respTimes, statusTimes []time.Duration
	var traces []alertTrace
	var cpu time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		cpuA, _ := procUsage(pid)
		cityW0, wardsW0, stall0 := runQueueWait(pid), runQueueWait(os.Getpid()), cpuStall()
		id, t0 := bc.send(b, false)
		answer := time.Since(t0)
		respTimes = append(respTimes, answer)
		for k := 0; k < n; k++ {
			select {
			case <-st.got:
			case <-time.After(30 * time.Second):
				b.Fatalf("alert %s: %d of %d wards played it", id, k, n)
			}
		}
		window := time.Since(t0)
		tr := alertTrace{id: id, t0: t0, answer: answer, cityWait: runQueueWait(pid) - cityW0, wardsWait: runQueueWait(os.Getpid()) - wardsW0,
			cpuPressure: float64(cpuStall()-stall0) / float64(window)}
		st.mu.Lock()
		for j, at := range st.seen[id] {
			d := at.Sub(t0)
			lat = append(lat, d)
			if j == 0 || d < tr.playFirst {
				tr.playFirst = d
			}
			tr.playLast = max(tr.playLast, d)
		}
		st.mu.Unlock()
		last = append(last, tr.playLast)
		// The receipts come within a second (each ward waits up to 0.5 s
		// before it sends): the city's CPU for the alert is counted up to
		// then, before anyone asks for its status.
		time.Sleep(1500 * time.Millisecond)
		cpuB, _ := procUsage(pid)
		cpu += cpuB - cpuA
		s0 := time.Now()
		a := bc.status(b, id)
		statusTimes = append(statusTimes, time.Since(s0))
		// On a loaded machine receipts can lag: wait for them (they are
		// not what is timed), so that the next alert starts from quiet.
		if !testwait.Poll(30*time.Second, func() bool { a = bc.status(b, id); return a.Summary.Received == n }) {
			b.Fatalf("alert %s: %d receipts of %d after 30 s", id, a.Summary.Received, n)
		}
		tr.pubFirst, tr.pubLast, _ = onNATS.span(id, t0)
		tr.recvFirst, tr.recvLast, _ = received.span(id, t0)
		tr.city, _ = bc.log.publishedOf(id)
		tr.gcCount, tr.gcPause, tr.gcPauseMax = gcPausesIn(t0, t0.Add(tr.playLast))
		traces = append(traces, tr)
	}
	b.StopTimer()
	_, rssBusy := procUsage(pid)
	msOf := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(msOf(percentile(lat, 0.5)), "p50-ms")
	b.ReportMetric(msOf(percentile(lat, 0.99)), "p99-ms")
	b.ReportMetric(msOf(percentile(lat, 1)), "max-ms")
	b.ReportMetric(msOf(percentile(last, 0.5)), "last-ward-p50-ms")
	b.ReportMetric(msOf(percentile(last, 0.99)), "last-ward-p99-ms")
	b.ReportMetric(msOf(percentile(respTimes, 0.5)), "api-ms")
	b.ReportMetric(msOf(percentile(statusTimes, 0.5)), "status-api-ms")
	b.ReportMetric(idle, "city-idle-cpu-%")
	b.ReportMetric(float64(cpu)/float64(b.N)/float64(time.Millisecond), "city-cpu-ms/alert")
	b.ReportMetric(float64(rssIdle)/1024, "city-rss-idle-MB")
	b.ReportMetric(float64(rssBusy)/1024, "city-rss-MB")
	if b.N < 20 {
		return
	}
	// Where the time goes: the median alert, then the slowest ones
	// (by their last ward's player start), stage by stage, in ms from the POST.
	sort.Slice(traces, func(i, j int) bool { return traces[i].playLast < traces[j].playLast })
	b.Logf("median alert: %s", traces[len(traces)/2])
	for _, tr := range traces[max(0, len(traces)-8):] {
		b.Logf("slow alert:   %s", tr)
	}
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
