package audio

import (
	"math"

	"loa/audio/dsp"
	"loa/audio/loudness"
)

// LevelFollower brings a live stream (a relay) toward the station's
// loudness target. A stream's integrated loudness is not known in advance,
// so the gain follows its short-term loudness (3 s) slowly — at most 1 dB
// per second, within ±12 dB — and holds still through silence, so that a
// pause in speech is not pumped up.
type LevelFollower struct {
	src interface {
		Stream([][2]float64) (int, bool)
	}
	meter  *loudness.Meter
	target float64
	gain   float64 // current linear gain
	rate   int
	since  int // frames since the last adjustment
}

// NewLevelFollower wraps src (read at rate) for a target in LUFS.
func NewLevelFollower(src interface {
	Stream([][2]float64) (int, bool)
}, rate int, targetLUFS float64) *LevelFollower {
	return &LevelFollower{src: src, meter: loudness.NewMeter(rate, 2), target: targetLUFS, gain: 1, rate: rate}
}

// ReadFrames implements FrameReader: the next frames of the stream (the
// position is ignored), with the following gain; what the stream lacks is
// silence.
func (f *LevelFollower) ReadFrames(_ int64, dst [][2]float64) (int, error) {
	n, _ := f.src.Stream(dst)
	clear(dst[n:])
	f.meter.Write(dst)
	f.since += len(dst)
	step := f.rate / 10 // adjust ten times a second
	if f.since >= step {
		f.since = 0
		if st := f.meter.ShortTerm(); st > -50 && !math.IsInf(st, 0) {
			want := dsp.DBToGain(math.Max(-12, math.Min(12, f.target-st)))
			// 1 dB/s at 10 steps a second: 0.1 dB a step.
			maxStep := dsp.DBToGain(0.1)
			switch {
			case want > f.gain*maxStep:
				f.gain *= maxStep
			case want < f.gain/maxStep:
				f.gain /= maxStep
			default:
				f.gain = want
			}
		}
	}
	if f.gain != 1 {
		for i := range dst {
			dst[i][0] *= f.gain
			dst[i][1] *= f.gain
		}
	}
	return len(dst), nil
}

// Close does nothing: the stream belongs to whoever opened it.
func (f *LevelFollower) Close() error { return nil }

// Gain is the gain currently applied, in dB.
func (f *LevelFollower) Gain() float64 { return dsp.GainToDB(f.gain) }
