package dsp

import (
	"math"
	"testing"
)

// The shortcuts (no interpolation in quiet stretches, the idle path) must
// not change a single output sample: compare with the exhaustive path on
// material that goes from quiet to over the ceiling and back.
func TestLimiterShortcutsAreExact(t *testing.T) {
	const rate = 44100
	n := 10 * rate
	in := make([][2]float64, n)
	for i := range in {
		tt := float64(i) / rate
		env := 0.05 + 0.3*math.Max(0, math.Sin(2*math.Pi*0.3*tt)) // quiet, then louder
		if i%(2*rate) > rate && i%(2*rate) < rate+2000 {
			env = 1.4 // a burst well over the ceiling
		}
		in[i] = [2]float64{env * math.Sin(2*math.Pi*440*tt), env * math.Sin(2*math.Pi*557*tt+1)}
	}
	fast := NewLimiter(rate, -1, DefaultLookahead, DefaultRelease)
	slow := NewLimiter(rate, -1, DefaultLookahead, DefaultRelease)
	slow.exhaustive = true
	a := append([][2]float64(nil), in...)
	b := append([][2]float64(nil), in...)
	for i := 0; i < n; i += 441 {
		fast.Process(a[i:min(i+441, n)])
		slow.Process(b[i:min(i+441, n)])
	}
	limited := 0
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("frame %d: %v with shortcuts, %v without", i, a[i], b[i])
		}
		if a[i] != in[max(i-fast.Latency(), 0)] {
			limited++
		}
	}
	if limited == 0 {
		t.Fatal("the test material was never limited: it tests nothing")
	}
}
