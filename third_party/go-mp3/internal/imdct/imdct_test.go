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

// TestWinLong2MatchesWin checks WinLong2 (the vector version on amd64 and
// arm64) against Win of each subband, bit for bit: every lane does
// dct4x18's and winStore's operations in their order (float64 products
// and sums, then the float32 window), so no rounding can differ.
func TestWinLong2MatchesWin(t *testing.T) {
	r := rand.New(rand.NewSource(175))
	for round := 0; round < 20000; round++ {
		var in [36]float32
		scale := float32(math.Pow(10, r.Float64()*10-6))
		for i := range in {
			in[i] = (r.Float32()*2 - 1) * scale
			if r.Intn(6) == 0 {
				in[i] = 0
			}
		}
		for _, bt := range []int{0, 1, 3} {
			var got, want [2][36]float32
			WinLong2(&in, bt, &got)
			Win(in[:18], bt, &want[0])
			Win(in[18:], bt, &want[1])
			for l := range got {
				for p := range got[l] {
					if math.Float32bits(got[l][p]) != math.Float32bits(want[l][p]) {
						t.Fatalf("round %d block type %d subband %d output %d: WinLong2 %g, Win %g", round, bt, l, p, got[l][p], want[l][p])
					}
				}
			}
		}
	}
}

func BenchmarkWinLong(b *testing.B) {
	var in [36]float32
	r := rand.New(rand.NewSource(12))
	for i := range in {
		in[i] = r.Float32()*2 - 1
	}
	var out [2][36]float32
	b.Run("WinLong2", func(b *testing.B) {
		for range b.N {
			WinLong2(&in, 0, &out)
		}
	})
	b.Run("Win2x", func(b *testing.B) {
		for range b.N {
			Win(in[:18], 0, &out[0])
			Win(in[18:], 0, &out[1])
		}
	})
}
