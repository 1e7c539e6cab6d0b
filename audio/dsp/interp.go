package dsp

import "math"

// phaseTaps is the length of each phase of the Annex 2 interpolator.
const phaseTaps = 12

// InterpolatorDelay is how many input samples the points returned by
// PeakInterpolator.Push lag the sample just pushed: they lie between the
// samples pushed InterpolatorDelay and InterpolatorDelay-1 calls earlier
// (at 1/8, 3/8, 5/8 and 7/8 of that sample period). Each point depends on
// the samples up to InterpolatorDelay away on either side.
const InterpolatorDelay = 6

// annex2 is the 48-tap, 4-phase interpolating filter of ITU-R BS.1770-4
// Annex 2 (the coefficients of its table, h[4j+p] = annex2[p][j]), each
// phase reversed so that it multiplies a window whose oldest sample comes
// first. No phase reproduces the input samples themselves: the filter's
// centre falls between two taps.
var annex2 = func() (rev [4][phaseTaps]float64) {
	table := [4][phaseTaps]float64{
		{0.0017089843750, 0.0109863281250, -0.0196533203125, 0.0332031250000, -0.0594482421875, 0.1373291015625,
			0.9721679687500, -0.1022949218750, 0.0476074218750, -0.0266113281250, 0.0148925781250, -0.0083007812500},
		{-0.0291748046875, 0.0292968750000, -0.0517578125000, 0.0891113281250, -0.1665039062500, 0.4650878906250,
			0.7797851562500, -0.2003173828125, 0.1015625000000, -0.0582275390625, 0.0330810546875, -0.0189208984375},
		{-0.0189208984375, 0.0330810546875, -0.0582275390625, 0.1015625000000, -0.2003173828125, 0.7797851562500,
			0.4650878906250, -0.1665039062500, 0.0891113281250, -0.0517578125000, 0.0292968750000, -0.0291748046875},
		{-0.0083007812500, 0.0148925781250, -0.0266113281250, 0.0476074218750, -0.1022949218750, 0.9721679687500,
			0.1373291015625, -0.0594482421875, 0.0332031250000, -0.0196533203125, 0.0109863281250, 0.0017089843750},
	}
	for p := range table {
		for k := range phaseTaps {
			rev[p][k] = table[p][phaseTaps-1-k]
		}
	}
	return rev
}()

// PeakInterpolator oversamples one channel 4× with the BS.1770-4 Annex 2
// filter and reports the largest magnitude among the interpolated points,
// which is what true-peak measurement and the limiter's detector need.
//
// The Annex 2 filter always runs at 4×, whatever the rate: at 96 kHz and
// above the standard allows less, but the stations run at 44.1 or 48 kHz
// and one filter keeps the meter and the limiter reading alike. Its phases
// ripple by up to ±0.2 dB, so a pure tone can read up to 0.2 dB high or
// 0.1 dB low (below 0.45 fs), within EBU Tech 3341's +0.2/-0.4 dB.
//
// The zero value is ready to use and starts from silence.
type PeakInterpolator struct {
	// buf holds each sample twice, phaseTaps apart, so that the last
	// phaseTaps samples are always one contiguous window.
	buf [2 * phaseTaps]float64
	pos int
}

// Push adds the next sample and returns the largest magnitude of the four
// points it lets the filter interpolate (see InterpolatorDelay for where
// they lie). It does not consider the sample itself: true peak is the
// larger of the two.
func (p *PeakInterpolator) Push(x float64) float64 {
	p.buf[p.pos] = x
	p.buf[p.pos+phaseTaps] = x
	p.pos++
	if p.pos == phaseTaps {
		p.pos = 0
	}
	w := p.buf[p.pos : p.pos+phaseTaps : p.pos+phaseTaps]
	c0, c1, c2, c3 := &annex2[0], &annex2[1], &annex2[2], &annex2[3]
	// Two partial sums per phase (even and odd taps) halve the chains of
	// dependent additions, which bound the speed on cores with long
	// multiply-add latency (the Pi's Cortex-A72); on x86 it is neutral.
	var y0, y1, y2, y3, z0, z1, z2, z3 float64
	for k := 0; k < phaseTaps; k += 2 {
		v, u := w[k], w[k+1]
		y0 += c0[k] * v
		y1 += c1[k] * v
		y2 += c2[k] * v
		y3 += c3[k] * v
		z0 += c0[k+1] * u
		z1 += c1[k+1] * u
		z2 += c2[k+1] * u
		z3 += c3[k+1] * u
	}
	return max(math.Abs(y0+z0), math.Abs(y1+z1), math.Abs(y2+z2), math.Abs(y3+z3))
}

// Tail returns the largest interpolated magnitude that the last
// InterpolatorDelay samples would still produce if the signal ended now
// (followed by silence), without changing the interpolator.
// Store takes the next sample into the history without computing the
// interpolated points: for stretches where they cannot matter (see
// quietBound).
func (p *PeakInterpolator) Store(x float64) {
	p.buf[p.pos] = x
	p.buf[p.pos+phaseTaps] = x
	p.pos++
	if p.pos == phaseTaps {
		p.pos = 0
	}
}

// gainBound is the largest sum of the magnitudes of one phase's taps: no
// interpolated point can exceed the largest sample magnitude in its window
// times this.
var gainBound = func() float64 {
	b := 0.0
	for _, phase := range annex2 {
		s := 0.0
		for _, c := range phase {
			s += math.Abs(c)
		}
		b = max(b, s)
	}
	return b
}()

// Bound returns a bound on every point Push can return for the next
// samples, given m, the largest magnitude among them (and finite): a point
// is a weighted sum of the 12 samples in its window, so it exceeds neither
// the largest of them nor of the samples already pushed times gainBound
// (plus a margin for the rounding of the sums). A meter whose true peak is
// already above the bound can Store those samples instead of pushing them,
// and read the same peak.
func (p *PeakInterpolator) Bound(m float64) float64 {
	for _, v := range p.buf[:phaseTaps] {
		m = max(m, math.Abs(v))
	}
	return m * (gainBound * (1 + 1e-9))
}

func (p *PeakInterpolator) Tail() float64 {
	q := *p
	peak := 0.0
	for range InterpolatorDelay {
		peak = max(peak, q.Push(0))
	}
	return peak
}

// Reset forgets the past signal.
func (p *PeakInterpolator) Reset() { *p = PeakInterpolator{} }
