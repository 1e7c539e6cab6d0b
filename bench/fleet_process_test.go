package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"loa/city"
	"loa/internal/testwait"
)

// The city as it runs: the real loa-city binary in its own process (its
// embedded NATS server included), N simulated wards heartbeating over real
// NATS every 15 s (the agent's default), each with its own key and the
// wards' permissions, in a child process, and V technicians logged in
// through the console's log-in page holding the fleet page's stream
// (GET /fleet/events, server-sent events) open in this process. Run it with
//
//	go test ./bench -run '^$' -bench FleetProcess -benchtime 1x -timeout 2h -v
//
// LOA_BENCH_WARDS (default 1000,5000,10000), LOA_BENCH_VIEWERS (default
// 0,20) and LOA_BENCH_WINDOW (default 60s) choose the runs; LOA_CITY_BIN
// a loa-city built already (another version); LOA_BENCH_PROFILE a folder
// for the city's heap and goroutine profiles (the city then runs as a
// child of this test binary, TestFleetCityChild); LOA_BENCH_CITY_ENV
// variables for the city's process only (GOMEMLIMIT=200MiB, GOGC=50:
// space-separated). It reports the
// city's CPU (utime+stime from /proc/PID/stat over the window, % of one
// core), its RSS (VmRSS at the end) and RSS per ward, and with viewers the
// events and bytes they received (and bytes an event) and the time from a
// ward's heartbeat reporting silence to the first event showing it silent.
//
// LOA_BENCH_NATS=external runs NATS as an operator's external server
// (fleet_extnats_test.go): a nats-server process configured as
// docs/nats.md says, the city connected with nats.url; the same figures
// are then also reported for the nats-server process, and every ward's
// consumers on ALERTS and COMMANDS are checked on that server before the
// window. LOA_BENCH_NATS=embedded,external runs both (the runs' names
// then begin nats=embedded/, nats=external/); unset, the embedded server
// alone, as before.
func BenchmarkFleetProcess(b *testing.B) {
	viewers := []int{0, 20}
	if s := os.Getenv("LOA_BENCH_VIEWERS"); s != "" {
		viewers = nil
		for _, f := range strings.Split(s, ",") {
			if v, err := strconv.Atoi(strings.TrimSpace(f)); err == nil && v >= 0 {
				viewers = append(viewers, v)
			}
		}
	}
	modes := []string{""} // the embedded server, the runs named as before
	if s := os.Getenv("LOA_BENCH_NATS"); s != "" {
		modes = nil
		for _, f := range strings.Split(s, ",") {
			switch m := strings.TrimSpace(f); m {
			case "embedded", "external":
				modes = append(modes, m)
			default:
				b.Fatalf("LOA_BENCH_NATS: %q, want embedded or external", m)
			}
		}
	}
	for _, mode := range modes {
		for _, n := range benchWards([]int{1000, 5000, 10000}) {
			for _, v := range viewers {
				name := fmt.Sprintf("wards=%d/viewers=%d", n, v)
				if mode != "" {
					name = "nats=" + mode + "/" + name
				}
				b.Run(name, func(b *testing.B) {
					for range b.N {
						fleetProcess(b, n, v, mode == "external")
					}
				})
			}
		}
	}
}

const technician = "ky-thuat"

func fleetProcess(b *testing.B, n, viewers int, external bool) {
	window := 60 * time.Second
	if s := os.Getenv("LOA_BENCH_WINDOW"); s != "" {
		window, _ = time.ParseDuration(s)
	}
	exe := cityBin(b)
	dir := b.TempDir()
	addr, natsAddr := freeAddr(b), freeAddr(b)
	cfgPath := filepath.Join(dir, "city.yaml")
	natsCfg := "listen: " + natsAddr
	if external {
		natsCfg = "url: nats://" + natsAddr
	}
	os.WriteFile(cfgPath, []byte(fmt.Sprintf("data: %s\nlisten: %s\nnats:\n  %s\n", filepath.Join(dir, "city-data"), addr, natsCfg)), 0o600)

	// The wards, their keys and a technician with a password of their
	// own, written into the city's database before it starts (as
	// `loa-city ward add` and `user add` would, without 10,000 processes).
	cfg, err := city.LoadConfig(cfgPath)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	c, err := city.Open(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	seeds, _ := os.Create(filepath.Join(dir, "seeds"))
	for i := range n {
		ward := fmt.Sprintf("phuong-%05d", i)
		if _, err := c.AddWard(ctx, ward, []string{fmt.Sprintf("quan-%d", i%24)}); err != nil {
			b.Fatal(err)
		}
		seed, err := c.IssueWardKey(ctx, ward)
		if err != nil {
			b.Fatal(err)
		}
		fmt.Fprintf(seeds, "%s %s\n", ward, seed)
	}
	seeds.Close()
	_, once, err := c.Accounts.AddPerson(ctx, technician, "technician")
	if err != nil {
		b.Fatal(err)
	}
	const password = "kỹ thuật viên đo tải 2026"
	if err := c.Accounts.ChangePassword(ctx, technician, once, password); err != nil {
		b.Fatal(err)
	}
	admin, err := c.AddUser(ctx, "do-tai", "admin")
	if err != nil {
		b.Fatal(err)
	}
	c.Close()

	// The operator's server, with the users `loa-city nats config` prints
	// for these wards, runs before the city starts.
	var ext *externalNATS
	if external {
		out, err := exec.Command(exe, "nats", "config", "--config", cfgPath).Output()
		if err != nil {
			b.Fatalf("loa-city nats config: %v", err)
		}
		if got := bytes.Count(out, []byte("# ward ")); got != n {
			b.Fatalf("loa-city nats config: %d wards, want %d", got, n)
		}
		ext = startExternalNATS(b, dir, natsAddr, string(out))
		defer ext.stop()
	}

	logf, _ := os.Create(filepath.Join(dir, "city.log"))
	proc := exec.Command(exe, "run", "--config", cfgPath)
	profile := os.Getenv("LOA_BENCH_PROFILE") // a folder: profile the city (run in this test binary)
	if profile != "" {
		self, _ := os.Executable()
		proc = exec.Command(self, "-test.run", "^TestFleetCityChild$")
		proc.Env = append(os.Environ(), "LOA_FLEET_CITY="+cfgPath, "LOA_FLEET_PROFILE="+filepath.Join(profile, fmt.Sprintf("wards=%d-viewers=%d-", n, viewers)))
	}
	if env := os.Getenv("LOA_BENCH_CITY_ENV"); env != "" {
		if proc.Env == nil {
			proc.Env = os.Environ()
		}
		proc.Env = append(proc.Env, strings.Fields(env)...)
	}
	proc.Stdout, proc.Stderr = logf, logf
	if err := proc.Start(); err != nil {
		b.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- proc.Wait() }()
	defer func() { proc.Process.Signal(os.Interrupt); <-exited }()
	base := "http://" + addr
	if !testwait.Poll(60*time.Second, func() bool {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil
	}) {
		log, _ := os.ReadFile(logf.Name())
		b.Fatalf("loa-city did not answer:\n%s", log)
	}

	self, _ := os.Executable()
	sim := exec.Command(self, "-test.run", "^TestFleetSimulatedWards$", "-test.v")
	sim.Env = append(os.Environ(), "LOA_FLEET_SIM="+seeds.Name(), "LOA_FLEET_URL=nats://"+natsAddr)
	stdout, _ := sim.StdoutPipe()
	control, _ := sim.StdinPipe()
	sim.Stderr = os.Stderr
	if err := sim.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { sim.Process.Signal(os.Interrupt); sim.Wait() }()
	connected := make(chan struct{})
	silentSent := make(chan time.Time, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			switch l := sc.Text(); {
			case strings.HasPrefix(l, "connected "):
				close(connected)
			case strings.HasPrefix(l, "silent "):
				silentSent <- time.Now()
			}
		}
	}()
	select {
	case <-connected:
	case <-time.After(10 * time.Minute):
		b.Fatal("the simulated wards did not connect in 10 min")
	}
	// The city has made every ward's consumer on ALERTS (8 at a time,
	// after the wards are read at start).
	if !testwait.Poll(15*time.Minute, func() bool {
		log, _ := os.ReadFile(logf.Name())
		return bytes.Contains(log, []byte(fmt.Sprintf(`msg="ward consumers ready" wards=%d`, n)))
	}) {
		b.Fatalf("the city did not make the %d wards' consumers in 15 min", n)
	}
	// ... and every ward's consumer on COMMANDS (its state on disk: each
	// one a synced write, minutes of the city's CPU at 5,000 wards, which
	// must not fall in the measured window).
	if !testwait.Poll(15*time.Minute, func() bool {
		log, _ := os.ReadFile(logf.Name())
		return bytes.Contains(log, []byte(fmt.Sprintf(`msg="ward command consumers ready" wards=%d`, n)))
	}) {
		b.Fatalf("the city did not make the %d wards' command consumers in 15 min", n)
	}
	if external {
		checkWardConsumers(b, "nats://"+natsAddr, cfg.NATS.Seed, n)
	}
	// Every ward has sent at least once (one interval and a margin).
	if !testwait.Poll(5*time.Minute, func() bool { return heartbeatsTotal(b, base, admin) >= float64(n) }) {
		b.Fatalf("fewer than %d heartbeats reached the city in 5 min", n)
	}

	// The viewers: each logs in and holds the fleet page's stream open.
	vctx, stopViewers := context.WithCancel(ctx)
	defer stopViewers()
	var events, bytesIn atomic.Int64
	silentSeen := make(chan time.Time, 1)
	var vwg sync.WaitGroup
	for i := range viewers {
		cookie := consoleLogin(b, base, technician, password)
		ready := make(chan struct{})
		vwg.Add(1)
		go func() {
			defer vwg.Done()
			watchFleet(vctx, b, base, cookie, i == 0, ready, &events, &bytesIn, silentSeen)
		}()
		<-ready
	}
	// The viewers' first full boards drawn (one event each at least).
	testwait.For(b, "every viewer's first board", 60*time.Second, func() bool { return events.Load() >= int64(viewers) })

	beats0 := heartbeatsTotal(b, base, admin)
	if profile != "" {
		proc.Process.Signal(syscall.SIGUSR2) // the CPU profile of the window
	}
	cpu0, at0 := procCPU(b, proc.Process.Pid), time.Now()
	var natsCPU0 time.Duration
	if external {
		natsCPU0 = procCPU(b, ext.pid())
	}
	ev0, by0 := events.Load(), bytesIn.Load()
	b.ResetTimer()
	// The measured window (CPU and events over it), ended early by the
	// city dying in it.
	select {
	case <-time.After(window):
	case err := <-exited:
		b.Fatalf("the city exited during the measured window: %v", err)
	}
	cpu1, at1 := procCPU(b, proc.Process.Pid), time.Now()
	ev1, by1 := events.Load(), bytesIn.Load()
	rss := procRSS(b, proc.Process.Pid)
	var natsCPU1 time.Duration
	var natsRSS uint64
	if external {
		natsCPU1, natsRSS = procCPU(b, ext.pid()), procRSS(b, ext.pid())
	}
	b.StopTimer()
	if profile != "" {
		done := filepath.Join(profile, fmt.Sprintf("wards=%d-viewers=%d-done", n, viewers))
		os.Remove(done)
		proc.Process.Signal(syscall.SIGUSR1)
		if !testwait.Poll(time.Minute, func() bool { _, err := os.Stat(done); return err == nil }) {
			b.Error("no heap profile from the city")
		}
	}
	beats1 := heartbeatsTotal(b, base, admin)

	wall := at1.Sub(at0).Seconds()
	pct := 100 * (cpu1 - cpu0).Seconds() / wall
	b.ReportMetric(pct, "%cpu")
	b.ReportMetric(float64(rss)/(1<<20), "MB_rss")
	b.ReportMetric(float64(rss)/1024/float64(n), "KB_rss/ward")
	b.ReportMetric((beats1-beats0)/wall, "hb/s")
	line := fmt.Sprintf("%d wards, %d viewers: city %.1f %% of one core, RSS %.0f MB (%.1f KB per ward), %.0f heartbeats/s",
		n, viewers, pct, float64(rss)/(1<<20), float64(rss)/1024/float64(n), (beats1-beats0)/wall)
	if external {
		npct := 100 * (natsCPU1 - natsCPU0).Seconds() / wall
		b.ReportMetric(npct, "nats_%cpu")
		b.ReportMetric(float64(natsRSS)/(1<<20), "nats_MB_rss")
		b.ReportMetric(float64(natsRSS)/1024/float64(n), "nats_KB_rss/ward")
		line += fmt.Sprintf("; external nats-server %.1f %% of one core, RSS %.0f MB (%.1f KB per ward)",
			npct, float64(natsRSS)/(1<<20), float64(natsRSS)/1024/float64(n))
	}
	if viewers > 0 {
		b.ReportMetric(float64(ev1-ev0)/wall/float64(viewers), "events/s/viewer")
		b.ReportMetric(float64(by1-by0)/wall/float64(viewers)/1024, "KB/s/viewer")
		perEvent := 0.0
		if ev1 > ev0 {
			perEvent = float64(by1-by0) / float64(ev1-ev0) / 1024
		}
		b.ReportMetric(perEvent, "KB/event")
		line += fmt.Sprintf(", %.2f events/s and %.0f KB/s per viewer (%.1f KB an event)", float64(ev1-ev0)/wall/float64(viewers), float64(by1-by0)/wall/float64(viewers)/1024, perEvent)
		// A ward goes silent: its next heartbeat says so, sent at once.
		fmt.Fprintf(control, "silent phuong-%05d\n", n/2)
		var sent, seen time.Time
		select {
		case sent = <-silentSent:
		case <-time.After(30 * time.Second):
			b.Fatal("the simulated ward did not send its silent heartbeat")
		}
		select {
		case seen = <-silentSeen:
			b.ReportMetric(float64(seen.Sub(sent).Milliseconds()), "ms_silent_to_page")
			line += fmt.Sprintf("; silent heartbeat → board event showing it %d ms", seen.Sub(sent).Milliseconds())
		case <-time.After(60 * time.Second):
			b.Error("no board event showed the silent ward within 60 s")
		}
	}
	b.Log(line)
	stopViewers()
	vwg.Wait()
}

// consoleLogin logs in through the console's log-in form and returns the
// session cookie.
func consoleLogin(b *testing.B, base, user, password string) *http.Cookie {
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.PostForm(base+"/login", url.Values{"user": {user}, "password": {password}, "next": {"/fleet"}})
	if err != nil {
		b.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	for _, ck := range resp.Cookies() {
		if ck.Value != "" {
			return ck
		}
	}
	b.Fatalf("log-in as %s: %s, no session cookie", user, resp.Status)
	return nil
}

// watchFleet holds /fleet/events open, counting its events (the whole
// board first, then the rows that changed) and bytes;
// the one that watches for the silent ward sends the time its first board
// event shows it silent.
func watchFleet(ctx context.Context, b *testing.B, base string, cookie *http.Cookie, watchSilent bool, ready chan struct{},
	events, bytesIn *atomic.Int64, silentSeen chan time.Time) {
	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/fleet/events", nil)
	req.AddCookie(cookie)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		close(ready)
		b.Error(err)
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		close(ready)
		b.Errorf("GET /fleet/events: %s %s", resp.Status, resp.Header.Get("Content-Type"))
		return
	}
	close(ready)
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	silent := []byte(`"slug":"silent"`)
	for sc.Scan() {
		line := sc.Bytes()
		bytesIn.Add(int64(len(line) + 1))
		if bytes.HasPrefix(line, []byte("event: ")) { // the whole board, or the rows that changed
			events.Add(1)
		}
		// The simulated wards are all on air but the one made silent.
		if watchSilent && bytes.HasPrefix(line, []byte("data: ")) && bytes.Contains(line, silent) {
			select {
			case silentSeen <- time.Now():
			default:
			}
			watchSilent = false
		}
	}
}

// cityBin builds loa-city once per run and returns its path;
// LOA_CITY_BIN names one built already (another version, to compare).
func cityBin(tb testing.TB) string {
	tb.Helper()
	if p := os.Getenv("LOA_CITY_BIN"); p != "" {
		return p
	}
	return buildBin(tb, "loa-city", "./cmd/loa-city")
}

// procCPU is a process's user + system time from /proc/PID/stat.
func procCPU(tb testing.TB, pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		tb.Fatal(err)
	}
	// The fields after the command's name (which may hold spaces).
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * time.Second / clockTicks
}

const clockTicks = 100 // sysconf(_SC_CLK_TCK) on Linux

// procRSS is a process's VmRSS in bytes.
func procRSS(tb testing.TB, pid int) uint64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		tb.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseUint(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

// heartbeatsTotal reads loa_fleet_heartbeats_total from the city's
// /metrics (outside the measured window: at 10,000 wards a scrape is
// large).
func heartbeatsTotal(tb testing.TB, base, token string) float64 {
	req, _ := http.NewRequest("GET", base+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "loa_fleet_heartbeats_total "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return 0
}

// TestFleetCityChild is the city of BenchmarkFleetProcess when it profiles
// (LOA_BENCH_PROFILE): loa-city's own Main in this test binary, writing
// its heap and goroutine profiles on SIGUSR1, and its CPU profile from
// SIGUSR2 to SIGUSR1 (LOA_FLEET_PROFILE: the
// files' prefix).
// Without LOA_FLEET_CITY it does nothing.
func TestFleetCityChild(t *testing.T) {
	cfg := os.Getenv("LOA_FLEET_CITY")
	if cfg == "" {
		t.Skip("the city of BenchmarkFleetProcess when it profiles")
	}
	prefix := os.Getenv("LOA_FLEET_PROFILE")
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	usr1, usr2 := make(chan os.Signal, 1), make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)
	signal.Notify(usr2, syscall.SIGUSR2)
	var cpu *os.File
	go func() {
		for range usr2 {
			if cpu, _ = os.Create(prefix + "cpu.pb.gz"); cpu != nil {
				pprof.StartCPUProfile(cpu)
			}
		}
	}()
	go func() {
		for range usr1 {
			if cpu != nil {
				pprof.StopCPUProfile()
				cpu.Close()
			}
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			os.WriteFile(prefix+"memstats.txt", fmt.Appendf(nil, "HeapInuse %d\nHeapIdle %d\nHeapReleased %d\nStackInuse %d\nSys %d\nNumGoroutine %d\nNextGC %d\n",
				ms.HeapInuse, ms.HeapIdle, ms.HeapReleased, ms.StackInuse, ms.Sys, runtime.NumGoroutine(), ms.NextGC), 0o644)
			for _, kind := range []string{"heap", "goroutine"} {
				path := prefix + kind + ".pb.gz"
				if kind == "heap" {
					runtime.GC()
				}
				if f, err := os.Create(path); err == nil {
					pprof.Lookup(kind).WriteTo(f, 0)
					f.Close()
				}
			}
			os.WriteFile(prefix+"done", nil, 0o644)
		}
	}()
	if code := city.Main(ctx, []string{"run", "--config", cfg}, os.Stdout, os.Stderr); code != 0 {
		t.Fatalf("loa-city run: exit %d", code)
	}
}
