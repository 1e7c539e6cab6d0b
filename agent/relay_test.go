package agent

import (
	"encoding/json"
	"math"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"loa/internal/icecasttest"
	"loa/internal/testwait"
	"loa/sqlite"
)

// These tests relay real streams: an icecast2 server fed by ffmpeg, as a
// station relays VOV or the provincial radio, through the real daemon to a
// WAV file written in real time.

func needIcecast(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"icecast2", "ffmpeg"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed (scripts/deps.sh installs it)", tool)
		}
	}
}

// wavAt maps wall-clock instants to frames of the daemon's WAV output.
type wavAt struct {
	base time.Time
	rate int
}

// anchor waits for the output to map its frame 0 to the clock (the paced
// output does so on its first pull, which a loaded machine may delay).
func (td *testDaemon) anchor() time.Time {
	td.t.Helper()
	var base time.Time
	testwait.For(td.t, "the output to start", 10*time.Second, func() bool {
		var ok bool
		base, ok = td.d.out.Anchor()
		return ok
	})
	return base
}

// waitPlayerAt waits until the player has stepped at or past instant at
// of the station's clock: what the station has done by then is done.
func (td *testDaemon) waitPlayerAt(at time.Time, limit time.Duration) {
	td.t.Helper()
	testwait.For(td.t, "the station's clock at "+at.Format("15:04:05.000"), limit, func() bool {
		return !td.d.pl.Status().At.Before(at)
	})
}

func (w wavAt) frame(t time.Time) int { return int(t.Sub(w.base).Seconds() * float64(w.rate)) }

func (w wavAt) slice(f [][2]float64, from, to time.Time) [][2]float64 {
	a, b := max(w.frame(from), 0), min(w.frame(to), len(f))
	if a >= b {
		return nil
	}
	return f[a:b]
}

// A relay plays the stream from its scheduled start; when the source dies
// mid-relay, the program's fallback takes over within 10 s and the failure
// is reported in health, metrics and the as-run log; the relay ends on time.
func TestDaemonRelayWithFallback(t *testing.T) {
	t.Parallel()
	needIcecast(t)
	ice := icecasttest.Start(t)
	feed := ice.Feed(t, "/vov.mp3", "sine=f=1000:sample_rate=44100")
	ice.WaitMount(t, "/vov.mp3", 15*time.Second)

	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	writeTone(t, filepath.Join(dir, "media/du-phong.wav"), 44100, 440, 0.5, 30)
	clock := &shiftedClock{}
	start := time.Date(2026, 11, 26, 11, 0, 0, 0, ict)
	loadProgram(t, data, dir, `
programs:
  - id: tiep-song
    title: Tiếp sóng
    cron: "0 11 * * *"
    duration: 25s
    relay: `+ice.URL("/vov.mp3")+`
    fallback: [media/du-phong.wav]
`, start.Add(-12*time.Second))
	// The station's clock starts 12 s before the relay once the program
	// is loaded (loading decodes the fallback, which a loaded machine
	// under -race can stretch past those 12 s).
	clock.setTo(start.Add(-12 * time.Second))
	out := filepath.Join(dir, "out.wav")
	td := startDaemon(t, data, clock, func(c *Config) { c.Audio.Output = Name("wav:" + out) })
	at := wavAt{base: td.anchor(), rate: 44100}

	td.waitPlayerAt(start.Add(5*time.Second), 30*time.Second)
	feed.Kill()
	waitFor(t, "the fallback", 20*time.Second, func() bool {
		code, body := td.get("/healthz")
		return code == 503 && strings.Contains(body, "relay failed")
	})
	failedAt := clock.Now()
	td.waitPlayerAt(start.Add(27*time.Second), time.Minute)
	_, metrics := td.get("/metrics")
	td.stop()

	got := readWAV(t, out)
	// Nothing before the start, the stream from the start.
	if p := peak(at.slice(got, start.Add(-2*time.Second), start.Add(-50*time.Millisecond))); p > 0.001 {
		t.Fatalf("sound before the relay's start: peak %v", p)
	}
	onset := firstSounding(got, at.frame(start.Add(-time.Second)), 0.01)
	lateMS := float64(onset-at.frame(start)) / 44.1
	t.Logf("relay's first sound %+.1f ms from its scheduled start (the stream was buffered 8 s ahead)", lateMS)
	if math.Abs(lateMS) > 50 {
		t.Errorf("relay started %.0f ms off its scheduled instant", lateMS)
	}
	if f := dominantFreq(at.slice(got, start.Add(time.Second), start.Add(4500*time.Millisecond)), 44100); math.Abs(f-1000) > 10 {
		t.Fatalf("the relay plays %.0f Hz, want the stream's 1000 Hz", f)
	}
	// The fallback within 10 s of the stream going quiet (plus its 1 s
	// buffer), to the end of the window.
	kill := start.Add(5 * time.Second)
	if d := failedAt.Sub(kill); d > 13*time.Second {
		t.Errorf("fallback %s after the source died, want within 10 s (+ the 1 s buffer)", d)
	}
	if f := dominantFreq(at.slice(got, failedAt.Add(time.Second), start.Add(24*time.Second)), 44100); math.Abs(f-440) > 10 {
		t.Fatalf("after the failure: %.0f Hz, want the fallback's 440 Hz", f)
	}
	// The window ends on time, with a fade.
	if p := peak(at.slice(got, start.Add(25*time.Second+50*time.Millisecond), start.Add(26*time.Second))); p > 0.001 {
		t.Fatalf("sound after the relay's duration: peak %v", p)
	}
	if !strings.Contains(metrics, "loa_relay_failures_total 1") {
		t.Errorf("relay failure not counted:\n%s", grepLines(metrics, "relay"))
	}
	var relayRow, fallbackRow string
	for _, r := range asrunRows(t, data) {
		switch {
		case r.Item == ice.URL("/vov.mp3"):
			relayRow = r.Result + " | " + r.Note
		case r.Item == "media/du-phong.wav":
			fallbackRow = r.Result + " | " + r.Note
		}
	}
	if !strings.HasPrefix(relayRow, "partial | relay given up: ") || !strings.HasPrefix(fallbackRow, "cut | fallback for the relay") {
		t.Fatalf("as-run: relay %q, fallback %q", relayRow, fallbackRow)
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// A live request on the control listener puts the voice on air in the
// asked mode, over the program, and takes it off again; the program plays
// on. The levels and the ramp of the duck, to the sample, are proved in
// package player (TestLiveDucksTheProgram, which was measured here in real
// time to ±1 dB and 350–600 ms).
func TestDaemonLiveDuck(t *testing.T) {
	t.Parallel()
	needIcecast(t)
	ice := icecasttest.Start(t)
	// The voice is silence here, so that what the output shows is the
	// program's level alone.
	ice.Feed(t, "/live.mp3", "anullsrc=r=44100:cl=stereo")
	ice.WaitMount(t, "/live.mp3", 15*time.Second)

	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	writeTone(t, filepath.Join(dir, "media/nhac.wav"), 44100, 440, 0.5, 30)
	clock := &shiftedClock{}
	start := time.Date(2026, 11, 26, 12, 0, 0, 0, ict)
	clock.holdAt(start.Add(-3 * time.Second))
	loadProgram(t, data, dir, "programs:\n  - id: nhac\n    cron: \"0 12 * * *\"\n    items: [media/nhac.wav]\n", clock.Now())
	td := startDaemon(t, data, clock, nil)

	waitFor(t, "nhac on air", 10*time.Second, func() bool { p := td.status().Program; return p != nil && p.ID == "nhac" })
	body, _ := json.Marshal(LiveRequest{Input: ice.URL("/live.mp3"), Mode: "duck", DuckDB: -12})
	resp, err := td.control(http.MethodPost, body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("live start: %v %v", err, resp)
	}
	waitFor(t, "the live voice on air", 10*time.Second, func() bool { l := td.status().Live; return l != nil && l.Kind == "live" })
	if p := td.status().Program; p == nil || p.ID != "nhac" {
		t.Fatalf("under the live voice: program %+v, want nhac playing on", p)
	}
	if resp, err := td.control(http.MethodDelete, nil); err != nil || resp.StatusCode != 204 {
		t.Fatalf("live stop: %v %v", err, resp)
	}
	var live []sqlite.AsRunEntry
	waitFor(t, "the live voice logged", 10*time.Second, func() bool {
		live = nil
		for _, r := range asrunRows(t, data) {
			if r.Kind == "live" {
				live = append(live, r)
			}
		}
		return len(live) > 0
	})
	if len(live) != 1 || live[0].Result != "completed" || live[0].Note != "duck -12 dB" {
		t.Fatalf("live as-run %+v, want one completed row, duck -12 dB", live)
	}
	s := td.status()
	if s.Live != nil {
		t.Errorf("live still on air after the stop: %+v", s.Live)
	}
	if s.Program == nil || s.Program.ID != "nhac" {
		t.Errorf("after the live voice: program %+v, want nhac playing on", s.Program)
	}
	for _, r := range asrunRows(t, data) {
		if r.Program == "nhac" {
			t.Errorf("the program was logged (%s) while it should play on", r.Result)
		}
	}
}
