package dsp

import "math"

// Ramp moves a gain from its current value to a target over an exact number
// of frames, linearly in amplitude, and holds it there.
//
// Linear in amplitude, not in decibels, because the engine's ramps end at
// silence as often as not (20 ms preemption fades, program fade-outs): a
// ramp in decibels never reaches zero and needs a cut at the end, which is
// the click the ramp exists to avoid. Linear gain reaches 0 on the frame
// asked for, and a new ramp starts from wherever the last one got to, so
// retargeting in mid-ramp is continuous. For the 0.5 s ducking ramps
// (1 → -15 dB) the curve shape is not audible as such; what matters is that
// no frame-to-frame gain step exceeds (start-target)/frames.
//
// Make one with NewRamp; the zero Ramp holds gain 0 (silence).
type Ramp struct {
	start, target float64
	step          float64 // gain change per frame while ramping
	total, done   int     // frames in the ramp, frames already processed
	current       float64 // gain applied to the last frame processed
}

// NewRamp returns a ramp that holds gain until told otherwise.
func NewRamp(gain float64) *Ramp {
	g := sanitizeGain(gain)
	return &Ramp{start: g, target: g, current: g}
}

// SetTarget starts a ramp from the current gain to gain, arriving on the
// frames-th frame processed from now and holding there afterwards.
// frames <= 0 jumps at once. A negative, NaN or infinite gain is taken as 0.
func (r *Ramp) SetTarget(gain float64, frames int) {
	g := sanitizeGain(gain)
	r.start, r.target, r.done = r.current, g, 0
	if frames <= 0 || g == r.current {
		r.total, r.step, r.current = 0, 0, g
		return
	}
	r.total = frames
	r.step = (g - r.start) / float64(frames)
}

// Process multiplies frames, in place, by the ramp's gain, advancing the
// ramp by one step per frame. Once the target is reached, a gain of 1 leaves
// the samples untouched (bit-exact).
func (r *Ramp) Process(frames [][2]float64) {
	i := 0
	if r.done < r.total {
		n := min(len(frames), r.total-r.done)
		for ; i < n; i++ {
			r.done++
			g := r.start + r.step*float64(r.done)
			if r.done == r.total {
				g = r.target
			}
			frames[i][0] *= g
			frames[i][1] *= g
			r.current = g
		}
		if r.done < r.total {
			return
		}
	}
	g := r.target
	r.current = g
	if g == 1 {
		return
	}
	for ; i < len(frames); i++ {
		frames[i][0] *= g
		frames[i][1] *= g
	}
}

// Current returns the gain applied to the last frame processed (the
// starting gain if no frame has been processed since SetTarget).
func (r *Ramp) Current() float64 { return r.current }

// Target returns the gain the ramp is heading for.
func (r *Ramp) Target() float64 { return r.target }

// Done reports whether the ramp has reached its target.
func (r *Ramp) Done() bool { return r.done >= r.total }

func sanitizeGain(g float64) float64 {
	if !(g > 0) || math.IsInf(g, 1) { // negative, zero, NaN or infinite
		return 0
	}
	return g
}
