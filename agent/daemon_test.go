package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"loa/city/citytest"
	"loa/internal/testdb"
	"loa/internal/testwait"
	"loa/signing"
	"loa/sqlite"
)

// shiftedClock is the real clock moved by an offset that a test can change
// while the daemon runs: a wall clock that jumps, as an NTP step at boot
// does. Pacing of the output stays on the real monotonic clock.
type shiftedClock struct {
	offset atomic.Int64
	held   atomic.Pointer[time.Time] // see holdAt
}

func (c *shiftedClock) Now() time.Time {
	if h := c.held.Load(); h != nil {
		return *h
	}
	return time.Now().Add(time.Duration(c.offset.Load()))
}

// setTo moves the clock so that it reads t now.
func (c *shiftedClock) setTo(t time.Time) { c.offset.Store(int64(time.Until(t))) }

// holdAt stops the clock at t until startDaemon starts the daemon, when it
// runs on from t. The seconds a test leaves before its program are then
// the daemon's own: writing media and loading programs under the race
// detector on a loaded machine took five of them once, and the program
// had begun before the daemon ran.
func (c *shiftedClock) holdAt(t time.Time) { c.held.Store(&t) }

// release lets a held clock run on from where it stands.
func (c *shiftedClock) release() {
	if h := c.held.Load(); h != nil {
		c.setTo(*h)
		c.held.Store(nil)
	}
}

func (c *shiftedClock) jump(d time.Duration) { c.offset.Add(int64(d)) }

type testDaemon struct {
	t     *testing.T
	d     *Daemon
	addr  string
	data  string
	clock *shiftedClock
	stop  func() error
}

// startDaemon runs the real daemon in-process on a null output, with real
// SQLite and HTTP on loopback; only the wall clock is injected.
func startDaemon(t *testing.T, data string, clock *shiftedClock, edit func(*Config), opts ...func(*Daemon)) *testDaemon {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Data = data
	cfg.Clock = "trust"
	cfg.HTTP.Listen = "127.0.0.1:0"
	cfg.Audio.Output = "null"
	cfg.Audio.Buffer = Duration(100 * time.Millisecond)
	if edit != nil {
		edit(&cfg)
	}
	ready := make(chan string, 1)
	d := &Daemon{Cfg: cfg, Now: clock.Now, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Ready: func(a string) { ready <- a }}
	if testing.Verbose() {
		d.Log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	for _, o := range opts {
		o(d)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	clock.release()
	go func() { done <- d.Run(ctx) }()
	td := &testDaemon{t: t, d: d, data: data, clock: clock}
	select {
	case td.addr = <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("daemon did not start: %v", err)
	case <-time.After(10 * time.Second):
		cancel()
		t.Fatal("daemon did not start in 10 s")
	}
	var stopped bool
	td.stop = func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		return <-done
	}
	t.Cleanup(func() { td.stop() })
	return td
}

// control sends a live request to the daemon's control listener, as
// `loa-agent live` does (with the token).
func (td *testDaemon) control(method string, body []byte) (*http.Response, error) {
	td.t.Helper()
	cc, err := newControlClient(td.d.Cfg)
	if err != nil {
		return nil, err
	}
	resp, err := cc.do(context.Background(), method, "/api/v1/live", body)
	if err == nil {
		resp.Body.Close()
	}
	return resp, err
}

func (td *testDaemon) get(path string) (int, string) {
	td.t.Helper()
	resp, err := http.Get("http://" + td.addr + path)
	if err != nil {
		td.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (td *testDaemon) status() StatusReport {
	td.t.Helper()
	_, body := td.get("/api/v1/status")
	var r StatusReport
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		td.t.Fatalf("status: %v\n%s", err, body)
	}
	return r
}

// asrun reads the as-run log from the database, as another process would.
func asrunRows(t *testing.T, data string) []sqlite.AsRunEntry {
	t.Helper()
	rows, err := testdb.Agent(t, filepath.Join(data, "loa.db")).AsRun(context.Background(), time.Time{}, time.Now().Add(1000*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func waitFor(t *testing.T, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	testwait.For(t, what, limit, cond)
}

var ict = time.FixedZone("ICT", 7*3600)

func loadProgram(t *testing.T, data, dir, body string, now time.Time) {
	t.Helper()
	path := filepath.Join(dir, fmt.Sprintf("p-%d.yaml", time.Now().UnixNano()))
	writeFile(t, path, body)
	if code, _, stderr := runCLI(t, now, "program", "load", path, "--data", data); code != 0 {
		t.Fatalf("program load: %s", stderr)
	}
}

// The daemon notices its wall clock stepping and tells the player: a
// program on air when the clock steps back plays on to its end, logged as
// such (without the notice the player would cut it, the clock no longer
// saying it is on air). What the player does with a jump either way, to
// the sample, is proved in package player
// (TestClockJumpsNeitherMissNorDouble, which was a real-time test here).
func TestDaemonTellsThePlayerOfClockJumps(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	writeTone(t, filepath.Join(dir, "media/a.wav"), 44100, 440, 0.5, 6)
	clock := &shiftedClock{}
	clock.holdAt(time.Date(2026, 11, 26, 5, 59, 58, 0, ict))
	loadProgram(t, data, dir, "programs:\n  - id: a\n    cron: \"0 6 * * *\"\n    items: [media/a.wav]\n", clock.Now())
	td := startDaemon(t, data, clock, nil)

	waitFor(t, "a on air", 10*time.Second, func() bool { p := td.status().Program; return p != nil && p.ID == "a" })
	clock.jump(-10 * time.Second)
	waitFor(t, "a logged", 20*time.Second, func() bool { return len(asrunRows(t, data)) > 0 })
	rows := asrunRows(t, data)
	for _, r := range rows {
		t.Logf("as-run %s part %d %s planned %s actual %s note %q", r.Program, r.Part, r.Result, r.Planned.In(ict).Format("15:04:05.000"), r.Actual.In(ict).Format("15:04:05.000"), r.Note)
	}
	if len(rows) != 1 || rows[0].Program != "a" || rows[0].Result != "completed" || rows[0].Actual.IsZero() ||
		!strings.Contains(rows[0].Note, "the clock moved back 10s while on air: played to its end") {
		t.Fatalf("as-run %+v, want a completed, played to its end after the clock moved back 10s", rows)
	}
}

// A program loaded while the daemon runs takes effect within a second; a
// reload that keeps the program on air does not cut it.
func TestDaemonTakesProgramLoadsWithoutCutting(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	writeTone(t, filepath.Join(dir, "media/long.wav"), 44100, 440, 0.5, 8)
	writeTone(t, filepath.Join(dir, "media/short.wav"), 44100, 660, 0.5, 1)
	clock := &shiftedClock{}
	clock.setTo(time.Date(2026, 11, 26, 6, 59, 55, 0, ict))
	td := startDaemon(t, data, clock, nil)
	if s := td.status(); s.Program != nil || len(s.Next) != 0 {
		t.Fatalf("status before any program: %+v", s)
	}
	// Loaded 5 s before its start: on air at 07:00:00.
	loadProgram(t, data, dir, "programs:\n  - id: long\n    cron: \"0 7 * * *\"\n    items: [media/long.wav]\n", clock.Now())
	loadedAt := time.Now()
	waitFor(t, "the new program in the status", time.Second, func() bool { return len(td.status().Next) > 0 })
	t.Logf("program visible %s after the load", time.Since(loadedAt).Round(time.Millisecond))
	waitFor(t, "long on air", 8*time.Second, func() bool { p := td.status().Program; return p != nil && p.ID == "long" })
	// Reload with the same program and another one later: long plays on.
	loadProgram(t, data, dir, "programs:\n  - id: long\n    cron: \"0 7 * * *\"\n    items: [media/long.wav]\n  - id: later\n    cron: \"0 8 * * *\"\n    items: [media/short.wav]\n", clock.Now())
	waitFor(t, "long to finish", 10*time.Second, func() bool { return len(asrunRows(t, data)) > 0 })
	rows := asrunRows(t, data)
	if len(rows) != 1 || rows[0].Program != "long" || rows[0].Result != "completed" {
		t.Fatalf("as-run %+v: the reload cut the program on air", rows)
	}
}

// Health: 200 when idle on a trusted clock; 503 with the reason when the
// clock is not trusted, or when a program on air is silent.
func TestDaemonHealthReportsSilenceAndClock(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	writeTone(t, filepath.Join(dir, "media/silence.wav"), 44100, 0, 0, 6)
	clock := &shiftedClock{}
	clock.holdAt(time.Date(2026, 11, 26, 7, 59, 58, 0, ict))
	loadProgram(t, data, dir, "programs:\n  - id: hush\n    cron: \"0 8 * * *\"\n    items: [media/silence.wav]\n", clock.Now())
	td := startDaemon(t, data, clock, func(c *Config) { c.Silence.After = Duration(2 * time.Second) })
	if code, body := td.get("/healthz"); code != 200 {
		t.Fatalf("idle: healthz %d %s", code, body)
	}
	waitFor(t, "silence reported", 8*time.Second, func() bool {
		code, body := td.get("/healthz")
		return code == 503 && strings.Contains(body, "silent on air")
	})
	_, metrics := td.get("/metrics")
	for _, m := range []string{"loa_silence_seconds_total", "loa_output_level_dbfs", "loa_items_total", "loa_device_errors_total 0",
		"loa_clock_synced 1", "loa_schedule_occurrences_today 1", "loa_start_error_seconds_bucket"} {
		if !strings.Contains(metrics, m) {
			t.Errorf("/metrics lacks %q", m)
		}
	}
	waitFor(t, "the silent item logged", 8*time.Second, func() bool { return len(asrunRows(t, data)) == 1 })
	if r := asrunRows(t, data)[0]; !strings.Contains(r.Note, "silent on air") {
		t.Fatalf("as-run note %q does not report the silence", r.Note)
	}
	waitFor(t, "healthy after the silent program", 3*time.Second, func() bool { code, _ := td.get("/healthz"); return code == 200 })
	td.stop()

}

// On a clock that is not trusted nothing scheduled plays, and health says
// why.
func TestDaemonWaitsForATrustedClock(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	writeTone(t, filepath.Join(dir, "media/a.wav"), 44100, 440, 0.5, 1)
	clock := &shiftedClock{}
	clock.holdAt(time.Date(2026, 11, 26, 9, 59, 58, 0, ict))
	loadProgram(t, data, dir, "programs:\n  - id: a\n    cron: \"0 10 * * *\"\n    items: [media/a.wav]\n", clock.Now())
	var trusted atomic.Bool
	td := startDaemon(t, data, clock, nil, func(d *Daemon) {
		d.Clock = func() ClockState {
			if trusted.Load() {
				return ClockState{Trusted: true, Source: "ntp"}
			}
			return ClockState{Source: "none", Detail: "the kernel clock is not synchronised by NTP"}
		}
	})
	waitFor(t, "clock reported untrusted", 3*time.Second, func() bool {
		code, body := td.get("/healthz")
		return code == 503 && strings.Contains(body, "clock not trusted")
	})
	// Until the player has stepped past 10:00:00 and a's end, nothing is
	// ever on air.
	waitFor(t, "the player past 10:00:02", 10*time.Second, func() bool {
		if s := td.status(); s.Program != nil {
			t.Fatalf("playing on an untrusted clock: %+v", s.Program)
		}
		return td.d.pl.Status().At.After(time.Date(2026, 11, 26, 10, 0, 2, 0, ict))
	})
	if s := td.status(); s.Program != nil {
		t.Fatalf("playing on an untrusted clock: %+v", s.Program)
	}
	if rows := asrunRows(t, data); len(rows) != 0 {
		t.Fatalf("as-run on an untrusted clock: %+v", rows)
	}
	if _, m := td.get("/metrics"); !strings.Contains(m, "loa_clock_synced 0") {
		t.Fatal("loa_clock_synced is not 0")
	}
	trusted.Store(true)
	waitFor(t, "healthy once the clock is trusted", 3*time.Second, func() bool { code, _ := td.get("/healthz"); return code == 200 })
}

// The amplifier is switched on a pre-roll before the program and off a
// while after its last sound, by the configured commands.
func TestDaemonAmplifierCommands(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	log := filepath.Join(dir, "amp.log")
	writeTone(t, filepath.Join(dir, "media/a.wav"), 44100, 440, 0.5, 2)
	clock := &shiftedClock{}
	clock.holdAt(time.Date(2026, 11, 26, 8, 59, 55, 0, ict))
	loadProgram(t, data, dir, "programs:\n  - id: a\n    cron: \"0 9 * * *\"\n    items: [media/a.wav]\n", clock.Now())
	stamp := func(word string) string {
		return fmt.Sprintf("echo %s $(date +%%s.%%N) >> %s", word, log)
	}
	startDaemon(t, data, clock, func(c *Config) {
		c.Amplifier = AmplifierConfig{On: stamp("on"), Off: stamp("off"), PreRoll: Duration(2 * time.Second), OffDelay: Duration(2 * time.Second)}
	})
	start := time.Now().Add(time.Until(time.Date(2026, 11, 26, 9, 0, 0, 0, ict).Add(-time.Duration(clock.offset.Load()))))
	waitFor(t, "amplifier switched off after the program", 15*time.Second, func() bool {
		b, _ := os.ReadFile(log)
		return strings.Count(string(b), "off ") >= 2
	})
	b, _ := os.ReadFile(log)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	// off at start (nothing due), on before the program, off after it.
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "off ") || !strings.HasPrefix(lines[1], "on ") || !strings.HasPrefix(lines[2], "off ") {
		t.Fatalf("amplifier log:\n%s", b)
	}
	var on, off float64
	fmt.Sscanf(lines[1], "on %f", &on)
	fmt.Sscanf(lines[2], "off %f", &off)
	onAt := time.Unix(0, int64(on*1e9))
	offAt := time.Unix(0, int64(off*1e9))
	if lead := start.Sub(onAt); lead < 1500*time.Millisecond || lead > 2500*time.Millisecond {
		t.Errorf("amplifier on %s before the program, want the 2 s pre-roll", lead)
	}
	if after := offAt.Sub(start.Add(2 * time.Second)); after < 1500*time.Millisecond || after > 3*time.Second {
		t.Errorf("amplifier off %s after the last sound, want the 2 s delay", after)
	}
}

// On equal priority the city's program wins over the ward's own; the
// ward's is reported displaced in the status and the as-run log.
func TestDaemonCityProgramDisplacesLocal(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	writeTone(t, filepath.Join(dir, "media/local.wav"), 44100, 440, 0.5, 2)
	writeTone(t, filepath.Join(dir, "media/city.wav"), 44100, 660, 0.5, 2)
	clock := &shiftedClock{}
	clock.holdAt(time.Date(2026, 11, 26, 10, 59, 57, 0, ict))
	loadProgram(t, data, dir, "programs:\n  - id: city-news\n    cron: \"0 11 * * *\"\n    items: [media/city.wav]\n", clock.Now())
	// Make that load the city's programs, as the sync would have.
	st, err := OpenStation(ctx, data, 44100, clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	srcs, _ := st.DB.ProgramSources(ctx)
	src := srcs[0]
	src.Name, src.Version = SourceCity, "7"
	if err := st.DB.ReplaceProgramSource(ctx, src, nil); err != nil {
		t.Fatal(err)
	}
	st.Close()
	loadProgram(t, data, dir, "programs:\n  - id: local-news\n    cron: \"0 11 * * *\"\n    items: [media/local.wav]\n", clock.Now())
	td := startDaemon(t, data, clock, nil)
	if s := td.status(); len(s.Displaced) != 1 || s.Displaced[0].ID != "local-news" {
		t.Fatalf("displaced today: %+v", s.Displaced)
	}
	waitFor(t, "the city program played", 10*time.Second, func() bool { return len(asrunRows(t, data)) >= 2 })
	rows := asrunRows(t, data)
	got := map[string]string{}
	for _, r := range rows {
		got[r.Program] = r.Result + " " + r.Source + " " + r.Note
	}
	if got["city-news"] != "completed city " || got["local-news"] != `displaced local displaced by "city-news" (city)` {
		t.Fatalf("as-run: %q", got)
	}
}

// With no NTP on the machine, the city's clock is the reference: the
// station measures its offset and schedules on the city's time.
func TestDaemonRunsOnTheCityClockWithoutNTP(t *testing.T) {
	t.Parallel()
	c := citytest.New(t)
	cityAhead := 42 * time.Second
	c.City.Now = func() time.Time { return time.Now().Add(cityAhead) }
	token := c.AddWard(t, "phuong-9")
	dir := t.TempDir()
	clock := &shiftedClock{} // this machine's clock: real time
	td := startDaemon(t, filepath.Join(dir, "data"), clock, func(cfg *Config) {
		cfg.Clock = "auto"
		cfg.Ward = "phuong-9"
		cfg.City = CityConfig{URL: c.URL, Token: token, PublicKey: signing.PublicKeyText(c.City.PublicKey()), Poll: Duration(time.Minute)}
	}, func(d *Daemon) {
		d.Clock = func() ClockState {
			return ClockState{Source: "none", Detail: "the kernel clock is not synchronised by NTP"}
		}
	})
	var s StatusReport
	waitFor(t, "the city's clock", 20*time.Second, func() bool { s = td.status(); return s.Clock.Source == "city" })
	if !s.Clock.Trusted || (s.Clock.Offset-cityAhead).Abs() > 200*time.Millisecond {
		t.Fatalf("clock %+v, want trusted, offset %s", s.Clock, cityAhead)
	}
	if d := time.Until(s.Now) - cityAhead; d.Abs() > time.Second {
		t.Fatalf("the station's time is %s off the city's", d)
	}
	if code, body := td.get("/healthz"); code != 200 {
		t.Fatalf("healthz on the city's clock: %d %s", code, body)
	}
}
