package dsp

import "math"

// Sinc is the normalised sinc, sin(πx)/(πx), with Sinc(0) = 1: the ideal
// band-limited interpolation kernel of the resamplers.
func Sinc(x float64) float64 {
	if x == 0 {
		return 1
	}
	return math.Sin(math.Pi*x) / (math.Pi * x)
}

// BesselI0 is the modified Bessel function of the first kind, order 0
// (power series), for Kaiser windows.
func BesselI0(x float64) float64 {
	sum, term := 1.0, 1.0
	for k := 1; k < 50; k++ {
		term *= (x / 2) / float64(k)
		sum += term * term
		if term*term < sum*1e-17 {
			break
		}
	}
	return sum
}
