package jitter

import (
	"fmt"
	"loa/internal/testaudio"
	"math"
	"testing"
)

// fitSine is testaudio.FitSine without the phase.
func fitSine(x []float64, f, rate float64) (amp, snr float64) {
	amp, snr, _ = testaudio.FitSine(x, f, rate)
	return amp, snr
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
