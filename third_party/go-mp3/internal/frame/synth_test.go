package frame

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"
)

// TestSynthWindowMatchesGo checks the window step in use (the vector
// version on amd64 and arm64) against synthWindowGo on random histories,
// writing into random stereo frames mono (both channels) and each channel
// alone. The tolerance is zero: every lane does the scalar code's float32
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
		var got, want [128]byte
		for i := range got {
			got[i] = byte(r.Uint32())
		}
		want = got
		set := synthSet(round%3 == 0, round%2)
		synthWindow(&v, &synthWin, &got, set)
		synthWindowGo(&v, &synthWin, &want, set)
		if got != want {
			for i := 0; i < 32; i++ {
				if g, w := got[4*i:4*i+4], want[4*i:4*i+4]; string(g) != string(w) {
					t.Fatalf("round %d (set %#x) frame %d: vector % x, Go % x (column %v)", round, set, i, g, w, column(&v, i))
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
// the window step: a window of 1 at age 0 only makes every output exactly
// the value of age 0. The other channel's half of each frame is kept.
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
		for ch := 0; ch < 2; ch++ {
			var got, want [128]byte
			for i := range got {
				got[i] = 0x5a
			}
			want = got
			synthWindow(&v, &w, &got, synthSet(false, ch))
			synthWindowGo(&v, &w, &want, synthSet(false, ch))
			for i := 0; i < 32; i++ {
				g := int16(binary.LittleEndian.Uint16(got[4*i+2*ch:]))
				gw := int16(binary.LittleEndian.Uint16(want[4*i+2*ch:]))
				other := binary.LittleEndian.Uint16(got[4*i+2*(1-ch):])
				if g != c.want || gw != c.want || other != 0x5a5a {
					t.Fatalf("%g at output %d channel %d: vector %d, Go %d, want %d (other channel %#x)", c.x, i, ch, g, gw, c.want, other)
				}
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
	var o [128]byte
	b.Run("vector", func(b *testing.B) {
		for range b.N {
			synthWindow(&v, &synthWin, &o, 0xffff)
		}
	})
	b.Run("go", func(b *testing.B) {
		for range b.N {
			synthWindowGo(&v, &synthWin, &o, 0xffff)
		}
	})
}

// TestDct32x4MatchesFlat checks the four-lane DCT in use (the vector
// version on amd64 and arm64) and dct32x4Go against dct32Flat, bit for
// bit (every lane does dct32Flat's operations in its order), at every
// start the synthesis uses.
func TestDct32x4MatchesFlat(t *testing.T) {
	r := rand.New(rand.NewPCG(17, 4))
	var d [576]float32
	for round := 0; round < 2000; round++ {
		scale := float32(math.Pow(10, r.Float64()*8-6))
		for i := range d {
			d[i] = (r.Float32()*2 - 1) * scale
			if r.IntN(8) == 0 {
				d[i] = 0
			}
		}
		for ss := 0; ss <= 14; ss++ {
			var got, gotGo [32][4]float32
			dct32x4(&d, ss, &got)
			dct32x4Go(&d, ss, &gotGo)
			for l := 0; l < 4; l++ {
				var x, want [32]float32
				for j := range x {
					x[j] = d[j*18+ss+l]
				}
				dct32Flat(&x, &want)
				for k := range want {
					w := math.Float32bits(want[k])
					if math.Float32bits(got[k][l]) != w || math.Float32bits(gotGo[k][l]) != w {
						t.Fatalf("round %d ss %d lane %d X[%d]: vector %g, Go %g, dct32Flat %g", round, ss, l, k, got[k][l], gotGo[k][l], want[k])
					}
				}
			}
		}
	}
}

func BenchmarkDct32x4(b *testing.B) {
	var d [576]float32
	r := rand.New(rand.NewPCG(1, 2))
	for i := range d {
		d[i] = r.Float32()*2 - 1
	}
	var y [32][4]float32
	b.Run("vector", func(b *testing.B) {
		for range b.N {
			dct32x4(&d, 4, &y)
		}
	})
	b.Run("go", func(b *testing.B) {
		for range b.N {
			dct32x4Go(&d, 4, &y)
		}
	})
}
