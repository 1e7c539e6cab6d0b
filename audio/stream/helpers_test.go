package stream

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"loa/audio"
	"loa/internal/testaudio"
	"loa/internal/testwait"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	gomp3 "github.com/hajimehoshi/go-mp3"
)

var fixtureDir string

// fitSine is testaudio.FitSine without the phase.
func fitSine(x []float64, f, rate float64) (amp, snr float64) {
	amp, snr, _ = testaudio.FitSine(x, f, rate)
	return amp, snr
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "loa-stream-test-")
	if err != nil {
		panic(err)
	}
	fixtureDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

var fixtureMu sync.Mutex

// fixture makes name in the shared fixture directory with ffmpeg (once per
// test binary), from the given input and encoder arguments.
func fixture(tb testing.TB, name string, args ...string) string {
	tb.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		tb.Skip("ffmpeg is not installed (apt-get install ffmpeg); this test needs it to make MP3 fixtures")
	}
	fixtureMu.Lock()
	defer fixtureMu.Unlock()
	path := filepath.Join(fixtureDir, name)
	if _, err := os.Stat(path); err == nil {
		return path
	}
	full := append([]string{"-hide_banner", "-loglevel", "error", "-y"}, args...)
	full = append(full, path)
	if out, err := exec.Command("ffmpeg", full...).CombinedOutput(); err != nil {
		tb.Fatalf("ffmpeg %v: %v\n%s", full, err, out)
	}
	return path
}

// toneMP3 is 20 s of a 1 kHz sine (−6 dBFS) at 128 kbps stereo, 44.1 kHz.
func toneMP3(tb testing.TB) string {
	return fixture(tb, "tone.mp3", "-f", "lavfi", "-i", "aevalsrc=0.5*sin(2*PI*1000*t)|0.5*sin(2*PI*1000*t):s=44100:d=20",
		"-c:a", "libmp3lame", "-b:a", "128k")
}

// tone22MP3 is the same tone at 22.05 kHz, 48 kbps mono (MPEG-2).
func tone22MP3(tb testing.TB) string {
	return fixture(tb, "tone22.mp3", "-f", "lavfi", "-i", "aevalsrc=0.5*sin(2*PI*1000*t):s=22050:d=20",
		"-c:a", "libmp3lame", "-b:a", "48k")
}

// silenceMP3 is 20 s of digital silence at 128 kbps stereo.
func silenceMP3(tb testing.TB) string {
	return fixture(tb, "silence.mp3", "-f", "lavfi", "-i", "anullsrc=r=44100:cl=stereo", "-t", "20",
		"-c:a", "libmp3lame", "-b:a", "128k")
}

// burstsMP3 is 60 s of 200 ms tone bursts (1 kHz, −6 dBFS) every 2.5 s,
// silence between: the onsets mark instants for latency measurements.
func burstsMP3(tb testing.TB) string {
	return fixture(tb, "bursts.mp3", "-f", "lavfi", "-i",
		"aevalsrc=if(lt(mod(t\\,2.5)\\,0.2)\\,0.5*sin(2*PI*1000*t)\\,0)|if(lt(mod(t\\,2.5)\\,0.2)\\,0.5*sin(2*PI*1000*t)\\,0):s=44100:d=60",
		"-c:a", "libmp3lame", "-b:a", "128k")
}

// programMP3 is 60 s of program-like audio (tones and pink noise, different
// in each channel) at 128 kbps stereo: the load for CPU measurements.
func programMP3(tb testing.TB) string {
	return fixture(tb, "program.mp3", "-f", "lavfi", "-i",
		"aevalsrc=0.3*sin(2*PI*440*t)*sin(2*PI*0.3*t)+0.2*sin(2*PI*2345*t)|0.3*sin(2*PI*660*t)+0.1*sin(2*PI*5432*t)*sin(2*PI*0.7*t):s=44100:d=60",
		"-f", "lavfi", "-i", "anoisesrc=c=pink:a=0.2:r=44100:d=60",
		"-filter_complex", "[0:a][1:a]amix=inputs=2:normalize=0", "-ac", "2", "-c:a", "libmp3lame", "-b:a", "128k")
}

// mp3Frames splits an MP3 file into its audio frames (the ID3 tag and the
// Xing/Info frame left out).
func mp3Frames(tb testing.TB, path string) [][]byte {
	tb.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	fr := newFramer(bytes.NewReader(data))
	var frames [][]byte
	for {
		if err := fr.next(); err != nil {
			break
		}
		f := append([]byte(nil), fr.cur...)
		fr.cur = nil
		h, _ := audio.ParseMPEGFrame(f)
		side := h.SideInfo()
		if len(frames) == 0 && len(f) > 4+side+4 {
			tag := string(f[4+side : 4+side+4])
			if tag == "Xing" || tag == "Info" {
				continue
			}
		}
		frames = append(frames, f)
	}
	if len(frames) == 0 {
		tb.Fatalf("%s: no MP3 frames", path)
	}
	return frames
}

// fileAmp decodes an MP3 tone file offline (framer and go-mp3, no relay)
// and returns the tone's amplitude in its middle: what the relay must
// reproduce (LAME does not keep a pure tone's level exactly).
func fileAmp(tb testing.TB, path string) float64 {
	tb.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	d, err := gomp3.NewDecoder(newFramer(bytes.NewReader(data)))
	if err != nil {
		tb.Fatal(err)
	}
	pcm := make([]byte, 4*d.SampleRate())
	if _, err := io.ReadFull(d, pcm); err != nil {
		tb.Fatal(err)
	}
	x := make([]float64, len(pcm)/4)
	for i := range x {
		x[i] = float64(int16(binary.LittleEndian.Uint16(pcm[4*i:]))) / 32768
	}
	x = x[len(x)/2:]
	amp, _ := fitSine(x, toneFrequency(x, float64(d.SampleRate())), float64(d.SampleRate()))
	return amp
}

// fakeClock is a wall clock the test moves.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Date(2026, 5, 1, 6, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// feed is an in-process stream server that sends real MP3 frames (looped)
// as fast as a virtual clock allows: allow(x) lets it send the frames that
// the first x seconds of the stream hold. It counts the body bytes it
// wrote, and notes the virtual time each frame went out.
type feed struct {
	frames      [][]byte
	frameDur    float64
	contentType string
	metaint     int
	title       string
	prefix      []byte         // sent before the first frame of each connection
	garbage     map[int][]byte // sent before the frame of that (global) index
	now         func() float64 // virtual seconds, for sentAt

	mu      sync.Mutex
	cond    *sync.Cond
	allowed float64
	next    int // global index of the next frame
	sent    int64
	sentAt  []float64
	conns   int
	active  int
	cut     bool // drop the connections now
	srv     *httptest.Server
}

func newFeed(tb testing.TB, frames [][]byte) *feed {
	h, _ := audio.ParseMPEGFrame(frames[0])
	f := &feed{frames: frames, frameDur: float64(h.Samples()) / float64(h.Rate()), contentType: "audio/mpeg"}
	f.cond = sync.NewCond(&f.mu)
	f.srv = httptest.NewServer(f)
	tb.Cleanup(func() {
		f.mu.Lock()
		f.cut = true
		f.cond.Broadcast()
		f.mu.Unlock()
		f.srv.Close()
	})
	return f
}

func (f *feed) url() string { return f.srv.URL + "/live.mp3" }

func (f *feed) allow(sec float64) {
	f.mu.Lock()
	f.allowed = sec
	f.cond.Broadcast()
	f.mu.Unlock()
}

// drop closes the current connections (the server "dies"); setCut(false)
// lets new ones in again.
func (f *feed) setCut(cut bool) {
	f.mu.Lock()
	f.cut = cut
	f.cond.Broadcast()
	f.mu.Unlock()
}

// pending says whether the server still has frames to send that it is
// allowed to, and how many bytes it sent.
func (f *feed) state() (pending bool, sent int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return !f.cut && f.active > 0 && float64(f.next+1)*f.frameDur <= f.allowed, f.sent
}

func (f *feed) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	if f.cut {
		f.mu.Unlock()
		http.Error(w, "no such mount", http.StatusNotFound)
		return
	}
	f.conns++
	f.active++
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.active--
		f.mu.Unlock()
	}()
	stop := context.AfterFunc(r.Context(), func() {
		f.mu.Lock()
		f.cond.Broadcast()
		f.mu.Unlock()
	})
	defer stop()

	metaint := 0
	if f.metaint > 0 && r.Header.Get("Icy-MetaData") == "1" {
		metaint = f.metaint
		w.Header().Set("icy-metaint", strconv.Itoa(metaint))
	}
	w.Header().Set("Content-Type", f.contentType)
	w.WriteHeader(http.StatusOK)
	fl := w.(http.Flusher)
	fl.Flush()
	left := metaint
	var out []byte
	add := func(b []byte) {
		for len(b) > 0 {
			if metaint > 0 && left == 0 {
				var meta []byte
				if f.title != "" {
					meta = []byte(fmt.Sprintf("StreamTitle='%s';", f.title))
					meta = append(meta, make([]byte, (16-len(meta)%16)%16)...)
				}
				out = append(out, byte(len(meta)/16))
				out = append(out, meta...)
				left = metaint
			}
			k := len(b)
			if metaint > 0 {
				k = min(k, left)
				left -= k
			}
			out = append(out, b[:k]...)
			b = b[k:]
		}
	}
	send := func() bool {
		if len(out) == 0 {
			return true
		}
		_, err := w.Write(out)
		fl.Flush()
		f.mu.Lock()
		f.sent += int64(len(out))
		f.cond.Broadcast()
		f.mu.Unlock()
		out = out[:0]
		return err == nil
	}
	add(f.prefix)
	for {
		f.mu.Lock()
		for !f.cut && r.Context().Err() == nil && float64(f.next+1)*f.frameDur > f.allowed {
			f.cond.Wait()
		}
		if f.cut || r.Context().Err() != nil {
			f.mu.Unlock()
			return
		}
		i := f.next
		f.next++
		if f.now != nil {
			f.sentAt = append(f.sentAt, f.now())
		}
		g := f.garbage[i]
		f.mu.Unlock()
		add(g)
		add(f.frames[i%len(f.frames)])
		if !send() {
			return
		}
	}
}

// driver pulls a Source like a sound card would, on a virtual clock: each
// step is n frames of the card's time; the feed's clock runs drift faster.
// Before each pull it waits (in wall time) until the source has taken in
// everything the feed sent and is waiting for more, so that the run is the
// same however fast the machine is.
type driver struct {
	t      testing.TB
	src    *Source
	f      *feed
	clock  *fakeClock
	rate   int
	drift  float64
	burst  float64 // seconds the feed is ahead at the start
	device int64
	buf    [][2]float64
}

func newDriver(t testing.TB, f *feed, cfg Config) *driver {
	c := newFakeClock()
	start := c.Now()
	f.now = func() float64 { return c.Now().Sub(start).Seconds() }
	cfg.Now = c.Now
	cfg.URL = f.url()
	if cfg.Log == nil {
		cfg.Log = testLog(t)
	}
	if cfg.Rate == 0 {
		cfg.Rate = 44100
	}
	ctx, cancel := context.WithCancel(context.Background())
	src := Open(ctx, cfg)
	t.Cleanup(func() {
		src.Close()
		cancel()
		select {
		case <-src.done:
		case <-time.After(10 * time.Second):
			t.Error("the source's goroutine did not end within 10 s of Close")
		}
	})
	return &driver{t: t, src: src, f: f, clock: c, rate: cfg.Rate, buf: make([][2]float64, 8192)}
}

func (d *driver) seconds() float64 { return float64(d.device) / float64(d.rate) }

// step advances the clocks by n frames and pulls them.
func (d *driver) step(n int) [][2]float64 {
	d.device += int64(n)
	d.clock.Advance(time.Duration(n) * time.Second / time.Duration(d.rate))
	d.f.allow(d.burst + d.seconds()*(1+d.drift))
	d.settle()
	k, ok := d.src.Stream(d.buf[:n])
	if !ok || k != n {
		d.t.Fatalf("Stream = %d, %v at %.2f s; want %d, true", k, ok, d.seconds(), n)
	}
	return d.buf[:n]
}

// settle waits until the source has read all the feed sent and waits for
// more (or the feed has nobody to send to).
func (d *driver) settle() {
	deadline := time.Now().Add(20 * time.Second)
	for i := 0; ; i++ {
		pending, sent := d.f.state()
		if d.src.phase.Load() == phaseConnecting {
			pending = true // the first connection: wait for it
		}
		if !pending && d.src.bytesIn.Load() >= sent && (d.src.reading.Load() || d.f.activeConns() == 0) {
			return
		}
		if time.Now().After(deadline) {
			d.t.Fatalf("the source did not take in the feed: %d of %d bytes, pending %v", d.src.bytesIn.Load(), sent, pending)
		}
		if i < 50 {
			runtime.Gosched()
		} else {
			time.Sleep(20 * time.Microsecond) // a poll after 50 yields; the deadline bounds it
		}
	}
}

func (f *feed) activeConns() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.active
}

// collect steps for sec seconds in blocks of n and returns the left
// channel.
func (d *driver) collect(sec float64, n int) []float64 {
	var out []float64
	for end := d.seconds() + sec; d.seconds() < end; {
		for _, v := range d.step(n) {
			out = append(out, v[0])
		}
	}
	return out
}

// until steps in blocks of n until cond holds, for at most sec seconds.
func (d *driver) until(sec float64, n int, what string, cond func(Stats) bool) {
	d.t.Helper()
	for end := d.seconds() + sec; d.seconds() < end; {
		d.step(n)
		if cond(d.src.Stats()) {
			return
		}
	}
	d.t.Fatalf("after %.1f s: %s did not happen; stats %+v", sec, what, d.src.Stats())
}

// waitStats polls (in wall time, for sources not driven by a driver) until
// cond holds.
func waitStats(t testing.TB, s *Source, within time.Duration, what string, cond func(Stats) bool) Stats {
	t.Helper()
	var st Stats
	if !testwait.Poll(within, func() bool { st = s.Stats(); return cond(st) }) {
		t.Fatalf("within %v: %s did not happen; stats %+v", within, what, st)
	}
	return st
}

// toneFrequency estimates the frequency of a sine by its zero crossings
// (interpolated), in Hz.
func toneFrequency(x []float64, rate float64) float64 {
	first, last, n := -1.0, -1.0, 0
	for i := 1; i < len(x); i++ {
		if x[i-1] < 0 && x[i] >= 0 {
			t := float64(i-1) + x[i-1]/(x[i-1]-x[i])
			if first < 0 {
				first = t
			}
			last = t
			n++
		}
	}
	if n < 2 {
		return 0
	}
	return float64(n-1) / (last - first) * rate
}

// checkTone asserts that x is a clean tone at f Hz of the given amplitude:
// every 100 ms window fits the sine with at least minSNR dB.
func checkTone(t testing.TB, x []float64, f, amp float64, rate int, minSNR float64) {
	t.Helper()
	// The servo may play the stream a little faster or slower (at most
	// 0.3 %): fit at the frequency that comes out.
	got := toneFrequency(x, float64(rate))
	if math.Abs(got-f) > f*0.005 {
		t.Fatalf("tone at %.2f Hz, want %.0f Hz", got, f)
	}
	f = got
	w := rate / 10
	bad := 0
	for at := 0; at+w <= len(x); at += w {
		a, snr := fitSine(x[at:at+w], f, float64(rate))
		if snr < minSNR || math.Abs(a-amp) > amp*0.05 {
			bad++
			if bad <= 3 {
				t.Errorf("window at %.1f s: amplitude %.3f (want %.3f), SNR %.1f dB (want >= %.0f)", float64(at)/float64(rate), a, amp, snr, minSNR)
			}
		}
	}
	if bad > 0 {
		t.Fatalf("%d of %d windows are not the clean tone", bad, len(x)/w)
	}
}

// testLog writes the source's log to the test's, until the test ends.
// Close does not wait for the source's goroutines (the engine's output
// goroutine, which closes it, never waits), so a line may come after:
// it is dropped, as t.Log must not be called once the test is over.
func testLog(t testing.TB) *slog.Logger {
	w := &testWriter{t: t}
	t.Cleanup(func() {
		w.mu.Lock()
		w.done = true
		w.mu.Unlock()
	})
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct {
	t    testing.TB
	mu   sync.Mutex
	done bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(strings.TrimSpace(string(p)))
	}
	return len(p), nil
}
