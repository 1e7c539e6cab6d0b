package capture

import (
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"loa/internal/testaudio"
	"loa/internal/testwait"
)

// These tests capture through the real arecord and ALSA without a sound
// card: an ALSA configuration (ALSA_CONFIG_PATH, the system alsa.conf
// included first) defines a PCM "tone" of type file whose slave is the
// null plugin and whose infile is a raw file the test writes: capture
// from it reads the file. Nothing paces it (the null plugin has no clock),
// so arecord delivers the file as fast as it can; the jitter buffer keeps
// what fits and the tests look at a stretch that is known to be
// contiguous. Timing (pacing, drift) is the jitter package's tests'.

func needArecord(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("arecord"); err != nil {
		t.Skip("arecord is not installed (apt-get install alsa-utils); this test needs it")
	}
	if _, err := os.Stat("/usr/share/alsa/alsa.conf"); err != nil {
		t.Skip("/usr/share/alsa/alsa.conf is missing (apt-get install libasound2-data)")
	}
}

// toneDevice writes seconds of a 1 kHz sine (amplitude 0.5, left; −0.5,
// right) at rate as raw S16_LE stereo, and an ALSA configuration whose
// PCM "tone" captures it; it points ALSA_CONFIG_PATH at it.
func toneDevice(t *testing.T, rate int, seconds float64) {
	dir := t.TempDir()
	raw := filepath.Join(dir, "tone.raw")
	n := int(seconds * float64(rate))
	b := make([]byte, 4*n)
	for i := range n {
		v := int16(math.Round(0.5 * 32767 * math.Sin(2*math.Pi*1000*float64(i)/float64(rate))))
		binary.LittleEndian.PutUint16(b[4*i:], uint16(v))
		binary.LittleEndian.PutUint16(b[4*i+2:], uint16(-v))
	}
	if err := os.WriteFile(raw, b, 0o644); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "asound.conf")
	text := fmt.Sprintf(`</usr/share/alsa/alsa.conf>
pcm.tone {
	type file
	slave.pcm "null"
	file "/dev/null"
	infile %q
	format "raw"
}
`, raw)
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("ALSA_CONFIG_PATH", conf)
}

func testLog(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// firstSound pulls like a sound card (block frames every 10 ms) until the
// source plays, then returns the next n frames, pulled at once.
func firstSound(t *testing.T, s *Source, block, n int) [][2]float64 {
	t.Helper()
	buf := make([][2]float64, max(block, n))
	testwait.For(t, "sound", 5*time.Second, func() bool {
		k, ok := s.Stream(buf[:block])
		if !ok || k != block {
			t.Fatalf("Stream = %d, %v", k, ok)
		}
		return buf[block-1] != ([2]float64{})
	})
	if k, ok := s.Stream(buf[:n]); !ok || k != n {
		t.Fatalf("Stream = %d, %v", k, ok)
	}
	return buf[:n]
}

// checkTone asserts the frames are the test tone: 1 kHz, 0.5 on the left,
// −0.5 on the right, and nothing else (at least 60 dB below).
func checkTone(t *testing.T, x [][2]float64, rate int) {
	t.Helper()
	l := make([]float64, len(x))
	r := make([]float64, len(x))
	for i, v := range x {
		l[i], r[i] = v[0], v[1]
	}
	la, lsnr, lphase := testaudio.FitSine(l, 1000, float64(rate))
	ra, rsnr, rphase := testaudio.FitSine(r, 1000, float64(rate))
	if math.Abs(la-0.5) > 0.005 || math.Abs(ra-0.5) > 0.005 || lsnr < 60 || rsnr < 60 {
		t.Fatalf("left: amplitude %.4f SNR %.1f dB; right: amplitude %.4f SNR %.1f dB; want 0.5 and >= 60 dB", la, lsnr, ra, rsnr)
	}
	if d := math.Abs(math.Remainder(lphase-rphase, 2*math.Pi)); math.Abs(d-math.Pi) > 0.01 {
		t.Fatalf("left and right are %.3f rad apart, want π (right = −left)", d)
	}
}

// TestCapturesTheLineIn: what arecord captures comes out of the source as
// the tone, both channels, at 44.1 and 48 kHz.
func TestCapturesTheLineIn(t *testing.T) {
	needArecord(t)
	for _, rate := range []int{44100, 48000} {
		t.Run(fmt.Sprint(rate), func(t *testing.T) {
			toneDevice(t, rate, 10)
			s, err := Open(context.Background(), Config{Device: "tone", Rate: rate, Log: testLog(t)})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			// The buffer holds its 200 ms target, contiguous, when it
			// starts; 150 ms after the 10 ms fade-in are the tone.
			x := firstSound(t, s, rate/100, rate*15/100)
			checkTone(t, x, rate)
			if st := s.Stats(); st.State != Playing || st.LastError != "" || st.FailingFor != 0 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

// TestNoSuchDevice: Open fails with arecord's own words.
func TestNoSuchDevice(t *testing.T) {
	needArecord(t)
	toneDevice(t, 44100, 1)
	_, err := Open(context.Background(), Config{Device: "loa_no_such_pcm", Log: testLog(t)})
	if err == nil || !strings.Contains(err.Error(), "loa_no_such_pcm") || !strings.Contains(err.Error(), "arecord") {
		t.Fatalf("Open = %v, want arecord's error naming the device", err)
	}
	_, err = Open(context.Background(), Config{Device: "tone", Arecord: "/nonexistent/arecord"})
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/arecord") {
		t.Fatalf("Open with a missing arecord = %v", err)
	}
}

// TestArecordDies: arecord is killed (a USB card unplugged and back); the
// source reports it failed, starts arecord again, and plays.
func TestArecordDies(t *testing.T) {
	needArecord(t)
	toneDevice(t, 44100, 10)
	s, err := Open(context.Background(), Config{Device: "tone", RetryMin: 50 * time.Millisecond, Log: testLog(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	firstSound(t, s, 441, 441)
	pid := int(s.pid.Load())
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if !testwait.Poll(5*time.Second, func() bool { return s.Stats().Restarts > 0 && s.pid.Load() != int64(pid) }) {
		t.Fatalf("arecord not restarted 5 s after it was killed: %+v", s.Stats())
	}
	if st := s.Stats(); !strings.Contains(st.LastError, "signal: killed") {
		t.Errorf("last error %q, want arecord's death", st.LastError)
	}
	// The restarted arecord refills the buffer and plays.
	waitPlaying(t, s)
	drain(t, s)
	checkTone(t, firstSound(t, s, 441, 441*15), 44100)
	if err := s.Err(); err != nil {
		t.Errorf("Err() = %v while playing again", err)
	}
}

// TestArecordHangs: arecord stops delivering without exiting (SIGSTOP, as a
// wedged driver would); the source reports stalled, kills it after
// StallTimeout and starts it again.
func TestArecordHangs(t *testing.T) {
	needArecord(t)
	toneDevice(t, 44100, 10)
	s, err := Open(context.Background(), Config{Device: "tone", StallTimeout: 500 * time.Millisecond, RetryMin: 50 * time.Millisecond, Log: testLog(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	firstSound(t, s, 441, 441)
	pid := int(s.pid.Load())
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	sawStalled := false
	if !testwait.Poll(5*time.Second, func() bool {
		if s.Stats().State == Stalled {
			sawStalled = true
		}
		return s.pid.Load() != int64(pid)
	}) {
		t.Fatalf("a stopped arecord was not replaced within 5 s: %+v", s.Stats())
	}
	if !sawStalled {
		t.Error("never reported stalled")
	}
	if st := s.Stats(); !strings.Contains(st.LastError, "no audio from arecord for 500ms") {
		t.Errorf("last error %q", st.LastError)
	}
	waitPlaying(t, s)
	drain(t, s)
	checkTone(t, firstSound(t, s, 441, 441*15), 44100)
}

// waitPlaying waits until the source plays again (a restarted arecord's
// audio in the buffer).
// drain pulls, faster than real time, until the buffer runs dry: what
// the killed arecord left plays out (the test pulled none of it), so the
// sound after is the new arecord's alone, not the old tone joined to the
// new one at another phase.
func drain(t *testing.T, s *Source) {
	t.Helper()
	buf := make([][2]float64, 441)
	for range 44100 * 30 / len(buf) {
		if k, ok := s.Stream(buf); !ok || k != len(buf) {
			t.Fatalf("Stream = %d, %v", k, ok)
		}
		if buf[len(buf)-1] == ([2]float64{}) {
			return
		}
	}
	t.Fatal("the buffer never ran dry: more than 30 s of audio pulled")
}

func waitPlaying(t *testing.T, s *Source) {
	t.Helper()
	if !testwait.Poll(5*time.Second, func() bool { return s.Stats().State == Playing }) {
		t.Fatalf("not playing again within 5 s: %+v", s.Stats())
	}
}

// TestCloseStopsArecord: after Close, Stream says done and arecord is gone.
func TestCloseStopsArecord(t *testing.T) {
	needArecord(t)
	toneDevice(t, 44100, 10)
	s, err := Open(context.Background(), Config{Device: "tone"})
	if err != nil {
		t.Fatal(err)
	}
	pid := int(s.pid.Load())
	s.Close()
	if n, ok := s.Stream(make([][2]float64, 10)); n != 0 || ok {
		t.Fatalf("Stream after Close = %d, %v", n, ok)
	}
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		t.Fatal("capture goroutine still running 5 s after Close")
	}
	if err := syscall.Kill(pid, 0); err == nil {
		t.Errorf("arecord (pid %d) still exists after Close", pid)
	}
}
