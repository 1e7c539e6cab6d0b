// Added for loa: see NOTICE.

package frame

import (
	"math"

	"github.com/hajimehoshi/go-mp3/internal/bits"
	"github.com/hajimehoshi/go-mp3/internal/consts"
)

// Layer II (MP2, ISO/IEC 11172-3 2.4.3.3 and 13818-3 for the low sampling
// rates): 1152 samples a frame, 36 per subband, in three parts of 12 with
// a scale factor each. The tables are minimp3's compact form of the
// standard's allocation tables (B.2a-d and 13818-3 B.1).
//
// Layer I (2.4.3.2) is the simple case of the same: 384 samples a frame,
// 12 per subband, 4-bit allocations and one scale factor per subband.

// l2Alloc is a run of subbands sharing an allocation table: tab is the
// offset of its codes in l2BitallocCodes, width the bits of an allocation
// code, count the number of subbands.
type l2Alloc struct{ tab, width, count int }

var (
	l2AllocMPEG2        = []l2Alloc{{60, 4, 4}, {44, 3, 7}, {44, 2, 19}}
	l2AllocMPEG1        = []l2Alloc{{0, 4, 3}, {16, 4, 8}, {32, 3, 12}, {40, 2, 7}}
	l2AllocMPEG1LowRate = []l2Alloc{{44, 4, 2}, {44, 3, 10}}
	l1Alloc             = []l2Alloc{{76, 4, 32}}
)

// l2BitallocCodes maps an allocation code to a quantization: 0 none, 2..16
// that many bits per sample, 17, 18, 19 three samples grouped in one code
// of 3, 5 or 9 levels each.
var l2BitallocCodes = [...]int{
	0, 17, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
	0, 17, 18, 3, 19, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 16,
	0, 17, 18, 3, 19, 4, 5, 16,
	0, 17, 18, 16,
	0, 17, 18, 19, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
	0, 17, 18, 3, 19, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
	0, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, // Layer I
}

// l2Levels is the number of quantization levels of each quantization.
func l2Levels(q int) int {
	if q >= 17 {
		return 2<<(q-17) + 1 // 3, 5, 9
	}
	return 1<<q - 1
}

// l2Scale[i] is the scale factor of index i (0..62): 2^(1-i/3).
var l2Scale = func() (t [64]float64) {
	for i := range t {
		t[i] = math.Pow(2, 1-float64(i)/3)
	}
	return t
}()

// decodeLayer12 decodes the frame's Layer I or II audio data (f.l2data,
// the bytes after the header and CRC) into subband samples laid out as
// Layer III's hybrid synthesis leaves them (18 a granule per subband),
// ready for subbandSynthesis: Layer II fills both granules, Layer I the
// first 12 samples of the first.
func (f *Frame) decodeLayer12() {
	h := f.header
	layer1 := h.Layer() == consts.Layer1
	mode := h.Mode()
	stereoBands := 32
	switch mode {
	case consts.ModeSingleChannel:
		stereoBands = 0
	case consts.ModeJointStereo:
		stereoBands = (h.ModeExtension() << 2) + 4
	}
	var alloc []l2Alloc
	nbands := 30
	switch {
	case layer1:
		alloc = l1Alloc
		nbands = 32
	case h.LowSamplingFrequency() == 1:
		alloc = l2AllocMPEG2
	default:
		alloc = l2AllocMPEG1
		nbands = 27
		kbps := h.Bitrate() / 1000
		if mode != consts.ModeSingleChannel {
			kbps /= 2
		}
		if kbps == 0 {
			kbps = 192 // free format
		}
		sf := h.SamplingFrequency()
		switch {
		case kbps < 56:
			alloc = l2AllocMPEG1LowRate
			nbands = 8
			if sf == 2 { // 32 kHz
				nbands = 12
			}
		case kbps >= 96 && sf != 1: // not 48 kHz
			nbands = 30
		}
	}
	stereoBands = min(stereoBands, nbands)

	b := bits.New(f.l2data)
	var ba [32][2]int // quantization per subband and channel
	k, width, tab, run := 0, 0, 0, 0
	for sb := 0; sb < nbands; sb++ {
		if sb == k {
			a := alloc[run]
			run++
			k += a.count
			width, tab = a.width, a.tab
		}
		ba[sb][0] = l2BitallocCodes[tab+b.Bits(width)]
		if sb < stereoBands {
			ba[sb][1] = l2BitallocCodes[tab+b.Bits(width)]
		} else if stereoBands > 0 {
			ba[sb][1] = ba[sb][0] // intensity coded: the samples are shared
		}
	}
	var scfsi [32][2]int
	for sb := 0; sb < nbands; sb++ {
		for ch := 0; ch < 2; ch++ {
			switch {
			case layer1:
				scfsi[sb][ch] = 2 // one scale factor
			case ba[sb][ch] != 0:
				scfsi[sb][ch] = b.Bits(2)
			}
		}
	}
	var scale [32][2][3]float32 // per part, with the quantizer's step
	for sb := 0; sb < nbands; sb++ {
		for ch := 0; ch < 2; ch++ {
			q := ba[sb][ch]
			if q == 0 {
				continue
			}
			var idx [3]int
			switch scfsi[sb][ch] {
			case 0:
				idx = [3]int{b.Bits(6), b.Bits(6), b.Bits(6)}
			case 1:
				a, c := b.Bits(6), b.Bits(6)
				idx = [3]int{a, a, c}
			case 2:
				a := b.Bits(6)
				idx = [3]int{a, a, a}
			case 3:
				a, c := b.Bits(6), b.Bits(6)
				idx = [3]int{a, c, c}
			}
			// A sample code c of n levels stands for (2c - (n-1)) / n.
			step := 2 / float64(l2Levels(q))
			for p := range idx {
				scale[sb][ch][p] = float32(l2Scale[idx[p]] * step)
			}
		}
	}
	for sb := stereoBands; sb < nbands; sb++ {
		ba[sb][1] = 0 // no samples of its own
	}

	nch := h.NumberOfChannels()
	is := &f.mainData.Is
	*is = [2][2][576]float32{}
	samples, group := 36, 3 // Layer II: 12 groups of 3 samples
	if layer1 {
		samples, group = 12, 1
	}
	for s := 0; s < samples; s += group {
		part := s / 12
		for sb := 0; sb < nbands; sb++ {
			for ch := 0; ch < 2; ch++ {
				q := ba[sb][ch]
				if q == 0 {
					continue
				}
				var v [3]int
				if q < 17 {
					half := 1<<(q-1) - 1
					for i := range group {
						v[i] = b.Bits(q) - half
					}
				} else {
					n := l2Levels(q)
					code := b.Bits(n + 2 - n>>3) // 5, 7, 10 bits
					for i := range v {
						v[i] = code%n - n/2
						code /= n
					}
				}
				for i := range group {
					t := s + i
					is[t/18][ch][sb*18+t%18] = float32(v[i]) * scale[sb][ch][part]
					if ch == 0 && sb >= stereoBands && nch == 2 {
						// Joint stereo: the right channel has the left's
						// samples, with its own scale factors.
						is[t/18][1][sb*18+t%18] = float32(v[i]) * scale[sb][1][part]
					}
				}
			}
		}
	}
}
