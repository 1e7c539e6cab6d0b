// Package loudness measures audio as ITU-R BS.1770-4 and EBU R128 define
// it: momentary, short-term and integrated loudness in LUFS, loudness range
// in LU (EBU Tech 3342), and sample and true peak in dBFS/dBTP.
//
// A Meter is fed frames as they are decoded or played and answers at any
// time. Its memory is fixed (about 200 KB, mostly the gating histograms),
// whatever the length of the signal, and Write allocates nothing.
package loudness

import (
	"fmt"
	"math"

	"loa/audio/dsp"
)

// Gating constants of BS.1770-4 and EBU Tech 3342.
const (
	absoluteGate    = -70.0 // LUFS: blocks at or below do not count
	integratedGate  = -10.0 // LU under the ungated mean, for Integrated
	rangeGate       = -20.0 // LU under the ungated mean, for LoudnessRange
	rangeLowerShare = 0.10  // LoudnessRange spans from this quantile...
	rangeUpperShare = 0.95  // ...to this one of the gated short-term values
)

// Block lengths in 100 ms steps: the meter keeps the energy of each 100 ms
// step and sums the last 4 (momentary, the 400 ms gating block, 75 %
// overlap) or 30 (short-term, 3 s).
const (
	momentarySteps = 4
	shortTermSteps = 30
)

// The gating histograms have one bin per 0.01 LU from -70 to +10 LUFS;
// louder blocks (well beyond full-scale stereo, which reads at most about
// +6 LUFS: the K filter gains at most 4 dB) go in the top bin. Each integrated
// bin also keeps the exact energy sum of its blocks, so only the
// classification of blocks within 0.005 LU of the relative gate is
// approximate, not their energies.
const (
	binsPerLU = 100
	bins      = int((10-absoluteGate)*binsPerLU) + 1
)

// Meter measures the loudness and peaks of one stream of audio.
//
// Channels are weighted as BS.1770-4 does for left and right: 1.0 each,
// energies summed. A mono stream (channels 1) is measured as one channel of
// weight 1: the way BS.1770 and ffmpeg's ebur128 treat a mono file, though
// the same file sent to both loudspeakers of a pair sounds 3 dB louder
// (libebur128's "dual mono" weighting). Stations mostly play mono speech to
// horn loudspeakers, and reading mono files as mono keeps their numbers
// comparable to what other tools print.
type Meter struct {
	rate, channels int

	filters [2]kFilter
	peaks   [2]dsp.PeakInterpolator

	samplePeak float64 // linear
	truePeak   float64 // linear, interpolated points only

	stepFrames int        // frames per 100 ms step
	stepFill   int        // frames in the current step so far
	stepSum    [2]float64 // Σ z² of each channel in the current step
	steps      [shortTermSteps]float64
	stepPos    int // next slot in steps
	stepsDone  int // steps completed, saturating at shortTermSteps

	blocks     histogram     // 400 ms gating blocks
	blockSums  [bins]float64 // exact energy sum of the blocks in each bin
	shortTerms histogram     // 3 s windows, for the loudness range
}

// histogram counts the blocks louder than the absolute gate in 0.01 LU
// bins, with the running sums the relative gate needs.
type histogram struct {
	count   [bins]uint64
	kept    uint64  // blocks above the absolute gate
	keptSum float64 // their energies
}

// NewMeter returns a meter for a stream of rate frames per second with 1
// (mono) or 2 (stereo) channels. It panics on any other channel count or a
// rate outside 8 kHz–384 kHz: both are programming errors, as decoders
// reject such streams before they are measured.
func NewMeter(rate, channels int) *Meter {
	if channels != 1 && channels != 2 {
		panic(fmt.Sprintf("loudness.NewMeter: %d channels, want 1 or 2", channels))
	}
	if rate < 8000 || rate > 384000 {
		panic(fmt.Sprintf("loudness.NewMeter: sample rate %d outside 8000–384000", rate))
	}
	m := new(Meter)
	m.init(rate, channels)
	return m
}

func (m *Meter) init(rate, channels int) {
	m.rate, m.channels, m.stepFrames = rate, channels, (rate+5)/10
	f := newKFilter(rate)
	m.filters = [2]kFilter{f, f}
}

// Reset starts the meter over, as if new, without allocating.
func (m *Meter) Reset() {
	rate, channels := m.rate, m.channels
	*m = Meter{}
	m.init(rate, channels)
}

// Write measures frames. Samples are nominally in [-1, 1]; louder ones are
// measured as they are. For a mono meter only frame[0] is read. Non-finite
// samples (NaN, ±Inf) are measured as silence.
func (m *Meter) Write(frames [][2]float64) {
	for len(frames) > 0 {
		n := min(len(frames), m.stepFrames-m.stepFill)
		for ch := range m.channels {
			m.writeChannel(frames[:n], ch)
		}
		frames = frames[n:]
		m.stepFill += n
		if m.stepFill == m.stepFrames {
			m.endStep()
		}
	}
}

// writeChannel measures channel ch of frames. Channels are measured one
// after the other: with both in one loop, the live state of two filters
// and two interpolators spills around every call and the loop runs at
// half the speed.
func (m *Meter) writeChannel(frames [][2]float64, ch int) {
	for len(frames) > 0 {
		n := min(len(frames), peakChunk)
		m.writeChunk(frames[:n], ch)
		frames = frames[n:]
	}
}

// peakChunk is how many samples writeChunk takes at a time: the true-peak
// interpolation is skipped for a chunk that cannot raise the true peak.
const peakChunk = 64

func (m *Meter) writeChunk(frames [][2]float64, ch int) {
	f := &m.filters[ch]
	tp := &m.peaks[ch]
	sum, speak, tpeak := m.stepSum[ch], m.samplePeak, m.truePeak
	// The loudest (finite) sample of the chunk: if no interpolated point
	// of the chunk can exceed the true peak so far, the interpolator only
	// stores the samples. Most of a programme is well under its peak
	// (speech peaks 10 dB and more above its average), so this skips most
	// of the oversampling, and the reading is the same.
	loudest := 0.0
	for i := range frames {
		if a := math.Abs(frames[i][ch]); a <= math.MaxFloat64 {
			loudest = max(loudest, a)
		}
	}
	if tp.Bound(loudest) <= tpeak {
		for i := range frames {
			x := frames[i][ch]
			if !(math.Abs(x) <= math.MaxFloat64) {
				x = 0
			}
			tp.Store(x)
			z := f.process(x)
			sum += z * z
		}
		speak = max(speak, loudest)
	} else {
		for i := range frames {
			x := frames[i][ch]
			a := math.Abs(x)
			if !(a <= math.MaxFloat64) {
				x, a = 0, 0
			}
			speak = max(speak, a)
			tpeak = max(tpeak, tp.Push(x))
			z := f.process(x)
			sum += z * z
		}
	}
	m.stepSum[ch], m.samplePeak, m.truePeak = sum, speak, tpeak
}

// endStep closes a 100 ms step: it completes a gating block and, after 3 s,
// a short-term window.
func (m *Meter) endStep() {
	// Channel weights are 1 (left, right, or the one mono channel).
	m.steps[m.stepPos] = m.stepSum[0] + m.stepSum[1]
	m.stepPos = (m.stepPos + 1) % shortTermSteps
	m.stepSum, m.stepFill = [2]float64{}, 0
	if m.stepsDone < shortTermSteps {
		m.stepsDone++
	}
	for i := range m.filters {
		m.filters[i].flushDenormals()
	}
	if m.stepsDone >= momentarySteps {
		e := m.windowEnergy(momentarySteps)
		if b, ok := m.blocks.add(e); ok {
			m.blockSums[b] += e
		}
	}
	if m.stepsDone >= shortTermSteps {
		m.shortTerms.add(m.windowEnergy(shortTermSteps))
	}
}

// windowEnergy returns the mean square (channel-summed) over the last n
// completed steps; steps before the start of the stream count as silence.
func (m *Meter) windowEnergy(n int) float64 {
	sum := 0.0
	for i := 1; i <= n; i++ {
		sum += m.steps[(m.stepPos-i+shortTermSteps)%shortTermSteps]
	}
	return sum / float64(n*m.stepFrames)
}

// add counts a block of the given energy if it passes the absolute gate,
// and returns its bin.
func (h *histogram) add(energy float64) (int, bool) {
	l := lufs(energy)
	if !(l > absoluteGate) {
		return 0, false
	}
	b := bin(l)
	h.count[b]++
	h.kept++
	h.keptSum += energy
	return b, true
}

// relativeBin returns the bin holding the relative gate, offset LU under
// the mean energy of the blocks kept, and whether any were kept. Blocks in
// that bin and above pass the gate (ffmpeg's convention).
func (h *histogram) relativeBin(offset float64) (int, bool) {
	if h.kept == 0 {
		return 0, false
	}
	return bin(lufs(h.keptSum/float64(h.kept)) + offset), true
}

// Momentary returns the loudness of the last 400 ms (LUFS), as of the last
// complete 100 ms step; time before the stream began counts as silence.
// -Inf for silence.
func (m *Meter) Momentary() float64 { return lufs(m.windowEnergy(momentarySteps)) }

// ShortTerm returns the loudness of the last 3 s (LUFS), as of the last
// complete 100 ms step; time before the stream began counts as silence.
// -Inf for silence.
func (m *Meter) ShortTerm() float64 { return lufs(m.windowEnergy(shortTermSteps)) }

// Integrated returns the gated loudness of everything written so far
// (LUFS): the mean energy of the 400 ms blocks (every 100 ms) louder than
// -70 LUFS and than 10 LU under the mean of those. It returns -Inf when no
// block passes the gates (silence, or less than 400 ms written).
func (m *Meter) Integrated() float64 {
	from, ok := m.blocks.relativeBin(integratedGate)
	if !ok {
		return math.Inf(-1)
	}
	var n uint64
	sum := 0.0
	for b := from; b < bins; b++ {
		n += m.blocks.count[b]
		sum += m.blockSums[b]
	}
	if n == 0 {
		return math.Inf(-1)
	}
	return lufs(sum / float64(n))
}

// LoudnessRange returns the loudness range (LU) per EBU Tech 3342: the
// spread between the 10th and 95th percentiles of the 3 s short-term
// loudness, taken every 100 ms and gated at -70 LUFS and 20 LU under their
// mean. It is 0 until 3 s have been written. Percentiles are resolved to
// 0.01 LU.
func (m *Meter) LoudnessRange() float64 {
	h := &m.shortTerms
	from, ok := h.relativeBin(rangeGate)
	if !ok {
		return 0
	}
	var n uint64
	for b := from; b < bins; b++ {
		n += h.count[b]
	}
	if n == 0 {
		return 0
	}
	// The quantile convention of ffmpeg's ebur128 filter, except that the
	// lower rank is at least 1: with fewer than 5 values ffmpeg's is 0 and
	// it takes the (empty) gate bin as the low end, reading 20 LU.
	lowRank := max(1, uint64(rangeLowerShare*float64(n)+0.5))
	highRank := uint64(rangeUpperShare*float64(n) + 0.5)
	low, high := from, from
	var seen uint64
	for b := from; b < bins; b++ {
		seen += h.count[b]
		if seen >= lowRank {
			low = b
			break
		}
	}
	above := n
	for b := bins - 1; b >= from; b-- {
		above -= h.count[b]
		if above < highRank {
			high = b
			break
		}
	}
	return float64(high-low) / binsPerLU
}

// SamplePeak returns the largest sample magnitude written, in dBFS; -Inf
// for silence.
func (m *Meter) SamplePeak() float64 { return dsp.GainToDB(m.samplePeak) }

// TruePeak returns the true peak of everything written, in dBTP: the
// largest magnitude of the signal oversampled 4× with the BS.1770-4
// Annex 2 filter, or of the samples themselves if larger (the Annex's
// filter passes between the original samples, and a true peak is never
// below the sample peak). The signal is taken to end in silence; -Inf for
// silence.
func (m *Meter) TruePeak() float64 {
	p := max(m.samplePeak, m.truePeak)
	for ch := range m.channels {
		p = max(p, m.peaks[ch].Tail())
	}
	return dsp.GainToDB(p)
}

// lufs converts a channel-summed mean square of K-weighted samples to LUFS.
func lufs(energy float64) float64 {
	if !(energy > 0) {
		return math.Inf(-1)
	}
	return -0.691 + 10*math.Log10(energy)
}

// bin returns the histogram bin of a loudness value (LUFS), clamped.
func bin(l float64) int {
	b := math.Round((l - absoluteGate) * binsPerLU)
	switch {
	case !(b >= 0):
		return 0
	case b >= float64(bins-1):
		return bins - 1
	}
	return int(b)
}
