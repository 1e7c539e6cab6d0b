package dsp_test

import (
	"testing"

	"loa/audio/dsp"
)

func perFrame(b *testing.B, frames int) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(frames), "ns/frame")
}

// BenchmarkLimiterProcess limits 10 ms blocks (an output callback's worth)
// of a quiet signal (pass-through) and of an overdriven one (limiting).
func BenchmarkLimiterProcess(b *testing.B) {
	for _, c := range []struct {
		name  string
		input [][2]float64
	}{
		{"quiet", sines(48000, 1, [][2]float64{{440, 0.2}}, [][2]float64{{660, 0.2}})},
		{"overdriven", sines(48000, 1, [][2]float64{{440, 1}, {3150, 1}}, [][2]float64{{554, 1}, {5000, 1}})},
	} {
		b.Run(c.name, func(b *testing.B) {
			l := dsp.NewLimiter(48000, -1, dsp.DefaultLookahead, dsp.DefaultRelease)
			buf := make([][2]float64, 480)
			b.ReportAllocs()
			n, pos := 0, 0
			for b.Loop() {
				copy(buf, c.input[pos:pos+480])
				pos = (pos + 480) % (len(c.input) - 480)
				l.Process(buf)
				n += len(buf)
			}
			perFrame(b, n)
		})
	}
}

// BenchmarkRampProcess applies a ramp that is moving (a 0.5 s duck,
// restarted when done) and one that holds a gain other than 1.
func BenchmarkRampProcess(b *testing.B) {
	buf := ones(480)
	b.Run("ramping", func(b *testing.B) {
		r := dsp.NewRamp(1)
		b.ReportAllocs()
		n := 0
		for b.Loop() {
			if r.Done() {
				r.SetTarget(1.2-r.Current(), 24000)
			}
			r.Process(buf)
			n += len(buf)
		}
		perFrame(b, n)
	})
	b.Run("holding", func(b *testing.B) {
		r := dsp.NewRamp(0.5)
		b.ReportAllocs()
		n := 0
		for b.Loop() {
			r.Process(buf)
			n += len(buf)
		}
		perFrame(b, n)
	})
}
