package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"loa/audio"
	"loa/internal/testaudio"
	"loa/internal/testdb"
	"loa/internal/testwait"
	"loa/sqlite"
)

var ict, _ = time.LoadLocation("Asia/Ho_Chi_Minh")

func freePort(t *testing.T) string {
	t.Helper()
	addr, err := newPort()
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

// handedOut is every port freePort gave in this test binary: the tests run
// in parallel, and a port closed until its binary binds it is free again
// for the kernel to give to the next test that asks.
var handedOut = struct {
	sync.Mutex
	ports map[string]bool
}{ports: map[string]bool{}}

// newPort is a free loopback port not given before in this test binary.
func newPort() (string, error) {
	handedOut.Lock()
	defer handedOut.Unlock()
	for {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return "", err
		}
		addr := l.Addr().String()
		l.Close()
		if !handedOut.ports[addr] {
			handedOut.ports[addr] = true
			return addr, nil
		}
	}
}

func tone(t *testing.T, path string, freq, secs float64) {
	t.Helper()
	os.MkdirAll(filepath.Dir(path), 0o755)
	w, err := audio.CreateWAV(path, 44100, 1)
	if err != nil {
		t.Fatal(err)
	}
	n := int(secs * 44100)
	buf := make([][2]float64, n)
	for i := range buf {
		v := 0.5 * math.Sin(2*math.Pi*freq*float64(i)/44100)
		buf[i] = [2]float64{v, v}
	}
	w.Write(buf)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// nextMinute is the next whole minute at least `lead` away.
func nextMinute(lead time.Duration) time.Time {
	now := time.Now().In(ict)
	m := now.Truncate(time.Minute).Add(time.Minute)
	if m.Sub(now) < lead {
		m = m.Add(time.Minute)
	}
	return m
}

// shiftedMinute is a whole minute `lead` from now on a station clock that
// runs `offset` ahead of the system clock (loa-agent run --clock-offset):
// programs have minute resolution, and a test that runs its agent on the
// shifted clock has its program start after `lead`, not at the next whole
// minute of the system clock. A program at `start` starts on the station
// at start.Add(-offset) by the system clock, which is what a test measures
// against.
func shiftedMinute(lead time.Duration) (start time.Time, offset time.Duration) {
	at := time.Now().In(ict).Add(lead)
	start = at.Truncate(time.Minute).Add(time.Minute)
	return start, start.Sub(at)
}

// startedMinute is the system clock's current whole minute, already
// begun, and the offset (negative) of a station clock that reaches it
// `lead` from now: a program at `start` is due at the city at once and
// starts on that station at start.Add(-offset) by the system clock.
func startedMinute(lead time.Duration) (start time.Time, offset time.Duration) {
	now := time.Now().In(ict)
	start = now.Truncate(time.Minute)
	return start, start.Sub(now.Add(lead))
}

// clockOffset is the run flag that puts an agent on a shifted clock.
func clockOffset(offset time.Duration) string { return "--clock-offset=" + offset.String() }

type agentProc struct {
	t      *testing.T
	cmd    *exec.Cmd
	addr   string
	config string
	data   string
	log    *os.File
	done   chan struct{} // closed when the process has exited
	err    error         // its exit, once done is closed
}

// wait waits for the process to exit and returns how it did.
func (a *agentProc) wait() error {
	<-a.done
	return a.err
}

// writeAgentConfig writes a configuration for a test agent.
func writeAgentConfig(t *testing.T, dir, data, addr, output string, extra string) string {
	t.Helper()
	cfg := fmt.Sprintf("data: %s\nclock: trust\nhttp:\n  listen: %s\naudio:\n  output: %s\n  buffer: 150ms\n  device_hold: 4s\nlog:\n  format: json\n  level: debug\n%s", data, addr, output, extra)
	path := filepath.Join(dir, "agent.conf")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// startAgent starts `loa-agent run` with a configuration, an environment
// added to the test's and more flags of run (clockOffset).
func startAgent(t *testing.T, config, addr, data string, env []string, flags ...string) *agentProc {
	t.Helper()
	a := &agentProc{t: t, addr: addr, config: config, data: data, done: make(chan struct{})}
	a.cmd = exec.Command(filepath.Join(bin, "loa-agent"), append([]string{"run", "--config", config}, flags...)...)
	a.cmd.Env = append(os.Environ(), env...)
	var err error
	a.log, err = os.CreateTemp(t.TempDir(), "agent-*.log")
	if err != nil {
		t.Fatal(err)
	}
	a.cmd.Stdout, a.cmd.Stderr = a.log, a.log
	if err := a.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { a.err = a.cmd.Wait(); close(a.done) }()
	t.Cleanup(func() {
		a.cmd.Process.Kill()
		a.wait()
		if t.Failed() {
			b, _ := os.ReadFile(a.log.Name())
			t.Logf("agent log:\n%s", tail(string(b), 60))
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if code, _ := a.get("/api/v1/status"); code == 200 {
			return a
		}
		select {
		case <-a.done:
			b, _ := os.ReadFile(a.log.Name())
			t.Fatalf("agent exited at start: %v\n%s", a.err, b)
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatal("agent did not answer in 15 s")
	return nil
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func (a *agentProc) get(path string) (int, string) {
	c := http.Client{Timeout: 3 * time.Second}
	resp, err := c.Get("http://" + a.addr + path)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

type status struct {
	Healthy  bool     `json:"healthy"`
	Problems []string `json:"problems"`
	Program  *struct {
		ID       string  `json:"id"`
		Item     string  `json:"item"`
		OffsetNS float64 `json:"offset_ns"`
	} `json:"now_playing"`
	Device struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	} `json:"device"`
}

func (a *agentProc) status() status {
	a.t.Helper()
	code, body := a.get("/api/v1/status")
	var s status
	if code != 200 || json.Unmarshal([]byte(body), &s) != nil {
		a.t.Fatalf("status: %d %s", code, body)
	}
	return s
}

func loadProgram(t *testing.T, data, path string) {
	t.Helper()
	out, err := exec.Command(filepath.Join(bin, "loa-agent"), "program", "load", path, "--data", data).CombinedOutput()
	if err != nil {
		t.Fatalf("program load: %v\n%s", err, out)
	}
}

func asrun(t *testing.T, data string) []sqlite.AsRunEntry {
	t.Helper()
	// testdb checks the database's integrity at the end of the test.
	rows, err := testdb.Agent(t, filepath.Join(data, "loa.db")).AsRun(context.Background(), time.Time{}, time.Now().Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// airFrames is how many frames the agent's output has taken: its sample
// clock, from its status.
func (a *agentProc) airFrames() int64 {
	a.t.Helper()
	_, body := a.get("/api/v1/status")
	var s struct {
		Device struct {
			Frames int64 `json:"frames"`
		} `json:"device"`
	}
	json.Unmarshal([]byte(body), &s)
	return s.Device.Frames
}

// agentRate is the agents' output rate (audio.rate's default).
const agentRate = 44100

// waitOnAir waits until every agent's output has played d more audio, by
// its sample clock: the stretch of output a test then analyses is counted
// in frames played, not slept for, so a slow machine only takes longer.
func waitOnAir(t *testing.T, d time.Duration, agents ...*agentProc) {
	t.Helper()
	want := int64(d.Seconds() * agentRate)
	from := make([]int64, len(agents))
	for i, a := range agents {
		from[i] = a.airFrames()
	}
	for i, a := range agents {
		waitUntil(t, fmt.Sprintf("%s more on air", d), d+30*time.Second, func() bool { return a.airFrames()-from[i] >= want })
	}
}

// waitProgramAt waits until the agent reports its program on air at least
// offset into it, and returns that status.
func (a *agentProc) waitProgramAt(id string, offset, limit time.Duration) status {
	a.t.Helper()
	var s status
	waitUntil(a.t, fmt.Sprintf("%s on air %s in", id, offset), limit, func() bool {
		s = a.status()
		return s.Program != nil && s.Program.ID == id && s.Program.OffsetNS >= float64(offset)
	})
	return s
}

// The real daemon on the real oto → ALSA → PulseAudio path starts a program
// on time: its first sample leaves the (paced) device at the scheduled
// instant.
func TestAgentStartsOnTimeThroughPulseAudio(t *testing.T) {
	// Not parallel: it measures the start to ±100 ms at a real sound
	// server, and runs alone before the parallel tests (as the NATS flood
	// test does), so that their load is not what it measures.
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	tone(t, filepath.Join(dir, "media/tone.wav"), 1000, 4)
	// The program's minute on the agent's clock comes 12 s from now: at
	// onAir by the system clock, which the sound server's time stamps
	// and the wall clock below are read on.
	start, offset := shiftedMinute(12 * time.Second)
	onAir := start.Add(-offset)
	prog := filepath.Join(dir, "p.yaml")
	os.WriteFile(prog, []byte(fmt.Sprintf("programs:\n  - id: dung-gio\n    date: %s\n    at: \"%s\"\n    items: [media/tone.wav]\n",
		start.Format("2006-01-02"), start.Format("15:04"))), 0o644)
	loadProgram(t, data, prog)

	pa := testaudio.StartPulse(t)
	rec := pa.Record(t)
	addr := freePort(t)
	a := startAgent(t, writeAgentConfig(t, dir, data, addr, "alsa", ""), addr, data, pa.Env(), clockOffset(offset))
	if code, body := a.get("/healthz"); code != 200 {
		t.Fatalf("healthz before the program: %d %s", code, body)
	}
	// 2 s into the program by the agent's own report, which the wall
	// clock at the moment of the report must agree with.
	s := a.waitProgramAt("dung-gio", 2*time.Second, time.Until(onAir)+20*time.Second)
	if now := time.Since(onAir).Seconds(); math.Abs(s.Program.OffsetNS/1e9-now) > 0.3 {
		t.Fatalf("status %.2f s into the program: %+v", now, s.Program)
	}
	if code, body := a.get("/healthz"); code != 200 {
		t.Fatalf("healthz while playing: %d %s", code, body)
	}
	waitUntil(t, "the tone logged", time.Until(onAir)+20*time.Second, func() bool { return len(asrun(t, data)) > 0 })

	onset, ok := rec.Onset(onAir.Add(-3*time.Second), 0.01)
	if !ok {
		t.Fatal("the tone never reached the sound device")
	}
	errStart := onset.Sub(onAir)
	t.Logf("measured start error at the device: %+.1f ms (PulseAudio null sink monitor)", float64(errStart.Microseconds())/1000)
	if errStart.Abs() > 100*time.Millisecond {
		t.Errorf("started %s off the scheduled instant", errStart)
	}
	rows := asrun(t, data)
	if len(rows) != 1 || rows[0].Result != "completed" || !rows[0].Planned.Equal(start) {
		t.Fatalf("as-run %+v", rows)
	}
	t.Logf("as-run: planned %s, actual %s (the agent's own estimate)", rows[0].Planned.Format("15:04:05.000"), rows[0].Actual.In(ict).Format("15:04:05.000"))
	_, metrics := a.get("/metrics")
	if !strings.Contains(metrics, "loa_start_error_seconds_count 1") || !strings.Contains(metrics, `loa_items_total{result="completed"} 1`) {
		t.Fatalf("metrics do not show the start:\n%s", grep(metrics, "loa_"))
	}
}

func grep(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// Killed with SIGKILL in the middle of an item, the agent restarted joins
// the program where the wall clock says, within 3 s, and its database is
// intact.
func TestAgentKill9JoinsAtTheRightOffset(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	tone(t, filepath.Join(dir, "media/long.wav"), 440, 30)
	start, offset := shiftedMinute(8 * time.Second) // the agent's clock
	onAir := start.Add(-offset)                     // the system clock
	prog := filepath.Join(dir, "p.yaml")
	os.WriteFile(prog, []byte(fmt.Sprintf("programs:\n  - id: dai\n    date: %s\n    at: \"%s\"\n    items: [media/long.wav]\n",
		start.Format("2006-01-02"), start.Format("15:04"))), 0o644)
	loadProgram(t, data, prog)
	addr := freePort(t)
	config := writeAgentConfig(t, dir, data, addr, "null", "")
	a := startAgent(t, config, addr, data, nil, clockOffset(offset))
	a.waitProgramAt("dai", 6*time.Second, time.Until(onAir)+30*time.Second) // on air before the kill
	a.cmd.Process.Signal(syscall.SIGKILL)
	a.wait()
	// The station stays down 2 s: the scenario (the program runs on
	// without it), not a wait for anything.
	time.Sleep(2 * time.Second)

	restarted := time.Now()
	b := startAgent(t, config, addr, data, nil, clockOffset(offset))
	var joined time.Duration
	testwait.Poll(3*time.Second, func() bool {
		s := b.status()
		if s.Program == nil || s.Program.ID != "dai" {
			return false
		}
		joined = time.Since(restarted)
		want := time.Since(onAir).Seconds()
		if got := s.Program.OffsetNS / 1e9; math.Abs(got-want) > 0.5 {
			t.Fatalf("joined at offset %.2f s, the wall clock says %.2f s", got, want)
		}
		return true
	})
	if joined == 0 {
		t.Fatal("not back on air within 3 s of the restart")
	}
	t.Logf("back on air %s after the restart", joined.Round(time.Millisecond))
	b.cmd.Process.Signal(syscall.SIGTERM)
	if err := b.wait(); err != nil {
		t.Fatalf("agent stopped with %v after SIGTERM, want a clean exit", err)
	}
	rows := asrun(t, data) // PRAGMA integrity_check runs when the test ends (testdb)
	// One row: the item joined after the restart, logged when the agent
	// stopped. (The kill -9 left no row: it happened before the item ended.)
	if len(rows) != 1 || !strings.Contains(rows[0].Note, "joined at 00:0") || !strings.Contains(rows[0].Note, "agent stopped") {
		t.Fatalf("as-run after the restart: %+v", rows)
	}
}

// An ALSA configuration pointing at a device that does not exist: health
// says so, the metric counts it, the journal gets no ALSA or JACK noise
// (oto, left to itself, tried every PCM alsa-lib knows — jack included,
// whose library prints five lines at every start), and the daemon stays up
// reporting the device error instead of exiting into a restart loop. Once
// the device is there, the same process (same id for systemd) starts over
// and plays through it.
func TestAgentDeviceFailure(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat("/usr/share/alsa/alsa.conf"); err != nil {
		t.Skip("ALSA is not installed")
	}
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	alsa := filepath.Join(dir, "asound.conf")
	os.WriteFile(alsa, []byte("</usr/share/alsa/alsa.conf>\npcm.!default {\n type hw\n card 9\n}\n"), 0o644)
	addr := freePort(t)
	a := startAgent(t, writeAgentConfig(t, dir, data, addr, "alsa", ""), addr, data, []string{"ALSA_CONFIG_PATH=" + alsa})
	code, body := a.get("/healthz")
	if code != 503 || !strings.Contains(body, "Lỗi thiết bị âm thanh / audio device error") {
		t.Fatalf("healthz with a missing device: %d %s", code, body)
	}
	if _, m := a.get("/metrics"); !strings.Contains(m, "loa_device_errors_total 1") {
		t.Fatalf("device error not counted:\n%s", grep(m, "loa_device"))
	}
	// The third probe comes at least 7 s after the start (1, 2, 4 s of
	// backoff at the least), past the 4 s hold of the configuration: a
	// daemon that still exited after its hold would be gone.
	logText := func() string { b, _ := os.ReadFile(a.log.Name()); return string(b) }
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(logText(), `"attempt":3`) {
		select {
		case <-a.done:
			t.Fatalf("exited with %v while waiting for its sound card: want it up, reporting the error", a.err)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("no third probe of the sound card within 30 s")
		}
	}
	if code, body := a.get("/api/v1/status"); code != 200 || !strings.Contains(body, "audio device error") {
		t.Fatalf("status while waiting: %d %s", code, body)
	}
	log := logText()
	for _, noise := range []string{"ALSA lib", "jack", "JACK", "Cannot connect to server"} {
		if strings.Contains(log, noise) {
			t.Errorf("the journal got %q:\n%s", noise, grep(log, noise))
		}
	}
	if n := strings.Count(log, "audio device not available"); n != 1 {
		t.Errorf("the missing device was logged %d times, want once:\n%s", n, grep(log, "audio device"))
	}

	// The device appears (a USB card plugged in): the agent opens it
	// within a minute, in the same process.
	pid := a.cmd.Process.Pid
	os.WriteFile(alsa, []byte("</usr/share/alsa/alsa.conf>\npcm.!default {\n type file\n slave.pcm \"null\"\n file \"/dev/null\"\n format \"raw\"\n}\n"), 0o644)
	deadline = time.Now().Add(90 * time.Second)
	for {
		if code, body := a.get("/api/v1/status"); code == 200 && strings.Contains(body, `"output": "alsa"`) && strings.Contains(body, `"ok": true`) {
			break
		}
		select {
		case <-a.done:
			t.Fatalf("exited with %v once the device appeared: want the same process to open it", a.err)
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("the device that appeared was not opened within 90 s")
		}
	}
	if a.cmd.Process.Pid != pid || !strings.Contains(logText(), "audio device found") {
		t.Errorf("pid %d → %d; log:\n%s", pid, a.cmd.Process.Pid, grep(logText(), "audio device"))
	}
	if code, _ := a.get("/healthz"); code != 200 {
		t.Errorf("healthz with the device there: %d", code)
	}
	a.cmd.Process.Signal(syscall.SIGTERM)
	if err := a.wait(); err != nil {
		t.Errorf("exit on SIGTERM after the restart: %v", err)
	}
}

func asExit(err error, ee **exec.ExitError) bool {
	e, ok := err.(*exec.ExitError)
	*ee = e
	return ok
}
