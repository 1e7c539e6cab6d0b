package loudness

import (
	"math"
	"math/rand/v2"
	"testing"

	"loa/audio/dsp"
)

// At 48 kHz the derived coefficients must be the ones BS.1770-4 tabulates.
func TestKFilterMatchesTable48k(t *testing.T) {
	f := newKFilter(48000)
	cases := []struct {
		name string
		got  float64
		want float64
	}{
		{"shelf b0", f.shelf.b0, 1.53512485958697},
		{"shelf b1", f.shelf.b1, -2.69169618940638},
		{"shelf b2", f.shelf.b2, 1.19839281085285},
		{"shelf a1", f.shelf.a1, -1.69065929318241},
		{"shelf a2", f.shelf.a2, 0.73248077421585},
		{"high-pass b0", f.highPass.b0, 1},
		{"high-pass b1", f.highPass.b1, -2},
		{"high-pass b2", f.highPass.b2, 1},
		{"high-pass a1", f.highPass.a1, -1.99004745483398},
		{"high-pass a2", f.highPass.a2, 0.99007225036621},
	}
	for _, c := range cases {
		if math.Abs(c.got-c.want) > 1e-12 {
			t.Errorf("%s = %.14f, BS.1770-4 table 1/2 says %.14f", c.name, c.got, c.want)
		}
	}
}

// TestTruePeakSkipIsExact: the meter skips the oversampling of chunks that
// cannot raise the true peak; its reading must be the one of every point
// interpolated, on a signal with rare peaks (where the skip happens most).
func TestTruePeakSkipIsExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	signal := make([][2]float64, 48000*5)
	for i := range signal {
		amp := 0.05
		if i%7919 < 2 {
			amp = 0.3 + 0.7*rng.Float64() // a rare peak
		}
		signal[i] = [2]float64{amp * (2*rng.Float64() - 1), amp * (2*rng.Float64() - 1)}
	}
	for _, channels := range []int{1, 2} {
		m := NewMeter(48000, channels)
		for rest := signal; len(rest) > 0; { // odd block sizes, as decoders hand them
			n := min(len(rest), 1+rng.IntN(3000))
			m.Write(rest[:n])
			rest = rest[n:]
		}
		var ref [2]dsp.PeakInterpolator
		want := 0.0
		for _, x := range signal {
			for ch := range channels {
				want = max(want, ref[ch].Push(x[ch]))
			}
		}
		if m.truePeak != want {
			t.Errorf("%d channels: true peak %v; every point interpolated gives %v", channels, m.truePeak, want)
		}
	}
}
