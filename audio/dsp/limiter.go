package dsp

import (
	"fmt"
	"math"
	"time"
)

// Defaults for the output limiter: a ceiling of -1 dBTP leaves room for the
// inter-sample peaks of a later lossy encode or a cheap DAC; 3 ms of attack
// is short enough to hide in the transients it catches, and 100 ms of
// release recovers before a word has passed.
const (
	DefaultCeilingDBTP = -1.0
	DefaultLookahead   = 3 * time.Millisecond
	DefaultRelease     = 100 * time.Millisecond
)

// interpolatorReach is how many samples on either side of an interpolated
// point enter its value: the Annex 2 filter reads six each way.
const interpolatorReach = InterpolatorDelay

// Limiter is a stereo-linked look-ahead peak limiter that keeps both the
// samples and the 4× interpolated (true) peaks of its output at or under a
// ceiling, and passes quieter signal through untouched.
//
// How it works, per frame t:
//
//   - the detector takes the larger of the frame's two sample magnitudes and
//     of the Annex 2 interpolated points that frame completes (see
//     PeakInterpolator), and asks for the gain ceiling/peak (1 if under);
//   - a sliding minimum over the last W requests holds the lowest gain asked
//     for anywhere near;
//   - a release envelope follows that minimum down at once and back up
//     exponentially (time constant release);
//   - a moving average over the last A envelope values (A = lookahead frames)
//     turns each drop into a straight ramp A frames long: the attack;
//   - the frame delayed by D = A + 11 frames is multiplied by that gain.
//
// W = D + 2, so that the minimum covers every request a frame is subject to.
//
// Every envelope value entering the average is at most the lowest request
// in a window that contains the peak, so the average applied to any sample
// within the interpolator's reach of a peak is at most the gain that peak
// asked for: the output's sample peaks never exceed the ceiling, and its
// interpolated peaks exceed it only by what a gain that differs across
// those frames adds (measured with the same Annex 2 interpolator: nothing,
// to 0.0001 dB, on full-scale square waves, tones driven 6 dB over,
// isolated clicks and bursts, and speech driven 12 dB over). ffmpeg's true
// peak, a longer filter, reads the limited output of all but the square
// waves within 0.03 dB of the ceiling;
// on naive full-scale square waves, whose energy reaches the Nyquist
// frequency where the Annex 2 filter rolls off, up to 0.4 dB over.
//
// When the input stays under the ceiling every requested gain is exactly 1
// and the output is the input, bit for bit, Latency frames late.
//
// Non-finite samples (NaN, ±Inf) are replaced by silence.
type Limiter struct {
	ceiling float64 // linear, a hair under the asked ceiling
	attack  int     // A: frames of the moving average
	window  int     // W: frames of the sliding minimum
	delay   int     // D: frames between input and output

	interp [2]PeakInterpolator
	// quiet: a window of samples all under this cannot hold an
	// interpolated point over the ceiling (ceiling / gainBound), so the
	// interpolation is skipped while hot is 0; hot counts the frames whose
	// window still holds a sample over quiet.
	quiet float64
	hot   int
	// exhaustive turns the shortcuts off (tests compare both paths).
	exhaustive bool

	// line delays the input by delay frames (ring, next slot at linePos).
	line    [][2]float64
	linePos int

	// Sliding minimum of requested gains: a deque, in a ring, of
	// (frame, gain) with gains increasing from front to back.
	minGain  []float64
	minFrame []int64
	minHead  int
	minLen   int
	frame    int64 // frames seen so far

	envelope    float64 // release envelope, ≤ the sliding minimum
	releaseStep float64 // fraction of the distance recovered per frame

	// Moving average of the envelope over attack frames.
	box      []float64
	boxPos   int
	boxSum   float64
	boxUnder int // envelope values in box that are not exactly 1

	gain float64 // gain applied to the last frame output
}

// NewLimiter returns a limiter for a stream at rate frames per second that
// holds its output under ceilingDBTP, with the given attack lookahead and
// release time. Lookahead is rounded to whole frames (at least 1) and
// release is clamped to at least one frame. It panics if rate is not
// positive or ceilingDBTP is not finite: both are programming errors, the
// rate being the station's configured output rate.
func NewLimiter(rate int, ceilingDBTP float64, lookahead, release time.Duration) *Limiter {
	if rate <= 0 {
		panic(fmt.Sprintf("dsp.NewLimiter: sample rate %d is not positive", rate))
	}
	if math.IsNaN(ceilingDBTP) || math.IsInf(ceilingDBTP, 0) {
		panic(fmt.Sprintf("dsp.NewLimiter: ceiling %v dBTP is not a number", ceilingDBTP))
	}
	attack := max(1, int(math.Round(lookahead.Seconds()*float64(rate))))
	// A request registered at frame r covers frame r itself (its samples)
	// and frames r-11..r (the inputs of the points interpolated there).
	// The average applied to frame m, output at m+delay, is at most every
	// request registered in [m+delay-window+1, m+delay-attack+1]; that
	// range must contain r for every m in r-11..r. Hence delay >= attack+10
	// and window >= delay+1; one frame more each is a margin.
	delay := attack + 2*interpolatorReach - 1
	window := delay + 2
	releaseFrames := max(1, release.Seconds()*float64(rate))
	l := &Limiter{
		// The margin absorbs the rounding of the moving average (relative
		// error ~attack × 1e-16), so that ceiling is never crossed by an ulp.
		ceiling:     DBToGain(ceilingDBTP) * (1 - 1e-9),
		quiet:       DBToGain(ceilingDBTP) * (1 - 1e-9) / gainBound * (1 - 1e-9),
		attack:      attack,
		window:      window,
		delay:       delay,
		line:        make([][2]float64, delay),
		minGain:     make([]float64, window),
		minFrame:    make([]int64, window),
		releaseStep: -math.Expm1(-1 / releaseFrames),
		box:         make([]float64, attack),
	}
	l.Reset()
	return l
}

// Latency returns the delay, in frames, between a frame entering Process
// and the same frame leaving it: the engine starts sources this much early
// (or accounts for it in its output latency). It is lookahead + 11 frames.
func (l *Limiter) Latency() int { return l.delay }

// Reset empties the limiter: the delay line holds silence and the gain is
// back at 1.
func (l *Limiter) Reset() {
	l.interp = [2]PeakInterpolator{}
	l.hot = 0
	clear(l.line)
	l.linePos = 0
	l.minHead, l.minLen, l.frame = 0, 0, 0
	l.envelope = 1
	for i := range l.box {
		l.box[i] = 1
	}
	l.boxPos, l.boxSum, l.boxUnder = 0, float64(l.attack), 0
	l.gain = 1
}

// GainReductionDB returns the gain applied to the last frame output, in dB
// (0 when not limiting, negative when limiting).
func (l *Limiter) GainReductionDB() float64 { return GainToDB(l.gain) }

// Process limits frames in place: each frame is replaced by the frame that
// entered Latency() frames earlier, scaled by the limiter's gain.
func (l *Limiter) Process(frames [][2]float64) {
	for i := range frames {
		x0, x1 := frames[i][0], frames[i][1]
		if !finite(x0) {
			x0 = 0
		}
		if !finite(x1) {
			x1 = 0
		}

		// Detect: the gain this frame and its interpolated points ask for.
		// Interpolating costs most of the limiter's time and can only find
		// a peak over the ceiling when a sample of its window is over
		// `quiet`: at -16 LUFS most windows are not.
		peak := max(math.Abs(x0), math.Abs(x1))
		if peak > l.quiet || l.exhaustive {
			l.hot = phaseTaps
		}
		if l.hot > 0 {
			l.hot--
			peak = max(peak, l.interp[0].Push(x0), l.interp[1].Push(x1))
		} else {
			l.interp[0].Store(x0)
			l.interp[1].Store(x1)
			if l.idle() {
				// Nothing to limit, nothing pending: what the full path
				// below would do, in a few stores.
				l.minFrame[l.minHead] = l.frame
				l.frame++
				if l.boxPos++; l.boxPos == l.attack {
					l.boxPos = 0
				}
				l.gain = 1
				out := l.line[l.linePos]
				l.line[l.linePos] = [2]float64{x0, x1}
				if l.linePos++; l.linePos == l.delay {
					l.linePos = 0
				}
				frames[i] = out
				continue
			}
		}
		want := 1.0
		if peak > l.ceiling {
			want = l.ceiling / peak
		}

		// Hold: the lowest gain asked for within the last window frames.
		hold := l.slideMin(want)

		// Release: follow down at once, recover exponentially.
		env := l.envelope
		if hold <= env {
			env = hold
		} else {
			env += (hold - env) * l.releaseStep
			if hold-env < 1e-9 {
				// Snap: the remaining step is below -180 dB of the signal,
				// and landing exactly on 1 restores bit-exact pass-through.
				env = hold
			}
		}
		l.envelope = env

		// Attack: the moving average of the envelope.
		g := l.smooth(env)
		l.gain = g

		// Delay and apply.
		out := l.line[l.linePos]
		l.line[l.linePos] = [2]float64{x0, x1}
		l.linePos++
		if l.linePos == l.delay {
			l.linePos = 0
		}
		if g != 1 {
			out[0] *= g
			out[1] *= g
		}
		frames[i] = out
	}
}

// idle reports that the limiter is at unity with no reduction pending:
// the envelope, every value in the moving average and the only request in
// the window are 1.
func (l *Limiter) idle() bool {
	return l.envelope == 1 && l.boxUnder == 0 && l.minLen == 1 && l.minGain[l.minHead] == 1
}

// slideMin adds the gain requested by the current frame and returns the
// lowest gain requested within the last window frames.
func (l *Limiter) slideMin(want float64) float64 {
	n := len(l.minGain)
	// Drop from the front the request that leaves the window (at most one
	// per frame), then from the back the requests this one makes irrelevant.
	if l.minLen > 0 && l.minFrame[l.minHead] <= l.frame-int64(l.window) {
		l.minHead++
		if l.minHead == n {
			l.minHead = 0
		}
		l.minLen--
	}
	for l.minLen > 0 {
		back := l.minHead + l.minLen - 1
		if back >= n {
			back -= n
		}
		if l.minGain[back] < want {
			break
		}
		l.minLen--
	}
	back := l.minHead + l.minLen
	if back >= n {
		back -= n
	}
	l.minGain[back], l.minFrame[back] = want, l.frame
	l.minLen++
	l.frame++
	return l.minGain[l.minHead]
}

// smooth adds env to the moving average and returns the average.
func (l *Limiter) smooth(env float64) float64 {
	old := l.box[l.boxPos]
	l.box[l.boxPos] = env
	if old != 1 {
		l.boxUnder--
	}
	if env != 1 {
		l.boxUnder++
	}
	l.boxSum += env - old
	l.boxPos++
	if l.boxPos == l.attack {
		l.boxPos = 0
		// Start each lap from an exact sum so rounding cannot drift.
		sum := 0.0
		for _, v := range l.box {
			sum += v
		}
		l.boxSum = sum
	}
	if l.boxUnder == 0 {
		l.boxSum = float64(l.attack)
		return 1
	}
	return l.boxSum / float64(l.attack)
}

func finite(x float64) bool { return math.Abs(x) <= math.MaxFloat64 }
