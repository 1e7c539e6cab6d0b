package frame

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestSynthWindowMatchesGo checks the window step in use (the vector
// version on amd64 and arm64) against synthWindowGo on random histories.
// The tolerance is zero: every lane does the scalar code's float32
// operations in the same order (each product rounded, then the same
// sums), so no rounding can differ and the 16-bit results must be the
// same bits. The values cover ordinary samples, samples past full scale
// (clipped), tiny and zero ones, and infinities and NaN (clipped; NaN
// gives -32768 on both).
func TestSynthWindowMatchesGo(t *testing.T) {
	r := rand.New(rand.NewPCG(17, 3))
	special := []float32{0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), 1e-30, -1e-30, 65536, -65536}
	var v [16][32]float32
	for round := 0; round < 20000; round++ {
		// The scale takes the sums from tiny through full scale to far past it.
		scale := float32(math.Pow(10, r.Float64()*8-5))
		for a := range v {
			for i := range v[a] {
				v[a][i] = (r.Float32()*2 - 1) * scale
			}
		}
		if round%10 == 0 {
			for n := 0; n < 4; n++ {
				v[r.IntN(16)][r.IntN(32)] = special[r.IntN(len(special))]
			}
		}
		var got, want [32]int16
		synthWindow(&v, &synthWin, &got)
		synthWindowGo(&v, &synthWin, &want)
		if got != want {
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("round %d output %d: vector %d, Go %d (column %v)", round, i, got[i], want[i], column(&v, i))
				}
			}
		}
	}
}

func column(v *[16][32]float32, i int) (c [16]float32) {
	for a := range c {
		c[a] = v[a][i]
	}
	return c
}

// TestSynthWindowRounding checks toInt16's rounding and clipping through
// the window step: a history with only the newest value of age 0 set
// makes output i exactly D[i] v (window coefficient 1 is put in place).
func TestSynthWindowRounding(t *testing.T) {
	var w [16][32]float32
	for i := range w[0] {
		w[0][i] = 1
	}
	cases := []struct {
		x    float32
		want int16
	}{
		{0, 0}, {0.5 / 32768, 1}, {0.49 / 32768, 0}, {-0.5 / 32768, 0}, {-0.51 / 32768, -1},
		{1, 32767}, {-1, -32768}, {2, 32767}, {-2, -32768}, {32767.0 / 32768, 32767},
		{float32(math.Inf(1)), 32767}, {float32(math.Inf(-1)), -32768},
	}
	for _, c := range cases {
		var v [16][32]float32
		for i := range v[0] {
			v[0][i] = c.x
		}
		var got, want [32]int16
		synthWindow(&v, &w, &got)
		synthWindowGo(&v, &w, &want)
		for i := range got {
			if got[i] != c.want || want[i] != c.want {
				t.Fatalf("%g at output %d: vector %d, Go %d, want %d", c.x, i, got[i], want[i], c.want)
			}
		}
	}
}

func BenchmarkSynthWindow(b *testing.B) {
	var v [16][32]float32
	r := rand.New(rand.NewPCG(1, 2))
	for a := range v {
		for i := range v[a] {
			v[a][i] = r.Float32()*2 - 1
		}
	}
	var out [32]int16
	b.Run("vector", func(b *testing.B) {
		for range b.N {
			synthWindow(&v, &synthWin, &out)
		}
	})
	b.Run("go", func(b *testing.B) {
		for range b.N {
			synthWindowGo(&v, &synthWin, &out)
		}
	})
}
