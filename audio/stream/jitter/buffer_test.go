package jitter

import (
	"context"
	"fmt"
	"math"
	"sync"
	"testing"
	"time"
)

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

// sim drives a buffer from one goroutine with virtual time: a producer whose
// clock runs drift fast (negative: slow) against the consumer's writes a
// 1 kHz tone in MP3-frame-sized pieces (1152 frames) as its clock produces
// them; the consumer pulls block frames at a time, and each pull is
// block/rate seconds of the consumer's (the sound card's) clock.
type sim struct {
	t       *testing.T
	b       *Buffer
	clock   *fakeClock
	in, out int
	drift   float64
	block   int

	produced int64   // input frames written
	device   int64   // output frames pulled
	phase    float64 // of the tone, in cycles
	paused   bool    // producer sends nothing
	chunk    [][2]float64
	dst      [][2]float64
}

func newSim(t *testing.T, cfg Config, drift float64, block int) *sim {
	c := newFakeClock()
	cfg.Now = c.Now
	return &sim{t: t, b: New(cfg), clock: c, in: cfg.InRate, out: cfg.OutRate, drift: drift, block: block,
		chunk: make([][2]float64, 1152), dst: make([][2]float64, block)}
}

// produce writes what the producer's clock has made by now.
func (s *sim) produce() {
	now := float64(s.device) / float64(s.out) * (1 + s.drift)
	for !s.paused && float64(s.produced+1152) <= now*float64(s.in) {
		s.write(1152)
	}
}

func (s *sim) write(n int) {
	for i := range n {
		v := 0.5 * math.Sin(2*math.Pi*s.phase)
		s.chunk[i%1152] = [2]float64{v, v}
		s.phase += 1000.0 / float64(s.in)
		if i%1152 == 1151 || i == n-1 {
			if err := s.b.Write(context.Background(), s.chunk[:i%1152+1]); err != nil {
				s.t.Fatal(err)
			}
		}
	}
	s.produced += int64(n)
}

// pull takes one block and advances the clocks.
func (s *sim) pull() [][2]float64 {
	n, ok := s.b.Stream(s.dst)
	if !ok || n != len(s.dst) {
		s.t.Fatalf("Stream = %d, %v; want %d, true", n, ok, len(s.dst))
	}
	s.device += int64(n)
	s.clock.Advance(time.Duration(n) * time.Second / time.Duration(s.out))
	return s.dst
}

func (s *sim) step() [][2]float64 {
	s.produce()
	return s.pull()
}

// TestServoHoldsDepthUnderDrift runs 30 minutes of a relay whose source
// clock is 0.1 % fast, then one 0.1 % slow (a realistic crystal), and one
// 0.25 % fast (a bad one): the buffer never runs dry, never skips, stays
// within ±100 ms of where it started (±250 ms for the bad clock), comes
// back there (the filtered depth within 5 ms), and the servo's correction
// settles on the drift.
func TestServoHoldsDepthUnderDrift(t *testing.T) {
	minutes := 30
	if testing.Short() || raceEnabled {
		minutes = 5
	}
	for _, c := range []struct {
		drift float64
		dev   time.Duration
	}{{1e-3, 100 * time.Millisecond}, {-1e-3, 100 * time.Millisecond}, {2.5e-3, 250 * time.Millisecond}} {
		drift := c.drift
		t.Run(fmt.Sprintf("%+.0fppm", drift*1e6), func(t *testing.T) {
			s := newSim(t, Config{InRate: 44100, OutRate: 44100, Target: time.Second}, drift, 1024)
			lo, hi := time.Hour, -time.Hour
			steps := minutes * 60 * 44100 / 1024
			for range steps {
				s.step()
				if !s.b.Playing() {
					if s.device > 2*44100 {
						t.Fatalf("not playing at %.1f s", float64(s.device)/44100)
					}
					continue
				}
				if !s.b.servoOn {
					continue // settling: the set point is being taken
				}
				d := s.b.Depth() - time.Duration(s.b.setpoint*float64(time.Second))
				lo, hi = min(lo, d), max(hi, d)
			}
			if e := s.b.filt - s.b.setpoint; math.Abs(e) > 0.005 && minutes == 30 {
				t.Errorf("filtered depth %.4f s after %d min, want the set point %.4f s ± 5 ms", s.b.filt, minutes, s.b.setpoint)
			}
			if s.b.Underruns() != 0 || s.b.Skips() != 0 {
				t.Errorf("%d underruns, %d skips", s.b.Underruns(), s.b.Skips())
			}
			if lo < -c.dev || hi > c.dev {
				t.Errorf("depth ranged %v..%v around its set point %.3f s, want within ± %v", lo, hi, s.b.setpoint, c.dev)
			}
			if ppm := s.b.DriftPPM(); math.Abs(ppm-drift*1e6) > 0.05*math.Abs(drift*1e6) && minutes == 30 {
				t.Errorf("correction %.0f ppm, want %.0f ± 5%%", ppm, drift*1e6)
			}
			t.Logf("depth %+v..%+v around %.3f s, correction %.0f ppm", lo, hi, s.b.setpoint, s.b.DriftPPM())
		})
	}
}

// TestOutputIsContinuous: with the servo working against a 0.1 % drift,
// what comes out is the tone without a glitch (every 100 ms window fits a
// sine at the pitch the servo plays it at, at least 60 dB above the rest).
func TestOutputIsContinuous(t *testing.T) {
	s := newSim(t, Config{InRate: 48000, OutRate: 44100, Target: 500 * time.Millisecond}, 1e-3, 512)
	var out []float64
	end, from := int64(90*44100), int64(60*44100)
	if raceEnabled {
		end, from = 40*44100, 30*44100
	}
	for s.device < end {
		blk := s.step()
		if s.device > from {
			for _, v := range blk {
				out = append(out, v[0])
			}
		}
	}
	// Played at 1 + correction times its own pace: the pitch moves by
	// up to 0.3 %, slowly; each window is fitted at its own.
	for at := 0; at+4410 <= len(out); at += 4410 {
		amp, snr := fitSineNear(out[at:at+4410], 1000, 4, 44100)
		if snr < 60 || math.Abs(amp-0.5) > 0.01 {
			t.Fatalf("window at %.1f s: amplitude %.3f, SNR %.1f dB", float64(from+int64(at))/44100, amp, snr)
		}
	}
}

// fitSineNear fits a sine whose frequency lies within ±span Hz of f.
func fitSineNear(x []float64, f, span, rate float64) (amp, snr float64) {
	snrAt := func(g float64) float64 { _, s := fitSine(x, g, rate); return s }
	best, bestSNR := f, snrAt(f)
	for g := f - span; g <= f+span; g += span / 8 {
		if s := snrAt(g); s > bestSNR {
			best, bestSNR = g, s
		}
	}
	lo, hi := best-span/8, best+span/8
	m1, m2 := hi-(hi-lo)*0.618, lo+(hi-lo)*0.618
	s1, s2 := snrAt(m1), snrAt(m2)
	for range 30 { // golden section
		if s1 > s2 {
			hi, m2, s2 = m2, m1, s1
			m1 = hi - (hi-lo)*0.618
			s1 = snrAt(m1)
		} else {
			lo, m1, s1 = m1, m2, s2
			m2 = lo + (hi-lo)*0.618
			s2 = snrAt(m2)
		}
	}
	return fitSine(x, (lo+hi)/2, rate)
}

// TestBurstIsNotLatency: an Icecast server sends seconds of audio the
// moment a listener connects. The buffer keeps only the newest target's
// worth, so playback starts a target behind the live edge, not a burst
// behind it, and nothing is skipped later.
func TestBurstIsNotLatency(t *testing.T) {
	s := newSim(t, Config{InRate: 44100, OutRate: 44100, Target: time.Second}, 0, 1024)
	s.write(4 * 44100) // the burst: 4 s at once
	s.produced = 0     // from here the producer's clock runs from 0
	for range 60 * 44100 / 1024 {
		s.step()
	}
	if !s.b.Playing() || s.b.Skips() != 0 || s.b.Underruns() != 0 {
		t.Fatalf("playing %v, %d skips, %d underruns", s.b.Playing(), s.b.Skips(), s.b.Underruns())
	}
	if d := s.b.Depth(); d < 950*time.Millisecond || d > 1050*time.Millisecond {
		t.Errorf("depth %v after a 4 s burst, want about the 1 s target", d)
	}
}

// TestUnderrunAndRecovery: the producer stops; the consumer plays what is
// left, fades out, plays silence, counts one underrun; when the producer
// comes back the consumer waits for the target again, then fades in.
func TestUnderrunAndRecovery(t *testing.T) {
	s := newSim(t, Config{InRate: 44100, OutRate: 44100, Target: 200 * time.Millisecond}, 0, 441)
	for range 100 { // 1 s
		s.step()
	}
	if !s.b.Playing() {
		t.Fatal("not playing after 1 s")
	}
	s.paused = true
	var sound, silence int
	for range 100 {
		blk := s.step()
		e, zero := 0.0, true
		for _, v := range blk {
			e += v[0] * v[0]
			zero = zero && v[0] == 0 && v[1] == 0
		}
		switch {
		case zero:
			silence += len(blk)
		case math.Sqrt(e/float64(len(blk))) > 0.3:
			sound += len(blk)
			if silence > 0 {
				t.Fatal("sound after the silence of the underrun")
			}
		}
	}
	if s.b.Underruns() != 1 || s.b.Playing() {
		t.Fatalf("%d underruns, playing %v; want 1, false", s.b.Underruns(), s.b.Playing())
	}
	if silence < 44100-8820-441 {
		t.Fatalf("%d frames of silence in the second after the producer stopped", silence)
	}
	// The producer comes back at the live edge.
	s.paused = false
	s.produced = int64(float64(s.device)) - 1152
	s.b.Restart(44100)
	first := -1
	for i := range 100 {
		blk := s.step()
		for j, v := range blk {
			if first < 0 && math.Abs(v[0]) > 1e-3 {
				first = i*441 + j
			}
		}
	}
	if first < 0 || !s.b.Playing() {
		t.Fatal("did not play again")
	}
	if first < 8820-441 || first > 8820+2*441 {
		t.Errorf("sound again after %d frames, want the 200 ms target (8820)", first)
	}
}

// TestSkipWhenNobodyPulled: the consumer stops pulling for 15 s (the engine
// was busy); a live buffer does not make that latency: it crossfades to the
// newest audio and counts a skip.
func TestSkipWhenNobodyPulled(t *testing.T) {
	s := newSim(t, Config{InRate: 44100, OutRate: 44100, Target: 500 * time.Millisecond}, 0, 1024)
	for range 100 {
		s.step()
	}
	// 15 s of the producer without the consumer.
	s.write(15 * 44100)
	s.clock.Advance(15 * time.Second)
	blk := s.pull()
	if s.b.Skips() != 1 {
		t.Fatalf("%d skips, want 1", s.b.Skips())
	}
	for _, v := range blk {
		if math.Abs(v[0]) > 0.5+1e-3 {
			t.Fatalf("crossfade overshoots: %v", v[0])
		}
	}
	if d := s.b.Depth(); d > 500*time.Millisecond {
		t.Errorf("depth %v after the skip, want the 500 ms target or less", d)
	}
	if s.b.Overflowed() == 0 {
		t.Error("5 s did not fit in the buffer, yet nothing was counted as dropped")
	}
}

// TestBoundedPlaysEverything: a bounded buffer (an HTTP file) makes the
// producer wait for room; every frame comes out once, in order, then the
// stream ends with the error End was given.
func TestBoundedPlaysEverything(t *testing.T) {
	b := New(Config{InRate: 44100, OutRate: 44100, Target: 100 * time.Millisecond, Bounded: true})
	const total = 20 * 44100 // more than the ring holds
	in := sineFrames(440, 44100, total, 0.5)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		for i := 0; i < len(in); i += 1152 {
			if err := b.Write(ctx, in[i:min(i+1152, len(in))]); err != nil {
				done <- err
				return
			}
		}
		b.End(nil)
		done <- nil
	}()
	var out []float64
	dst := make([][2]float64, 1000)
	for {
		// A consumer at the pace of a sound card: never ahead of the
		// producer (that would be an underrun, tested elsewhere).
		for b.Depth() < 100*time.Millisecond && len(done) == 0 {
			time.Sleep(time.Millisecond) // paces the consumer behind the producer (load, not a wait)
		}
		n, ok := b.Stream(dst)
		if b.Playing() || n < len(dst) {
			for _, v := range dst[:n] {
				out = append(out, v[0])
			}
		}
		if !ok {
			break
		}
	}
	if err := <-done; err != nil { // (the producer is done: Stream returned false)
		t.Fatal(err)
	}
	if b.Err() != nil {
		t.Fatal(b.Err())
	}
	if len(out) < total-1 || len(out) > total+1 {
		t.Fatalf("%d frames out, want %d", len(out), total)
	}
	if b.Underruns() != 0 {
		t.Errorf("%d underruns", b.Underruns())
	}
	// In order and whole: the output fits one 440 Hz sine from start to end.
	if _, snr := fitSine(out[500:len(out)-500], 440, 44100); snr < 60 {
		t.Errorf("SNR %.1f dB against one continuous sine: frames lost or reordered", snr)
	}
}

// TestSilenceIsNotSound: LastSound moves only with audio above −50 dBFS.
func TestSilenceIsNotSound(t *testing.T) {
	c := newFakeClock()
	b := New(Config{InRate: 44100, OutRate: 44100, Now: c.Now})
	c.Advance(time.Second)
	quiet := sineFrames(1000, 44100, 1152, 0.003) // −50.5 dBFS
	b.Write(context.Background(), quiet)
	if !b.LastSound().IsZero() || !b.LastInput().Equal(c.Now()) {
		t.Fatalf("after a quiet block: last sound %v, last input %v", b.LastSound(), b.LastInput())
	}
	c.Advance(time.Second)
	b.Write(context.Background(), sineFrames(1000, 44100, 1152, 0.004)) // −48 dBFS
	if !b.LastSound().Equal(c.Now()) {
		t.Fatalf("after a −48 dBFS block: last sound %v, want %v", b.LastSound(), c.Now())
	}
}

func BenchmarkResampler(b *testing.B) {
	for _, c := range []struct {
		name    string
		in, out int
	}{{"44100-44100", 44100, 44100}, {"48000-44100", 48000, 44100}, {"44100-48000", 44100, 48000}} {
		b.Run(c.name, func(b *testing.B) {
			r := newResampler(c.in, c.out)
			in := sineFrames(1000, float64(c.in), 1152, 0.5)
			out := make([][2]float64, 0, 4096)
			frames := 0
			for b.Loop() {
				out = r.process(in, out[:0], 3e-4)
				frames += len(out)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(frames), "ns/frame")
		})
	}
}
