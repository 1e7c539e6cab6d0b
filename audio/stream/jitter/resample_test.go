package jitter

import (
	"fmt"
	"math"
	"testing"
)

// fitSine fits a·sin + b·cos + c at frequency f (Hz) to x by least squares
// and returns the amplitude and the ratio of the sine's power to the
// residual's, in dB.
func fitSine(x []float64, f, rate float64) (amp, snr float64) {
	var m [3][3]float64
	var v [3]float64
	w := 2 * math.Pi * f / rate
	for i, y := range x {
		s, c := math.Sincos(w * float64(i))
		basis := [3]float64{s, c, 1}
		for p := range 3 {
			v[p] += basis[p] * y
			for q := range 3 {
				m[p][q] += basis[p] * basis[q]
			}
		}
	}
	k := solve3(m, v)
	res := 0.0
	for i, y := range x {
		s, c := math.Sincos(w * float64(i))
		e := y - (k[0]*s + k[1]*c + k[2])
		res += e * e
	}
	amp = math.Hypot(k[0], k[1])
	sig := amp * amp / 2 * float64(len(x))
	return amp, 10 * math.Log10(sig/math.Max(res, 1e-300))
}

func solve3(m [3][3]float64, v [3]float64) [3]float64 {
	for c := range 3 {
		p := c
		for r := c + 1; r < 3; r++ {
			if math.Abs(m[r][c]) > math.Abs(m[p][c]) {
				p = r
			}
		}
		m[c], m[p] = m[p], m[c]
		v[c], v[p] = v[p], v[c]
		for r := range 3 {
			if r != c && m[c][c] != 0 {
				f := m[r][c] / m[c][c]
				for q := range 3 {
					m[r][q] -= f * m[c][q]
				}
				v[r] -= f * v[c]
			}
		}
	}
	var k [3]float64
	for c := range 3 {
		if m[c][c] != 0 {
			k[c] = v[c] / m[c][c]
		}
	}
	return k
}

func sineFrames(f, rate float64, n int, amp float64) [][2]float64 {
	x := make([][2]float64, n)
	for i := range x {
		v := amp * math.Sin(2*math.Pi*f*float64(i)/rate)
		x[i] = [2]float64{v, -v}
	}
	return x
}

// TestResamplerTones passes pure tones through the rates a relay meets and
// a drifting ratio, in odd-sized pieces, and checks that what comes out is
// the same tone at the output rate, with everything else at least 70 dB
// down (images, aliases, interpolation error), and that the length follows
// the ratio.
func TestResamplerTones(t *testing.T) {
	cases := []struct {
		in, out int
		corr    float64
		freqs   []float64
	}{
		{44100, 44100, 0, []float64{1000, 10000, 16000}},
		{44100, 44100, 1e-3, []float64{1000, 10000, 16000}},
		{44100, 44100, -1e-3, []float64{1000, 16000}},
		{44100, 44100, 3e-3, []float64{440, 12345}},
		{48000, 44100, 0, []float64{1000, 16000}},
		{44100, 48000, 2e-4, []float64{1000, 16000}},
		{22050, 44100, 0, []float64{1000, 8000}},
		{32000, 48000, -5e-4, []float64{1000, 12000}},
		{8000, 44100, 0, []float64{300, 3000}},
	}
	for _, c := range cases {
		for _, f := range c.freqs {
			t.Run(fmt.Sprintf("%d-%d%+g/%gHz", c.in, c.out, c.corr, f), func(t *testing.T) {
				r := newResampler(c.in, c.out)
				in := sineFrames(f, float64(c.in), 3*c.in, 0.5)
				var out [][2]float64
				for len(in) > 0 {
					k := min(len(in), 1000+len(out)%777)
					out = r.process(in[:k], out, c.corr)
					in = in[k:]
				}
				ratio := float64(c.out) / float64(c.in) / (1 + c.corr)
				wantLen := 3 * float64(c.in) * ratio
				if math.Abs(float64(len(out))-wantLen) > (float64(r.half)+2)*ratio {
					t.Fatalf("%d output frames, want %.0f", len(out), wantLen)
				}
				// Skip the start (zeros before the first input) and
				// the end (look-ahead not yet filled).
				seg := out[2*r.half : len(out)-2*r.half]
				left := make([]float64, len(seg))
				right := make([]float64, len(seg))
				for i, v := range seg {
					left[i], right[i] = v[0], v[1]
				}
				// The tone is played faster by the correction.
				amp, snr := fitSine(left, f*(1+c.corr), float64(c.out))
				_, snrR := fitSine(right, f*(1+c.corr), float64(c.out))
				if math.Abs(amp-0.5) > 0.005 {
					t.Errorf("amplitude %.4f, want 0.5", amp)
				}
				if snr < 70 || snrR < 70 {
					t.Errorf("SNR %.1f / %.1f dB, want >= 70", snr, snrR)
				}
				t.Logf("%d frames, amplitude %.4f, SNR %.1f dB", len(out), amp, snr)
			})
		}
	}
}

// TestResamplerRejectsAliases: downsampling 48 kHz to 44.1 kHz, a tone above
// the output's Nyquist frequency must not fold back into the band.
func TestResamplerRejectsAliases(t *testing.T) {
	r := newResampler(48000, 44100)
	in := sineFrames(23000, 48000, 48000, 0.5)
	out := r.process(in, nil, 0)
	seg := out[2*r.half : len(out)-2*r.half]
	peak, energy := 0.0, 0.0
	for _, v := range seg {
		peak = max(peak, math.Abs(v[0]))
		energy += v[0] * v[0]
	}
	rms := math.Sqrt(energy / float64(len(seg)))
	if db := 20 * math.Log10(rms/(0.5/math.Sqrt2)); db > -60 {
		t.Errorf("a 23 kHz tone comes out of 48→44.1 kHz at %.1f dB, want < -60 dB", db)
	}
}
