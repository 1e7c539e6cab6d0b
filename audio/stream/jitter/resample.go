package jitter

import (
	"math"

	"loa/audio/dsp"
)

// resampler converts between sample rates at a ratio that may change
// slightly from one call to the next: the drift servo nudges it by a few
// hundred parts per million to keep the buffer at its target.
//
// It is a Kaiser-windowed sinc interpolator, like the audio package's file
// resampler, but that one is polyphase at an exact rational ratio, which
// cannot follow a ratio that changes all the time. Here the filter is
// tabulated at resPhases fractional positions and interpolated linearly
// between them, so any position between two input samples gets its own
// filter (the error of the interpolation is far below the stopband).
//
// 24 zero crossings a side (48 taps at ratio 1) and a cutoff at 0.9 of the
// lower Nyquist frequency: the passband reaches 17.5 kHz at 44.1 kHz
// (LAME lowpasses 128 kbps at 17 kHz), and images and aliases are about
// 80 dB down. It runs on the producer's goroutine, never in the output's.
type resampler struct {
	half  int       // taps on each side of the output instant
	taps  int       // 2*half
	rows  []float64 // (resPhases+1) rows of taps: the filter at frac p/resPhases
	diffs []float64 // rows[p+1]-rows[p], for the linear interpolation
	nom   float64   // input samples per output sample, without correction

	hist [][2]float64 // input; hist[0] is input index base
	t    float64      // position of the next output in hist
}

const (
	resZeros  = 24
	resCutoff = 0.90
	resBeta   = 8.0
	resPhases = 256
)

func newResampler(in, out int) *resampler {
	scale := math.Min(1, float64(out)/float64(in)) // < 1 when downsampling
	half := int(math.Ceil(resZeros / scale))
	r := &resampler{half: half, taps: 2 * half, nom: float64(in) / float64(out)}
	fc := resCutoff * scale
	r.rows = make([]float64, (resPhases+1)*r.taps)
	i0b := dsp.BesselI0(resBeta)
	for p := 0; p <= resPhases; p++ {
		row := r.rows[p*r.taps : (p+1)*r.taps]
		frac := float64(p) / resPhases
		sum := 0.0
		for j := range row {
			x := float64(j-half+1) - frac // input offset from the output instant
			w := x / float64(half)
			h := 0.0
			if w > -1 && w < 1 {
				h = fc * dsp.Sinc(fc*x) * dsp.BesselI0(resBeta*math.Sqrt(1-w*w)) / i0b
			}
			row[j] = h
			sum += h
		}
		for j := range row {
			row[j] /= sum
		}
	}
	r.diffs = make([]float64, resPhases*r.taps)
	for i := range r.diffs {
		r.diffs[i] = r.rows[i+r.taps] - r.rows[i]
	}
	r.reset()
	return r
}

// reset forgets the input: the next input sample is the first, and the
// first output sits on it (half input samples of look-ahead are the delay).
func (r *resampler) reset() {
	r.hist = r.hist[:0]
	for range r.half - 1 {
		r.hist = append(r.hist, [2]float64{})
	}
	r.t = float64(r.half - 1)
}

// process appends the output frames that in makes computable to out, with
// corr the relative correction of the ratio (positive: fewer output frames
// per input frame).
func (r *resampler) process(in [][2]float64, out [][2]float64, corr float64) [][2]float64 {
	r.hist = append(r.hist, in...)
	step := r.nom * (1 + corr)
	taps := r.taps
	for {
		i := int(r.t)
		if i+r.half >= len(r.hist) {
			break
		}
		frac := (r.t - float64(i)) * resPhases
		p := int(frac)
		if p >= resPhases { // r.t rounding
			p = resPhases - 1
		}
		f := frac - float64(p)
		row := r.rows[p*taps : (p+1)*taps]
		diff := r.diffs[p*taps : (p+1)*taps]
		win := r.hist[i-r.half+1 : i-r.half+1+taps]
		var a0, a1 float64
		for j, h := range row {
			h += f * diff[j]
			a0 += h * win[j][0]
			a1 += h * win[j][1]
		}
		out = append(out, [2]float64{a0, a1})
		r.t += step
	}
	// Drop input no longer needed, in large steps so the copy is amortised.
	if drop := int(r.t) - r.half + 1; drop > 4096 {
		m := copy(r.hist, r.hist[drop:])
		r.hist = r.hist[:m]
		r.t -= float64(drop)
	}
	return out
}
