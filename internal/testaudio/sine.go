package testaudio

import "math"

// FitSine fits a·sin + b·cos + c at frequency f (Hz) to x by least squares.
// It returns the sine's amplitude, the ratio of its power to the residual's
// in dB, and its phase (radians, 0 for a pure sine).
func FitSine(x []float64, f, rate float64) (amp, snrDB, phase float64) {
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
	return amp, 10 * math.Log10(sig/math.Max(res, 1e-300)), math.Atan2(k[1], k[0])
}

// solve3 solves m·k = v by Gauss-Jordan elimination with partial pivoting.
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
