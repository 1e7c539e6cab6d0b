package audio

import (
	"loa/audio/dsp"
	"math"

	"github.com/gopxl/beep/v2"
)

// resampler converts a stream between sample rates with a Kaiser-windowed
// sinc filter (polyphase, exact rational ratio). It is used by Prepare,
// which runs once per media file, so it spends CPU for quality: images and
// aliases are about 90 dB down, where beep.Resample (Lagrange
// interpolation) leaves them at about 45 dB (see TestResampleImages).
//
// The output has round(n*to/from) frames for n input frames, and output
// frame k is aligned with input time k*from/to: no delay.
type resampler struct {
	src    beep.Streamer
	up, dn int64     // to/from reduced: output k sits at input k*dn/up
	half   int       // taps on each side, in input samples
	table  []float64 // up rows of 2*half taps; nil if up > maxPhases
	row    []float64 // taps computed per output when table is nil
	fc     float64
	mono   bool

	in       [2][]float64 // input samples base..base+len(in[0]) per channel (in[1] empty if mono)
	edge     []float64    // a window at the edges of the stream
	base     int64
	srcDone  bool
	srcLen   int64
	k        int64 // next output frame
	c, p     int64 // its input position: c + p/up
	step     int64 // dn / up
	stepFrac int64 // dn % up
	chunk    [][2]float64
	err      error
}

const (
	// resampleZeros is the number of zero crossings of the filter on
	// each side, at the lower of the two rates.
	resampleZeros = 48
	// resampleCutoff is the filter's cutoff as a fraction of the lower
	// Nyquist frequency: passband to about 0.9, stopband from 1.0.
	resampleCutoff = 0.95
	resampleBeta   = 9.0 // Kaiser window: about 90 dB stopband
	maxPhases      = 4096
)

func gcd(a, b int64) int64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

func newResampler(src beep.Streamer, from, to int, mono bool) *resampler {
	g := gcd(int64(from), int64(to))
	r := &resampler{src: src, up: int64(to) / g, dn: int64(from) / g, mono: mono, srcLen: -1}
	fc := resampleCutoff * math.Min(1, float64(r.up)/float64(r.dn)) // of the input Nyquist
	r.half = int(math.Ceil(resampleZeros / math.Min(1, float64(r.up)/float64(r.dn))))
	if r.up <= maxPhases {
		taps := 2 * r.half
		r.table = make([]float64, int(r.up)*taps)
		for p := int64(0); p < r.up; p++ {
			row := r.table[int(p)*taps : int(p+1)*taps]
			r.fillRow(row, float64(p)/float64(r.up), fc)
		}
	} else {
		r.row = make([]float64, 2*r.half)
	}
	r.fc = fc
	r.step, r.stepFrac = r.dn/r.up, r.dn%r.up
	r.edge = make([]float64, 2*r.half)
	r.chunk = make([][2]float64, 4096)
	return r
}

// fillRow computes the taps for an output at fractional input offset frac
// (0 <= frac < 1): tap j multiplies input n-half+1+j where n is the
// integer part. Each row is normalised to unit DC gain.
func (r *resampler) fillRow(row []float64, frac, fc float64) {
	sum := 0.0
	i0b := dsp.BesselI0(resampleBeta)
	for j := range row {
		x := float64(j-r.half+1) - frac // input offset from the output instant
		w := x / float64(r.half)
		h := 0.0
		if w > -1 && w < 1 {
			h = fc * dsp.Sinc(fc*x) * dsp.BesselI0(resampleBeta*math.Sqrt(1-w*w)) / i0b
		}
		row[j] = h
		sum += h
	}
	for j := range row {
		row[j] /= sum
	}
}

// fill makes sure input frames up to index need (inclusive) are buffered,
// or the source has ended. Input is kept one slice per channel, so that
// the filter reads contiguous samples.
func (r *resampler) fill(need int64) {
	for !r.srcDone && r.base+int64(len(r.in[0])) <= need {
		n, ok := r.src.Stream(r.chunk)
		for _, f := range r.chunk[:n] {
			r.in[0] = append(r.in[0], f[0])
		}
		if !r.mono {
			for _, f := range r.chunk[:n] {
				r.in[1] = append(r.in[1], f[1])
			}
		}
		if !ok {
			r.srcDone = true
			r.srcLen = r.base + int64(len(r.in[0]))
			r.err = r.src.Err()
		}
	}
}

// window returns the taps input samples of channel ch from first, zero
// outside the stream.
func (r *resampler) window(ch int, first int64, taps int) []float64 {
	lo := first - r.base
	if lo >= 0 && lo+int64(taps) <= int64(len(r.in[ch])) {
		return r.in[ch][lo : lo+int64(taps)]
	}
	// At the edges of the stream.
	w := r.edge[:taps]
	for j := range w {
		i := lo + int64(j)
		w[j] = 0
		if i >= 0 && i < int64(len(r.in[ch])) {
			w[j] = r.in[ch][i]
		}
	}
	return w
}

func (r *resampler) Stream(samples [][2]float64) (n int, ok bool) {
	taps := 2 * r.half
	for n < len(samples) {
		c, p := r.c, r.p // output k sits at input c + p/up
		first := c - int64(r.half) + 1
		if need := c + int64(r.half); need >= r.base+int64(len(r.in[0])) {
			r.fill(need)
		}
		if r.srcDone {
			outLen := (r.srcLen*r.up + r.dn/2) / r.dn
			if r.k >= outLen {
				break
			}
		}
		// Drop input no longer needed (keep it amortised).
		if drop := first - r.base; drop > 8192 {
			for ch := range r.in {
				if len(r.in[ch]) == 0 {
					continue // the second channel of mono
				}
				m := copy(r.in[ch], r.in[ch][drop:])
				r.in[ch] = r.in[ch][:m]
			}
			r.base += drop
		}
		var row []float64
		if r.table != nil {
			row = r.table[int(p)*taps : int(p+1)*taps]
		} else {
			row = r.row
			r.fillRow(row, float64(p)/float64(r.up), r.fc)
		}
		var acc [2]float64
		acc[0] = dot(row, r.window(0, first, taps))
		if r.mono {
			acc[1] = acc[0]
		} else {
			acc[1] = dot(row, r.window(1, first, taps))
		}
		samples[n] = acc
		n++
		r.k++
		r.c += r.step
		if r.p += r.stepFrac; r.p >= r.up {
			r.p -= r.up
			r.c++
		}
	}
	return n, n > 0
}

// dot returns the sum of h[j]*x[j] (len(x) >= len(h)) in four interleaved
// partial sums: one chain of dependent additions would bound the speed.
// Each product is rounded to float64 before it is added (the conversions
// keep the compiler from fusing multiply and add, which it may do on arm64
// and not on amd64), so that every architecture computes the same bits.
func dot(h, x []float64) float64 {
	x = x[:len(h)]
	var s0, s1, s2, s3 float64
	j := 0
	for ; j+4 <= len(h); j += 4 {
		hh, xx := h[j:j+4:j+4], x[j:j+4:j+4]
		s0 += float64(hh[0] * xx[0])
		s1 += float64(hh[1] * xx[1])
		s2 += float64(hh[2] * xx[2])
		s3 += float64(hh[3] * xx[3])
	}
	for ; j < len(h); j++ {
		s0 += float64(h[j] * x[j])
	}
	return (s0 + s1) + (s2 + s3)
}

func (r *resampler) Err() error { return r.err }
