package loudness

import "math"

// kFilter is the K-weighting of BS.1770-4 for one channel: a high shelf
// (+4 dB above about 1.7 kHz, the head's acoustic effect) followed by the
// RLB high-pass (about 38 Hz). The standard tabulates coefficients for
// 48 kHz only; these come from the analog prototypes behind that table,
// through the bilinear transform, for any rate, as libebur128 and ffmpeg
// derive them, and reproduce the table at 48 kHz.
type kFilter struct {
	shelf, highPass biquad
}

func newKFilter(rate int) kFilter {
	fs := float64(rate)

	// Pre-filter: high shelf.
	const (
		shelfF0   = 1681.974450955533
		shelfGain = 3.999843853973347 // dB
		shelfQ    = 0.7071752369554196
	)
	k := math.Tan(math.Pi * shelfF0 / fs)
	vh := math.Pow(10, shelfGain/20)
	vb := math.Pow(vh, 0.4996667741545416)
	a0 := 1 + k/shelfQ + k*k
	shelf := biquad{
		b0: (vh + vb*k/shelfQ + k*k) / a0,
		b1: 2 * (k*k - vh) / a0,
		b2: (vh - vb*k/shelfQ + k*k) / a0,
		a1: 2 * (k*k - 1) / a0,
		a2: (1 - k/shelfQ + k*k) / a0,
	}

	// RLB high-pass. Its numerator stays 1, -2, 1 as in the standard's
	// table (not normalised by a0): the -0.691 dB of the loudness formula
	// was calibrated with it.
	const (
		highPassF0 = 38.13547087602444
		highPassQ  = 0.5003270373238773
	)
	k = math.Tan(math.Pi * highPassF0 / fs)
	a0 = 1 + k/highPassQ + k*k
	highPass := biquad{
		b0: 1, b1: -2, b2: 1,
		a1: 2 * (k*k - 1) / a0,
		a2: (1 - k/highPassQ + k*k) / a0,
	}
	return kFilter{shelf: shelf, highPass: highPass}
}

func (f *kFilter) process(x float64) float64 {
	return f.highPass.process(f.shelf.process(x))
}

// flushDenormals zeroes filter states too small to matter (below -600 dB),
// which would otherwise decay through the denormal range after a signal
// stops and slow some CPUs by two orders of magnitude.
func (f *kFilter) flushDenormals() {
	f.shelf.flush()
	f.highPass.flush()
}

// biquad is a second-order IIR section in transposed direct form II.
type biquad struct {
	b0, b1, b2, a1, a2 float64
	s1, s2             float64
}

func (q *biquad) process(x float64) float64 {
	y := q.b0*x + q.s1
	q.s1 = q.b1*x - q.a1*y + q.s2
	q.s2 = q.b2*x - q.a2*y
	return y
}

func (q *biquad) flush() {
	const tiny = 1e-30
	if math.Abs(q.s1) < tiny {
		q.s1 = 0
	}
	if math.Abs(q.s2) < tiny {
		q.s2 = 0
	}
}
