package frame

import (
	"math"
	"testing"
)

// BenchmarkSynthesize is one granule's synthesis (18 time samples of 32
// subbands) of one channel.
func BenchmarkSynthesize(b *testing.B) {
	var d [576]float32
	for i := range d {
		d[i] = float32(i%37) / 37
	}
	var st synthState
	o := make([]byte, 18*128)
	for i := 0; i < b.N; i++ {
		synthesize(&d, 18, &st, o, true, 0)
	}
}

func BenchmarkDct32(b *testing.B) {
	var x, y [32]float32
	for i := range x {
		x[i] = float32(i)
	}
	for i := 0; i < b.N; i++ {
		dct32(&x, &y)
	}
}

func TestDct32(t *testing.T) {
	var x, y [32]float32
	for i := range x {
		x[i] = float32((i*7)%13) - 6
	}
	dct32(&x, &y)
	for k := range y {
		var want float64
		for j := range x {
			want += float64(x[j]) * math.Cos(float64((2*j+1)*k)*math.Pi/64)
		}
		if d := math.Abs(float64(y[k]) - want); d > 1e-4 {
			t.Errorf("y[%d] = %g, want %g", k, y[k], want)
		}
	}
}

// TestDct32FlatIsDct32 checks that the written-out dct32 gives the same
// bits as the recursion it was generated from.
func TestDct32FlatIsDct32(t *testing.T) {
	var x, y, z [32]float32
	seed := uint32(1)
	for n := 0; n < 10000; n++ {
		for i := range x {
			seed = seed*1664525 + 1013904223
			x[i] = float32(int32(seed)) / (1 << 31) * float32(int(seed>>28)+1)
		}
		dct32(&x, &y)
		dct32Flat(&x, &z)
		for k := range y {
			if math.Float32bits(y[k]) != math.Float32bits(z[k]) {
				t.Fatalf("input %d: y[%d] = %g, the recursion gives %g", n, k, z[k], y[k])
			}
		}
	}
}
