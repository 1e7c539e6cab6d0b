package loudness_test

import (
	"testing"

	"loa/audio/loudness"
)

// BenchmarkMeterWrite reports the meter's throughput in frames per second
// (and per-frame cost) for 1 s blocks of music-like sound.
func BenchmarkMeterWrite(b *testing.B) {
	for _, c := range []struct {
		name     string
		rate     int
		channels int
	}{
		{"stereo-48k", 48000, 2},
		{"mono-44k1", 44100, 1},
	} {
		b.Run(c.name, func(b *testing.B) {
			frames := render(c.rate, tone{440, -12, 1, 0})
			m := loudness.NewMeter(c.rate, c.channels)
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				m.Write(frames)
				n += len(frames)
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "frames/s")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/frame")
		})
	}
}

// BenchmarkMeterReadings is the cost of reading every value, as a status
// page or the measurement of a file would.
func BenchmarkMeterReadings(b *testing.B) {
	m := loudness.NewMeter(48000, 2)
	m.Write(render(48000, tone{440, -12, 60, 0}, tone{440, -30, 60, 0}))
	b.ReportAllocs()
	for b.Loop() {
		_ = m.Integrated() + m.LoudnessRange() + m.Momentary() + m.ShortTerm() + m.TruePeak()
	}
}
