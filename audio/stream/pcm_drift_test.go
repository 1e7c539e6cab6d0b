package stream

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// watchedReader marks when its reader waits in Read and counts what it
// gave, so that a virtual-clock test knows the producer took everything.
type watchedReader struct {
	r       io.Reader
	reading atomic.Bool
	n       atomic.Int64
}

func (w *watchedReader) Read(p []byte) (int, error) {
	w.reading.Store(true)
	n, err := w.r.Read(p)
	w.reading.Store(false)
	w.n.Add(int64(n))
	return n, err
}

// runPCMRelay runs the path of ffmpeg's output (16-bit PCM at the engine
// rate through playPCM into the jitter buffer) on a virtual clock: the PCM
// (a 1 kHz tone) arrives drift faster than the card pulls it, in blocks of
// 100 ms like a decoder's output. It returns the depth range after the
// first 10 s, the underruns, skips and the servo's correction.
func runPCMRelay(tb testing.TB, drift, seconds float64) (minDepth, maxDepth time.Duration, st Stats) {
	const rate = 44100
	clock := newFakeClock()
	s := &Source{cfg: Config{Rate: rate, Buffer: time.Second, SilenceDBFS: -50, SilenceAfter: 10 * time.Second,
		StallTimeout: 3 * time.Second, Now: clock.Now}, log: discardLog(), opened: clock.Now(), done: make(chan struct{})}
	pr, pw := io.Pipe()
	wr := &watchedReader{r: pr}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := s.playPCM(ctx, wr, &ffmpegLog{s: s}, false)
		done <- err
	}()
	defer func() { cancel(); pw.Close(); <-done }()
	s.connected.Store(clock.Now().UnixNano())
	s.phase.Store(phaseConnected)

	var written, produced int64 // bytes into the pipe, frames of tone made
	const blk = 1024
	block := make([]byte, 4*blk)
	out := make([][2]float64, 1024)
	minDepth = time.Hour
	for device := int64(0); float64(device) < seconds*rate; device += int64(len(out)) {
		clock.Advance(time.Duration(len(out)) * time.Second / rate)
		// The decoder's output due by now, in whole blocks.
		for float64(produced+blk) <= float64(device+int64(len(out)))*(1+drift) {
			for i := range blk {
				v := int16(0.5 * 32767 * math.Sin(2*math.Pi*1000*float64(produced+int64(i))/(rate*(1+drift))))
				binary.LittleEndian.PutUint16(block[4*i:], uint16(v))
				binary.LittleEndian.PutUint16(block[4*i+2:], uint16(v))
			}
			if _, err := pw.Write(block); err != nil {
				tb.Fatal(err)
			}
			written += int64(len(block))
			produced += blk
		}
		// Wait until playPCM has taken it all in and waits for more.
		deadline := time.Now().Add(20 * time.Second)
		for wr.n.Load() < written || !wr.reading.Load() {
			if time.Now().After(deadline) {
				tb.Fatalf("playPCM did not take in the PCM: %d of %d bytes", wr.n.Load(), written)
			}
			runtime.Gosched()
		}
		if jb := s.jb.Load(); jb != nil {
			jb.Stream(out)
		}
		if float64(device)/rate > 10 {
			d := s.Stats().BufferDepth
			minDepth, maxDepth = min(minDepth, d), max(maxDepth, d)
		}
	}
	return minDepth, maxDepth, s.Stats()
}

// TestPCMRelayDrift: what ffmpeg decodes (HLS, AAC, Ogg) goes through the
// same buffer and servo as MP3 (TestRelayDrift): at ±0.1 % against the
// card, no underrun, no skip, the depth within 150 ms of its 1 s target.
// (30 minutes: BenchmarkPCMRelayDrift.) 240 s, or 20 s under the race
// detector or -short, as TestRelayDrift.
func TestPCMRelayDrift(t *testing.T) {
	seconds := 240.0
	if testing.Short() || raceEnabled {
		seconds = 20
	}
	for _, drift := range []float64{1e-3, -1e-3} {
		t.Run(fmt.Sprintf("%+.0fppm", drift*1e6), func(t *testing.T) {
			t.Parallel() // virtual clocks, as TestRelayDrift
			lo, hi, st := runPCMRelay(t, drift, seconds)
			if st.Underruns != 0 || st.Skips != 0 || st.State != Playing {
				t.Errorf("stats %+v", st)
			}
			if lo < 850*time.Millisecond || hi > 1150*time.Millisecond {
				t.Errorf("depth %v..%v, want within 1 s ± 150 ms", lo, hi)
			}
			t.Logf("depth %v..%v, correction %.0f ppm", lo, hi, st.DriftPPM)
		})
	}
}

// BenchmarkPCMRelayDrift runs 30 minutes of stream time per drift through
// the ffmpeg output path:
//
//	go test -run XXX -bench PCMRelayDrift -benchtime 1x ./audio/stream/
func BenchmarkPCMRelayDrift(b *testing.B) {
	for _, drift := range []float64{1e-3, -1e-3} {
		b.Run(fmt.Sprintf("%+.0fppm", drift*1e6), func(b *testing.B) {
			var lo, hi time.Duration
			var st Stats
			for b.Loop() {
				lo, hi, st = runPCMRelay(b, drift, 1800)
			}
			b.ReportMetric(float64(lo.Milliseconds()), "min-depth-ms")
			b.ReportMetric(float64(hi.Milliseconds()), "max-depth-ms")
			b.ReportMetric(float64(st.Underruns), "underruns")
			b.ReportMetric(float64(st.Skips), "skips")
			b.ReportMetric(st.DriftPPM, "correction-ppm")
		})
	}
}
