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

	in      [][2]float64 // input frames base..base+len(in)
	base    int64
	srcDone bool
	srcLen  int64
	k       int64 // next output frame
	chunk   [][2]float64
	err     error
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
// or the source has ended.
func (r *resampler) fill(need int64) {
	for !r.srcDone && r.base+int64(len(r.in)) <= need {
		n, ok := r.src.Stream(r.chunk)
		r.in = append(r.in, r.chunk[:n]...)
		if !ok {
			r.srcDone = true
			r.srcLen = r.base + int64(len(r.in))
			r.err = r.src.Err()
		}
	}
}

func (r *resampler) at(i int64) [2]float64 {
	if i < r.base || i >= r.base+int64(len(r.in)) {
		return [2]float64{}
	}
	return r.in[i-r.base]
}

func (r *resampler) Stream(samples [][2]float64) (n int, ok bool) {
	taps := 2 * r.half
	for n < len(samples) {
		pos := r.k * r.dn
		c := pos / r.up // integer input index
		p := pos % r.up
		first := c - int64(r.half) + 1
		r.fill(c + int64(r.half))
		if r.srcDone {
			outLen := (r.srcLen*r.up + r.dn/2) / r.dn
			if r.k >= outLen {
				break
			}
		}
		// Drop input no longer needed (keep it amortised).
		if drop := first - r.base; drop > 8192 {
			m := copy(r.in, r.in[drop:])
			r.in = r.in[:m]
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
		lo := first - r.base
		if lo >= 0 && lo+int64(taps) <= int64(len(r.in)) {
			win := r.in[lo : lo+int64(taps)]
			if r.mono {
				for j, h := range row {
					acc[0] += h * win[j][0]
				}
				acc[1] = acc[0]
			} else {
				for j, h := range row {
					acc[0] += h * win[j][0]
					acc[1] += h * win[j][1]
				}
			}
		} else { // at the edges of the stream
			for j, h := range row {
				v := r.at(first + int64(j))
				acc[0] += h * v[0]
				acc[1] += h * v[1]
			}
		}
		samples[n] = acc
		n++
		r.k++
	}
	return n, n > 0
}

func (r *resampler) Err() error { return r.err }
