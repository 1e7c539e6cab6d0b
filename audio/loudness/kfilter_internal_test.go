package loudness

import (
	"math"
	"testing"
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
