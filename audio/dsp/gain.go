package dsp

import "math"

// DBToGain converts a level change in decibels to an amplitude factor:
// 0 dB is 1, -6.02 dB is 0.5, -Inf is 0.
func DBToGain(db float64) float64 {
	return math.Pow(10, db/20)
}

// GainToDB converts an amplitude factor to decibels. Zero (silence) and
// negative factors give -Inf.
func GainToDB(gain float64) float64 {
	if !(gain > 0) {
		return math.Inf(-1)
	}
	return 20 * math.Log10(gain)
}
