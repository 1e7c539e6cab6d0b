// Package dsp holds the small signal-processing blocks of the mix engine:
// gain conversion, click-free gain ramps, the true-peak interpolator of
// ITU-R BS.1770-4 Annex 2, and the look-ahead limiter that keeps the output
// under its true-peak ceiling.
//
// Every block works on stereo frames ([2]float64, samples nominally in
// [-1, 1]), in place, and allocates nothing once constructed: the engine
// calls them from the output callback for years at a time.
package dsp
