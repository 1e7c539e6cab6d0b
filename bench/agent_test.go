package bench

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"loa/audio"
	"loa/internal/testaudio"
	"loa/sqlite"
)

func freeAddr(t testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func writeTone(t testing.TB, path string, freq, secs float64) {
	t.Helper()
	w, err := audio.CreateWAV(path, 44100, 1)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([][2]float64, int(secs*44100))
	for i := range buf {
		v := 0.5 * math.Sin(2*math.Pi*freq*float64(i)/44100)
		buf[i] = [2]float64{v, v}
	}
	w.Write(buf)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

type daemon struct {
	cmd  *exec.Cmd
	addr string
}

func startDaemon(t *testing.T, agent, dir, data, output string, env []string) *daemon {
	t.Helper()
	addr := freeAddr(t)
	cfg := filepath.Join(dir, "agent.conf")
	os.WriteFile(cfg, []byte(fmt.Sprintf("data: %s\nclock: trust\nhttp:\n  listen: %s\naudio:\n  output: %s\n  buffer: 150ms\nlog:\n  level: warn\n", data, addr, output)), 0o600)
	d := &daemon{cmd: exec.Command(agent, "run", "--config", cfg), addr: addr}
	d.cmd.Env = append(os.Environ(), env...)
	logf, _ := os.Create(filepath.Join(dir, "agent.log"))
	d.cmd.Stdout, d.cmd.Stderr = logf, logf
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.cmd.Process.Kill(); d.cmd.Wait() })
	for i := 0; i < 200; i++ {
		if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
			resp.Body.Close()
			return d
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("agent did not start")
	return nil
}

// procSample is what /proc says about a process at one instant.
type procSample struct {
	at         time.Time
	cpu        time.Duration // user + system
	rss        int64         // bytes
	writeBytes int64         // bytes the process caused to be written to storage
}

func sampleProc(t testing.TB, pid int) procSample {
	t.Helper()
	s := procSample{at: time.Now()}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	// Fields after the command name (which may contain spaces).
	f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+2:]))
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	rssPages, _ := strconv.ParseInt(f[21], 10, 64)
	const hz = 100 // USER_HZ on Linux
	s.cpu = time.Duration(utime+stime) * time.Second / hz
	s.rss = rssPages * int64(os.Getpagesize())
	io, err := os.Open(fmt.Sprintf("/proc/%d/io", pid))
	if err == nil {
		sc := bufio.NewScanner(io)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "write_bytes: "); ok {
				s.writeBytes, _ = strconv.ParseInt(v, 10, 64)
			}
		}
		io.Close()
	}
	return s
}

func minutes(env string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(env)); err == nil && v > 0 {
		return v
	}
	return def
}

// TestStartAccuracy measures, on the real clock and the paced test device
// (oto → ALSA → PulseAudio null sink), how far each program's first sample
// is from its scheduled instant, over LOA_BENCH_STARTS starts (default 50,
// one a minute: 50 minutes).
func TestStartAccuracy(t *testing.T) {
	long(t, "50 program starts on the real clock, one a minute")
	agent := agentBin(t)
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	writeTone(t, filepath.Join(dir, "tone.wav"), 1000, 2)
	os.WriteFile(filepath.Join(dir, "p.yaml"), []byte("programs:\n  - id: moi-phut\n    cron: \"* * * * *\"\n    items: [tone.wav]\n"), 0o644)
	if out, err := exec.Command(agent, "program", "load", filepath.Join(dir, "p.yaml"), "--data", data).CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	pa := testaudio.StartPulse(t)
	rec := pa.Record(t)
	startDaemon(t, agent, dir, data, "alsa", pa.Env())
	n := minutes("LOA_BENCH_STARTS", 50)
	var errs []float64
	// The first start at least 15 s after the daemon came up: a start in
	// its first seconds is a late join, not what this measures.
	first := time.Now().Add(15 * time.Second).Truncate(time.Minute).Add(time.Minute)
	for i := 0; i < n; i++ {
		start := first.Add(time.Duration(i) * time.Minute)
		time.Sleep(time.Until(start.Add(3 * time.Second)))
		onset, ok := rec.Onset(start.Add(-10*time.Second), 0.01)
		if !ok {
			t.Logf("start %d (%s): no sound", i, start.Format("15:04"))
			continue
		}
		e := onset.Sub(start).Seconds() * 1000
		errs = append(errs, e)
		t.Logf("start %2d %s: %+.1f ms", i+1, start.Format("15:04:05"), e)
	}
	report(t, "start error at the device, ms (actual − scheduled)", errs)
	db, err := sqlite.OpenAgent(context.Background(), filepath.Join(data, "loa.db"))
	if err == nil {
		rows, _ := db.AsRun(context.Background(), first.Add(-time.Minute), time.Now())
		var own []float64
		for _, r := range rows {
			own = append(own, float64(r.Actual.Sub(r.Planned).Microseconds())/1000)
		}
		db.Close()
		report(t, "the agent's own as-run estimate, ms", own)
	}
}

func report(t *testing.T, what string, v []float64) {
	if len(v) == 0 {
		t.Logf("%s: no samples", what)
		return
	}
	sort.Float64s(v)
	q := func(p float64) float64 { return v[min(len(v)-1, int(math.Ceil(p*float64(len(v))))-1)] }
	t.Logf("%s over %d: min %+.1f, median %+.1f, p90 %+.1f, p99 %+.1f, max %+.1f", what, len(v), v[0], q(0.5), q(0.9), q(0.99), v[len(v)-1])
}

// TestAgentSoak measures the daemon's CPU, memory and storage writes while
// it plays MP3 programme through the paced test device, and while it is
// idle: LOA_BENCH_MINUTES of playing (default 10) then
// LOA_BENCH_IDLE_MINUTES of idling (default 5).
func TestAgentSoak(t *testing.T) {
	long(t, "the daemon playing then idle for 15 minutes")
	need(t, "ffmpeg")
	agent := agentBin(t)
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	play := minutes("LOA_BENCH_MINUTES", 10)
	idle := minutes("LOA_BENCH_IDLE_MINUTES", 5)
	// 3-minute MP3 items back to back for the whole playing window: a
	// station's as-run log gets a row every 3 minutes.
	items := play/3 + 1
	var refs []string
	for i := 0; i < items; i++ {
		p := filepath.Join(dir, fmt.Sprintf("item%02d.mp3", i))
		makeMP3(t, p, strings.Replace(speechLike, "180", fmt.Sprint(150+7*i), 1), 180)
		refs = append(refs, filepath.Base(p))
	}
	start := time.Now().In(time.FixedZone("ICT", 7*3600)).Truncate(time.Minute).Add(2 * time.Minute)
	os.WriteFile(filepath.Join(dir, "p.yaml"), []byte(fmt.Sprintf("programs:\n  - id: soak\n    date: %s\n    at: \"%s\"\n    duration: %dm\n    items: [%s]\n",
		start.Format("2006-01-02"), start.Format("15:04"), play, strings.Join(refs, ", "))), 0o644)
	if out, err := exec.Command(agent, "program", "load", filepath.Join(dir, "p.yaml"), "--data", data).CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	pa := testaudio.StartPulse(t)
	d := startDaemon(t, agent, dir, data, "alsa", pa.Env())
	pid := d.cmd.Process.Pid

	time.Sleep(time.Until(start.Add(5 * time.Second)))
	a := sampleProc(t, pid)
	var peak int64
	for time.Now().Before(start.Add(time.Duration(play)*time.Minute - 5*time.Second)) {
		time.Sleep(10 * time.Second)
		peak = max(peak, sampleProc(t, pid).rss)
	}
	b := sampleProc(t, pid)
	time.Sleep(time.Until(start.Add(time.Duration(play)*time.Minute + 40*time.Second)))
	c := sampleProc(t, pid)
	time.Sleep(time.Duration(idle) * time.Minute)
	e := sampleProc(t, pid)

	wall := b.at.Sub(a.at)
	t.Logf("playing %s of MP3 programme through oto→ALSA→PulseAudio:", wall.Round(time.Second))
	t.Logf("  CPU %.2f %% of one core, RSS now %.1f MB, peak %.1f MB", 100*(b.cpu-a.cpu).Seconds()/wall.Seconds(), float64(b.rss)/1e6, float64(peak)/1e6)
	t.Logf("  storage writes %.1f KB/hour", float64(b.writeBytes-a.writeBytes)/wall.Hours()/1024)
	iw := e.at.Sub(c.at)
	t.Logf("idle %s (no program, amplifier off):", iw.Round(time.Second))
	t.Logf("  CPU %.2f %% of one core, RSS %.1f MB", 100*(e.cpu-c.cpu).Seconds()/iw.Seconds(), float64(e.rss)/1e6)
	t.Logf("  storage writes %.1f KB/hour", float64(e.writeBytes-c.writeBytes)/iw.Hours()/1024)
}
