package imdct

import (
	"math"
	"math/rand"
	"testing"
)

// TestWinLongMatchesDefinition checks the fast long-block IMDCT against
// the definition, x[p] = sum_m in[m] cos(pi/72 (2p+1+18)(2m+1)), computed
// in float64 and windowed, for every long block type.
func TestWinLongMatchesDefinition(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	for _, bt := range []int{0, 1, 3} {
		for trial := 0; trial < 200; trial++ {
			in := make([]float32, 18)
			for m := range in {
				in[m] = float32(r.NormFloat64())
			}
			var got [36]float32
			Win(in, bt, &got)
			for p := 0; p < 36; p++ {
				var want float64
				for m := 0; m < 18; m++ {
					want += float64(in[m]) * math.Cos(math.Pi/72*float64(2*p+1+18)*float64(2*m+1))
				}
				want *= float64(imdctWinData[bt][p])
				if d := math.Abs(float64(got[p]) - want); d > 2e-5 {
					t.Fatalf("block type %d, output %d: %g, want %g (off by %g)", bt, p, got[p], want, d)
				}
			}
		}
	}
}

// TestWinShortMatchesDefinition checks the three 12-point IMDCTs of a
// short block, windowed and overlapped into out[6:30].
func TestWinShortMatchesDefinition(t *testing.T) {
	r := rand.New(rand.NewSource(2))
	for trial := 0; trial < 200; trial++ {
		in := make([]float32, 18)
		for m := range in {
			in[m] = float32(r.NormFloat64())
		}
		var got [36]float32
		Win(in, 2, &got)
		var want [36]float64
		for i := 0; i < 3; i++ {
			for p := 0; p < 12; p++ {
				var x float64
				for m := 0; m < 6; m++ {
					x += float64(in[i+3*m]) * math.Cos(math.Pi/24*float64(2*p+1+6)*float64(2*m+1))
				}
				want[6*i+p+6] += x * float64(imdctWinData[2][p])
			}
		}
		for p := range want {
			if d := math.Abs(float64(got[p]) - want[p]); d > 1e-5 {
				t.Fatalf("output %d: %g, want %g (off by %g)", p, got[p], want[p], d)
			}
		}
	}
}
