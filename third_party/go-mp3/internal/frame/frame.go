// Copyright 2017 Hajime Hoshi
//
// Licensed under the Apache License, Version 2.0 (the "License");
// you may not use this file except in compliance with the License.
// You may obtain a copy of the License at
//
//     http://www.apache.org/licenses/LICENSE-2.0
//
// Unless required by applicable law or agreed to in writing, software
// distributed under the License is distributed on an "AS IS" BASIS,
// WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
// See the License for the specific language governing permissions and
// limitations under the License.

package frame

import (
	"fmt"
	"io"
	"math"

	"github.com/hajimehoshi/go-mp3/internal/bits"
	"github.com/hajimehoshi/go-mp3/internal/consts"
	"github.com/hajimehoshi/go-mp3/internal/frameheader"
	"github.com/hajimehoshi/go-mp3/internal/imdct"
	"github.com/hajimehoshi/go-mp3/internal/maindata"
	"github.com/hajimehoshi/go-mp3/internal/sideinfo"
)

var (
	powtab34 = make([]float64, 8207)
	pretab   = []float64{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 3, 3, 3, 2, 0}
)

func init() {
	for i := range powtab34 {
		powtab34[i] = math.Pow(float64(i), 4.0/3.0)
	}
}

type Frame struct {
	header   frameheader.FrameHeader
	sideInfo *sideinfo.SideInfo
	mainData *maindata.MainData

	mainDataBits *bits.Bits
	store        [2][32][18]float32
	// synth is each channel's synthesis filter history (the FIFO V).
	synth [2]synthState

	// l2data is a Layer II frame's audio data (after header and CRC).
	l2data []byte
}

type FullReader interface {
	ReadFull([]byte) (int, error)
}

func readCRC(source FullReader) error {
	buf := make([]byte, 2)
	if n, err := source.ReadFull(buf); n < 2 {
		if err == io.EOF {
			return &consts.UnexpectedEOF{At: "readCRC"}
		}
		return fmt.Errorf("mp3: error at readCRC: %v", err)
	}
	return nil
}

// Read reads the next frame at or after position. free is the size of the
// stream's free-format frames without padding (0 if it is not free format).
func Read(source FullReader, position int64, prev *Frame, free int) (frame *Frame, startPosition int64, err error) {
	var ref frameheader.FrameHeader
	if prev != nil {
		ref = prev.header
	}
	h, pos, err := frameheader.Read(source, position, ref)
	if err != nil {
		return nil, 0, err
	}

	if h.ProtectionBit() == 0 {
		if err := readCRC(source); err != nil {
			return nil, 0, err
		}
	}

	if h.Layer() != consts.Layer3 {
		return readLayer12(source, h, pos, prev, free)
	}

	framesize, err := h.FrameSizeFree(free)
	if err != nil {
		return nil, 0, err
	}

	si, err := sideinfo.Read(source, h)
	if err != nil {
		return nil, 0, err
	}

	// If there's not enough main data in the bit reservoir,
	// signal to calling function so that decoding isn't done!
	// Get main data (scalefactors and Huffman coded frequency data)
	var prevM *bits.Bits
	var md *maindata.MainData
	if prev != nil {
		prevM = prev.mainDataBits
		md = prev.mainData
	}
	md, mdb, err := maindata.Read(source, prevM, h, framesize, si, md)
	if err == maindata.ErrReservoir {
		// Not decodable: play silence, keep the filter state running.
		si = &sideinfo.SideInfo{}
		err = nil
	}
	if err != nil {
		return nil, 0, err
	}
	// The new frame continues the previous one's filter state; reuse the
	// previous Frame (13 KB) rather than copy it into a new one.
	nf := prev
	if nf == nil {
		nf = &Frame{}
	}
	nf.header = h
	nf.sideInfo = si
	nf.mainData = md
	nf.mainDataBits = mdb
	return nf, pos, nil
}

// readLayer12 reads the rest of a Layer I or II frame whose header h (and
// CRC) was read.
func readLayer12(source FullReader, h frameheader.FrameHeader, pos int64, prev *Frame, free int) (*Frame, int64, error) {
	size, err := h.FrameSizeFree(free)
	if err != nil {
		return nil, 0, err
	}
	n := size - 4
	if h.ProtectionBit() == 0 {
		n -= 2
	}
	if n < 0 || n > 4096 {
		return nil, 0, fmt.Errorf("mp3: Layer I/II frame of %d bytes", size)
	}
	nf := prev
	if nf == nil {
		nf = &Frame{}
	}
	if nf.mainData == nil {
		nf.mainData = &maindata.MainData{}
	}
	if cap(nf.l2data) < n {
		nf.l2data = make([]byte, n)
	}
	nf.l2data = nf.l2data[:n]
	if k, err := source.ReadFull(nf.l2data); k < n {
		if err == io.EOF {
			return nil, 0, &consts.UnexpectedEOF{At: "readLayer12"}
		}
		return nil, 0, err
	}
	nf.header = h
	nf.sideInfo = &sideinfo.SideInfo{}
	return nf, pos, nil
}

func (f *Frame) SamplingFrequency() (int, error) {
	return f.header.SamplingFrequencyValue()
}

// Decode appends the frame's PCM (16-bit little-endian stereo) to dst.
func (f *Frame) Decode(dst []byte) []byte {
	n := f.header.BytesPerFrame()
	if cap(dst)-len(dst) < n {
		dst = append(dst, make([]byte, n)...)[:len(dst)]
	}
	out := dst[len(dst) : len(dst)+n]
	nch := f.header.NumberOfChannels()
	switch f.header.Layer() {
	case consts.Layer2:
		f.decodeLayer12()
		for gr := 0; gr < 2; gr++ {
			for ch := 0; ch < nch; ch++ {
				f.subbandSynthesis(gr, ch, out[consts.SamplesPerGr*4*gr:])
			}
		}
		return dst[:len(dst)+n]
	case consts.Layer1:
		f.decodeLayer12()
		for ch := 0; ch < nch; ch++ {
			f.subbandSynthesis12(ch, out)
		}
		return dst[:len(dst)+n]
	}
	for gr := 0; gr < f.header.Granules(); gr++ {
		for ch := 0; ch < nch; ch++ {
			f.requantize(gr, ch)
		}
		// Stereo processing works on the lines in bitstream order (short
		// blocks window by window within a band), as the standard's
		// intensity positions are per band and window; upstream reordered
		// first.
		f.stereo(gr)
		for ch := 0; ch < nch; ch++ {
			f.reorder(gr, ch)
			f.antialias(gr, ch)
			f.hybridSynthesis(gr, ch)
			f.frequencyInversion(gr, ch)
			f.subbandSynthesis(gr, ch, out[consts.SamplesPerGr*4*gr:])
		}
	}
	return dst[:len(dst)+n]
}

// pow2q[i] is 2^((i-pow2qZero)/4): the requantizer's gains are powers of
// 2 in quarter steps. A table lookup gives the same float64 as math.Pow
// (the exponent is exact either way) at a fraction of the cost (math.Pow
// was over a quarter of decoding time).
const pow2qZero = 512

var pow2q [1024]float64

func init() {
	for i := range pow2q {
		pow2q[i] = math.Pow(2, float64(i-pow2qZero)/4)
	}
}

// pow2Quarter returns 2^(q/4).
func pow2Quarter(q int) float64 {
	if i := q + pow2qZero; i >= 0 && i < len(pow2q) {
		return pow2q[i]
	}
	return math.Pow(2, float64(q)/4)
}

// longGain is the requantizer's gain of long scale factor band sfb:
// 2^((global_gain-210)/4 - sf_mult*(scalefac+preflag*pretab)).
func (f *Frame) longGain(gr, ch, sfb int) float64 {
	sfMult4 := 2 // sf_mult 0.5, in quarters
	if f.sideInfo.ScalefacScale[gr][ch] != 0 {
		sfMult4 = 4
	}
	pf := f.sideInfo.Preflag[gr][ch] * int(pretab[sfb])
	return pow2Quarter(-sfMult4*(f.mainData.ScalefacL[gr][ch][sfb]+pf) +
		f.sideInfo.GlobalGain[gr][ch] - 210)
}

// shortGain is the requantizer's gain of window win of short scale
// factor band sfb.
func (f *Frame) shortGain(gr, ch, sfb, win int) float64 {
	sfMult4 := 2
	if f.sideInfo.ScalefacScale[gr][ch] != 0 {
		sfMult4 = 4
	}
	return pow2Quarter(-sfMult4*f.mainData.ScalefacS[gr][ch][sfb][win] +
		f.sideInfo.GlobalGain[gr][ch] - 210 - 8*f.sideInfo.SubblockGain[gr][ch][win])
}

// requantizeLines replaces every Huffman value x in is by
// sign(x) |x|^(4/3) times gain (0 stays 0). The gain is computed once a
// band (or window) and the product is the same float64 as line by line.
//
// It is branch-free (signs and zeros come in no predictable order): the
// magnitude's product is rounded and the sign bit put back, the same
// float32 as rounding the signed product (rounding to nearest is
// symmetric), and 0 gives powtab34[0] = 0.
func requantizeLines(is []float32, gain float64) {
	for i, x := range is {
		b := math.Float32bits(x)
		sign := b & (1 << 31)
		r := float32(gain * powtab34[int(math.Float32frombits(b^sign))])
		is[i] = math.Float32frombits(math.Float32bits(r) | sign)
	}
}

// requantizeLong requantizes lines [0, n) of long blocks.
func (f *Frame) requantizeLong(gr, ch, n int, sfBandIndicesLong []int) {
	is := &f.mainData.Is[gr][ch]
	for sfb, lo := 0, 0; lo < n; sfb++ {
		hi := min(sfBandIndicesLong[sfb+1], n)
		requantizeLines(is[lo:hi], f.longGain(gr, ch, sfb))
		lo = hi
	}
}

func getSfBandIndicesArray(header *frameheader.FrameHeader) ([]int, []int) {
	return header.SfBandIndices()
}

func (f *Frame) requantize(gr int, ch int) {
	sfBandIndicesLong, sfBandIndicesShort := getSfBandIndicesArray(&f.header)
	is := &f.mainData.Is[gr][ch]
	count1 := int(f.sideInfo.Count1[gr][ch])
	// Determine type of block to process
	if f.sideInfo.WinSwitchFlag[gr][ch] == 1 && f.sideInfo.BlockType[gr][ch] == 2 { // Short blocks
		sfb, i := 0, 0
		// Check if the first two subbands
		// (=2*18 samples = 8 long or 3 short sfb's) uses long blocks
		if f.sideInfo.MixedBlockFlag[gr][ch] != 0 { // 2 longbl. sb  first
			// First process the 2 long block subbands at the start
			f.requantizeLong(gr, ch, 36, sfBandIndicesLong)
			// And next the remaining,non-zero,bands which uses short blocks
			sfb, i = 3, 36
		}
		// Band by band up to the end of the band that holds count1, each
		// window of a band in turn (the band changes when i reaches the
		// next band's start, as upstream: in a mixed block at 8 kHz the
		// first short band is repeated until then).
		nextSfb := sfBandIndicesShort[sfb+1] * 3
		winLen := sfBandIndicesShort[sfb+1] - sfBandIndicesShort[sfb]
		for i < count1 {
			if i == nextSfb {
				sfb++
				nextSfb = sfBandIndicesShort[sfb+1] * 3
				winLen = sfBandIndicesShort[sfb+1] - sfBandIndicesShort[sfb]
			}
			for win := 0; win < 3; win++ {
				requantizeLines(is[i:i+winLen], f.shortGain(gr, ch, sfb, win))
				i += winLen
			}
		}
	} else { // Only long blocks
		f.requantizeLong(gr, ch, count1, sfBandIndicesLong)
	}
}

// reorderLimit is the line above which channel ch of granule gr is zero
// before reordering.
func (f *Frame) reorderLimit(gr, ch int) int {
	n := f.sideInfo.Count1[gr][ch]
	if f.header.Mode() == consts.ModeJointStereo {
		n = max(n, f.sideInfo.Count1[gr][1-ch])
	}
	return n
}

func (f *Frame) reorder(gr int, ch int) {
	var re [consts.SamplesPerGr]float32

	_, sfBandIndicesShort := getSfBandIndicesArray(&f.header)

	// Only reorder short blocks
	if (f.sideInfo.WinSwitchFlag[gr][ch] == 1) && (f.sideInfo.BlockType[gr][ch] == 2) { // Short blocks
		// Check if the first two subbands
		// (=2*18 samples = 8 long or 3 short sfb's) uses long blocks
		sfb := 0
		// 2 longbl. sb  first
		if f.sideInfo.MixedBlockFlag[gr][ch] != 0 {
			sfb = 3
		}
		next_sfb := sfBandIndicesShort[sfb+1] * 3
		win_len := sfBandIndicesShort[sfb+1] - sfBandIndicesShort[sfb]
		i := 36
		if sfb == 0 {
			i = 0
		}
		for i < consts.SamplesPerGr {
			// Check if we're into the next scalefac band
			if i == next_sfb {
				// Copy reordered data back to the original vector
				j := 3 * sfBandIndicesShort[sfb]
				copy(f.mainData.Is[gr][ch][j:j+3*win_len], re[0:3*win_len])
				// Check if this band is above the rzero region,if so
				// we're done. Joint stereo mixes the channels' lines
				// before this, so the larger count1 of the two bounds
				// both then.
				if i >= f.reorderLimit(gr, ch) {
					return
				}
				sfb++
				next_sfb = sfBandIndicesShort[sfb+1] * 3
				win_len = sfBandIndicesShort[sfb+1] - sfBandIndicesShort[sfb]
			}
			for win := 0; win < 3; win++ { // Do the actual reordering
				for j := 0; j < win_len; j++ {
					re[j*3+win] = f.mainData.Is[gr][ch][i]
					i++
				}
			}
		}
		// Copy reordered data of last band back to original vector
		j := 3 * sfBandIndicesShort[12]
		copy(f.mainData.Is[gr][ch][j:j+3*win_len], re[0:3*win_len])
	}
}

// stereo undoes joint stereo coding on granule gr, on the lines in
// bitstream order.
//
// Intensity stereo (ISO/IEC 11172-3 2.4.3.4.9.3, 13818-3 2.4.3.2): above
// the highest nonzero line of the right channel (per window for short
// blocks), a band carries one signal, in the left channel, and the right
// channel's scale factor is its intensity position: the direction it is
// panned to. MPEG-1 positions 0..6 are tan(pos*pi/12) ratios, 7 means "not
// intensity coded"; MPEG-2 positions are powers of 2^-1/4 (or 2^-1/2),
// the largest value of the scale factor's length meaning "not intensity
// coded". The top band has no scale factor: it takes the band below's
// position, or, when the band below is not intensity coded, the centre
// (MPEG-1) or equal gains (MPEG-2), as minimp3 does. Bands not intensity
// coded are middle/side coded when the frame says so.
//
// Upstream took the positions from the left channel's scale factors,
// applied middle/side to the intensity bands too, found the bands from
// count1 (which counts zero quadruples), used the MPEG-1 rules and scale
// factor lengths for MPEG-2, and addressed short-block windows as if they
// were not reordered yet when they were.
func (f *Frame) stereo(gr int) {
	if f.header.NumberOfChannels() != 2 {
		return
	}
	ms := f.header.UseMSStereo()
	if !f.header.UseIntensityStereo() {
		if ms {
			midSide(f.mainData.Is[gr][0][:], f.mainData.Is[gr][1][:])
		}
		return
	}
	f.intensityStereo(gr, ms)
}

// midSide turns middle/side lines into left/right.
func midSide(l, r []float32) {
	const invSqrt2 = math.Sqrt2 / 2
	r = r[:len(l)]
	for i := range l {
		m, s := l[i], r[i]
		l[i] = (m + s) * invSqrt2
		r[i] = (m - s) * invSqrt2
	}
}

// isBand is a scale factor band (of one window, for short blocks) in
// bitstream order.
type isBand struct {
	start, width int
	pos          int  // intensity position
	legal        bool // pos is an intensity position
}

// mpeg1Pan[pos] is (kl, kr) = (r/(1+r), 1/(1+r)) with r = tan(pos*pi/12).
var mpeg1Pan = func() (t [7][2]float32) {
	for pos := range t {
		if pos == 6 {
			t[pos] = [2]float32{1, 0}
			continue
		}
		r := math.Tan(float64(pos) * math.Pi / 12)
		t[pos] = [2]float32{float32(r / (1 + r)), float32(1 / (1 + r))}
	}
	return t
}()

func (f *Frame) intensityStereo(gr int, ms bool) {
	left := f.mainData.Is[gr][0][:]
	right := f.mainData.Is[gr][1][:]
	mpeg1 := f.header.LowSamplingFrequency() == 0
	long, short := f.header.SfBandIndices()
	md := f.mainData
	var bands [40]isBand
	n := 0
	nLong := 0
	// The band layout is the left channel's, as minimp3's; the standard
	// has both channels use the same blocks in intensity stereo.
	shortBlocks := f.sideInfo.WinSwitchFlag[gr][0] == 1 && f.sideInfo.BlockType[gr][0] == 2
	firstShort := 0
	if !shortBlocks || f.sideInfo.MixedBlockFlag[gr][0] != 0 {
		end := 576
		if shortBlocks {
			end = 36
			firstShort = 3
		}
		for sfb := 0; sfb < 22 && long[sfb] < end; sfb++ {
			b := isBand{start: long[sfb], width: long[sfb+1] - long[sfb]}
			if sfb < 21 {
				b.pos = md.ScalefacL[gr][1][sfb]
				b.legal = mpeg1 && b.pos < 7 || !mpeg1 && !md.ISIllegalL[sfb]
			}
			bands[n] = b
			n++
		}
		nLong = n
	}
	if shortBlocks {
		for sfb := firstShort; sfb < 13; sfb++ {
			w := short[sfb+1] - short[sfb]
			for win := 0; win < 3; win++ {
				b := isBand{start: 3*short[sfb] + win*w, width: w}
				if sfb < 12 {
					b.pos = md.ScalefacS[gr][1][sfb][win]
					b.legal = mpeg1 && b.pos < 7 || !mpeg1 && !md.ISIllegalS[sfb][win]
				}
				bands[n] = b
				n++
			}
		}
	}
	// The highest band with a nonzero right line, per window.
	maxBand := [3]int{-1, -1, -1}
	for i := 0; i < n; i++ {
		b := bands[i]
		for _, v := range right[b.start : b.start+b.width] {
			if v != 0 {
				maxBand[i%3] = i
				break
			}
		}
	}
	windows := 1
	if shortBlocks {
		windows = 3
	}
	if nLong > 0 {
		m := max(maxBand[0], maxBand[1], maxBand[2])
		maxBand = [3]int{m, m, m}
	}
	// The top band of each window takes the position of the band below.
	for w := 0; w < windows; w++ {
		top := n - windows + w
		prev := top - windows
		if maxBand[w] >= prev {
			bands[top].legal = true
			bands[top].pos = 0
			if mpeg1 {
				bands[top].pos = 3
			}
		} else {
			bands[top].pos, bands[top].legal = bands[prev].pos, bands[prev].legal
		}
	}
	sh := 0
	if f.sideInfo.ScalefacCompress[gr][1]&1 != 0 {
		sh = 1
	}
	for i := 0; i < n; i++ {
		b := bands[i]
		l := left[b.start : b.start+b.width]
		r := right[b.start : b.start+b.width]
		if i <= maxBand[i%3] || !b.legal {
			if ms {
				midSide(l, r)
			}
			continue
		}
		var kl, kr float32
		if mpeg1 {
			kl, kr = mpeg1Pan[b.pos][0], mpeg1Pan[b.pos][1]
		} else {
			kl, kr = 1, float32(pow2Quarter(-((b.pos+1)>>1)<<sh))
			if b.pos&1 != 0 {
				kl, kr = kr, 1
			}
		}
		for j, v := range l {
			l[j] = v * kl
			r[j] = v * kr
		}
	}
}

var (
	cs = [8]float32{0.857493, 0.881742, 0.949629, 0.983315, 0.995518, 0.999161, 0.999899, 0.999993}
	ca = [8]float32{-0.514496, -0.471732, -0.313377, -0.181913, -0.094574, -0.040966, -0.014199, -0.003700}
)

func (f *Frame) antialias(gr int, ch int) {
	// No antialiasing is done for short blocks
	if (f.sideInfo.WinSwitchFlag[gr][ch] == 1) &&
		(f.sideInfo.BlockType[gr][ch] == 2) &&
		(f.sideInfo.MixedBlockFlag[gr][ch]) == 0 {
		return
	}
	// Setup the limit for how many subbands to transform
	sblim := 32
	if (f.sideInfo.WinSwitchFlag[gr][ch] == 1) &&
		(f.sideInfo.BlockType[gr][ch] == 2) &&
		(f.sideInfo.MixedBlockFlag[gr][ch] == 1) {
		sblim = 2
	}
	// Do the actual antialiasing: the butterflies between the last 8
	// lines of subband sb-1 (lo, read backwards) and the first 8 of sb.
	is := &f.mainData.Is[gr][ch]
	for sb := 1; sb < sblim; sb++ {
		lo := (*[8]float32)(is[18*sb-8 : 18*sb])
		hi := (*[8]float32)(is[18*sb : 18*sb+8])
		for i := 0; i < 8; i++ {
			l, u := lo[7-i], hi[i]
			lo[7-i] = float32(l*cs[i]) - float32(u*ca[i])
			hi[i] = float32(u*cs[i]) + float32(l*ca[i])
		}
	}
}

func (f *Frame) hybridSynthesis(gr int, ch int) {
	is, store := &f.mainData.Is[gr][ch], &f.store[ch]
	bt := int(f.sideInfo.BlockType[gr][ch])
	mixed := f.sideInfo.WinSwitchFlag[gr][ch] == 1 && f.sideInfo.MixedBlockFlag[gr][ch] == 1
	// The subbands two at a time: a pair of long blocks, neither silent,
	// goes through the two-lane IMDCT (the same results as one at a time).
	for sb := 0; sb < 32; sb += 2 {
		// Determine blocktype for this pair of subbands (a mixed
		// block's long part is subbands 0 and 1).
		b := bt
		if mixed && sb < 2 {
			b = 0
		}
		in := (*[36]float32)(is[sb*18 : sb*18+36])
		z0, z1 := allZero(in[:18]), allZero(in[18:])
		if b != 2 && !z0 && !z1 {
			var rawout [2][36]float32
			imdct.WinLong2(in, b, &rawout)
			overlapAdd((*[18]float32)(in[:18]), &store[sb], &rawout[0])
			overlapAdd((*[18]float32)(in[18:]), &store[sb+1], &rawout[1])
			continue
		}
		hybridSubband((*[18]float32)(in[:18]), &store[sb], b, z0)
		hybridSubband((*[18]float32)(in[18:]), &store[sb+1], b, z1)
	}
}

// hybridSubband is one subband's IMDCT, window and overlap-add with its
// stored half st. The high subbands of a low-bitrate frame are all zero
// (zero): their IMDCT is zero, so only the stored overlap is left (0 + s
// is s, but for the sign of a zero, which no output sample shows).
func hybridSubband(in, st *[18]float32, bt int, zero bool) {
	if zero {
		*in, *st = *st, [18]float32{}
		return
	}
	var rawout [36]float32
	imdct.Win(in[:], bt, &rawout)
	overlapAdd(in, st, &rawout)
}

// overlapAdd adds the stored half st to the first half of rawout into
// out and stores the second half.
func overlapAdd(out, st *[18]float32, rawout *[36]float32) {
	for i := range out {
		out[i] = rawout[i] + st[i]
	}
	*st = [18]float32(rawout[18:])
}

func allZero(x []float32) bool {
	for _, v := range x {
		if v != 0 {
			return false
		}
	}
	return true
}

func (f *Frame) frequencyInversion(gr int, ch int) {
	is := &f.mainData.Is[gr][ch]
	for sb := 1; sb < 32; sb += 2 {
		x := (*[18]float32)(is[sb*18 : sb*18+18])
		for i := 1; i < 18; i += 2 {
			x[i] = -x[i]
		}
	}
}

var synthDtbl = [512]float32{
	0.000000000, -0.000015259, -0.000015259, -0.000015259,
	-0.000015259, -0.000015259, -0.000015259, -0.000030518,
	-0.000030518, -0.000030518, -0.000030518, -0.000045776,
	-0.000045776, -0.000061035, -0.000061035, -0.000076294,
	-0.000076294, -0.000091553, -0.000106812, -0.000106812,
	-0.000122070, -0.000137329, -0.000152588, -0.000167847,
	-0.000198364, -0.000213623, -0.000244141, -0.000259399,
	-0.000289917, -0.000320435, -0.000366211, -0.000396729,
	-0.000442505, -0.000473022, -0.000534058, -0.000579834,
	-0.000625610, -0.000686646, -0.000747681, -0.000808716,
	-0.000885010, -0.000961304, -0.001037598, -0.001113892,
	-0.001205444, -0.001296997, -0.001388550, -0.001480103,
	-0.001586914, -0.001693726, -0.001785278, -0.001907349,
	-0.002014160, -0.002120972, -0.002243042, -0.002349854,
	-0.002456665, -0.002578735, -0.002685547, -0.002792358,
	-0.002899170, -0.002990723, -0.003082275, -0.003173828,
	0.003250122, 0.003326416, 0.003387451, 0.003433228,
	0.003463745, 0.003479004, 0.003479004, 0.003463745,
	0.003417969, 0.003372192, 0.003280640, 0.003173828,
	0.003051758, 0.002883911, 0.002700806, 0.002487183,
	0.002227783, 0.001937866, 0.001617432, 0.001266479,
	0.000869751, 0.000442505, -0.000030518, -0.000549316,
	-0.001098633, -0.001693726, -0.002334595, -0.003005981,
	-0.003723145, -0.004486084, -0.005294800, -0.006118774,
	-0.007003784, -0.007919312, -0.008865356, -0.009841919,
	-0.010848999, -0.011886597, -0.012939453, -0.014022827,
	-0.015121460, -0.016235352, -0.017349243, -0.018463135,
	-0.019577026, -0.020690918, -0.021789551, -0.022857666,
	-0.023910522, -0.024932861, -0.025909424, -0.026840210,
	-0.027725220, -0.028533936, -0.029281616, -0.029937744,
	-0.030532837, -0.031005859, -0.031387329, -0.031661987,
	-0.031814575, -0.031845093, -0.031738281, -0.031478882,
	0.031082153, 0.030517578, 0.029785156, 0.028884888,
	0.027801514, 0.026535034, 0.025085449, 0.023422241,
	0.021575928, 0.019531250, 0.017257690, 0.014801025,
	0.012115479, 0.009231567, 0.006134033, 0.002822876,
	-0.000686646, -0.004394531, -0.008316040, -0.012420654,
	-0.016708374, -0.021179199, -0.025817871, -0.030609131,
	-0.035552979, -0.040634155, -0.045837402, -0.051132202,
	-0.056533813, -0.061996460, -0.067520142, -0.073059082,
	-0.078628540, -0.084182739, -0.089706421, -0.095169067,
	-0.100540161, -0.105819702, -0.110946655, -0.115921021,
	-0.120697021, -0.125259399, -0.129562378, -0.133590698,
	-0.137298584, -0.140670776, -0.143676758, -0.146255493,
	-0.148422241, -0.150115967, -0.151306152, -0.151962280,
	-0.152069092, -0.151596069, -0.150497437, -0.148773193,
	-0.146362305, -0.143264771, -0.139450073, -0.134887695,
	-0.129577637, -0.123474121, -0.116577148, -0.108856201,
	0.100311279, 0.090927124, 0.080688477, 0.069595337,
	0.057617188, 0.044784546, 0.031082153, 0.016510010,
	0.001068115, -0.015228271, -0.032379150, -0.050354004,
	-0.069168091, -0.088775635, -0.109161377, -0.130310059,
	-0.152206421, -0.174789429, -0.198059082, -0.221984863,
	-0.246505737, -0.271591187, -0.297210693, -0.323318481,
	-0.349868774, -0.376800537, -0.404083252, -0.431655884,
	-0.459472656, -0.487472534, -0.515609741, -0.543823242,
	-0.572036743, -0.600219727, -0.628295898, -0.656219482,
	-0.683914185, -0.711318970, -0.738372803, -0.765029907,
	-0.791213989, -0.816864014, -0.841949463, -0.866363525,
	-0.890090942, -0.913055420, -0.935195923, -0.956481934,
	-0.976852417, -0.996246338, -1.014617920, -1.031936646,
	-1.048156738, -1.063217163, -1.077117920, -1.089782715,
	-1.101211548, -1.111373901, -1.120223999, -1.127746582,
	-1.133926392, -1.138763428, -1.142211914, -1.144287109,
	1.144989014, 1.144287109, 1.142211914, 1.138763428,
	1.133926392, 1.127746582, 1.120223999, 1.111373901,
	1.101211548, 1.089782715, 1.077117920, 1.063217163,
	1.048156738, 1.031936646, 1.014617920, 0.996246338,
	0.976852417, 0.956481934, 0.935195923, 0.913055420,
	0.890090942, 0.866363525, 0.841949463, 0.816864014,
	0.791213989, 0.765029907, 0.738372803, 0.711318970,
	0.683914185, 0.656219482, 0.628295898, 0.600219727,
	0.572036743, 0.543823242, 0.515609741, 0.487472534,
	0.459472656, 0.431655884, 0.404083252, 0.376800537,
	0.349868774, 0.323318481, 0.297210693, 0.271591187,
	0.246505737, 0.221984863, 0.198059082, 0.174789429,
	0.152206421, 0.130310059, 0.109161377, 0.088775635,
	0.069168091, 0.050354004, 0.032379150, 0.015228271,
	-0.001068115, -0.016510010, -0.031082153, -0.044784546,
	-0.057617188, -0.069595337, -0.080688477, -0.090927124,
	0.100311279, 0.108856201, 0.116577148, 0.123474121,
	0.129577637, 0.134887695, 0.139450073, 0.143264771,
	0.146362305, 0.148773193, 0.150497437, 0.151596069,
	0.152069092, 0.151962280, 0.151306152, 0.150115967,
	0.148422241, 0.146255493, 0.143676758, 0.140670776,
	0.137298584, 0.133590698, 0.129562378, 0.125259399,
	0.120697021, 0.115921021, 0.110946655, 0.105819702,
	0.100540161, 0.095169067, 0.089706421, 0.084182739,
	0.078628540, 0.073059082, 0.067520142, 0.061996460,
	0.056533813, 0.051132202, 0.045837402, 0.040634155,
	0.035552979, 0.030609131, 0.025817871, 0.021179199,
	0.016708374, 0.012420654, 0.008316040, 0.004394531,
	0.000686646, -0.002822876, -0.006134033, -0.009231567,
	-0.012115479, -0.014801025, -0.017257690, -0.019531250,
	-0.021575928, -0.023422241, -0.025085449, -0.026535034,
	-0.027801514, -0.028884888, -0.029785156, -0.030517578,
	0.031082153, 0.031478882, 0.031738281, 0.031845093,
	0.031814575, 0.031661987, 0.031387329, 0.031005859,
	0.030532837, 0.029937744, 0.029281616, 0.028533936,
	0.027725220, 0.026840210, 0.025909424, 0.024932861,
	0.023910522, 0.022857666, 0.021789551, 0.020690918,
	0.019577026, 0.018463135, 0.017349243, 0.016235352,
	0.015121460, 0.014022827, 0.012939453, 0.011886597,
	0.010848999, 0.009841919, 0.008865356, 0.007919312,
	0.007003784, 0.006118774, 0.005294800, 0.004486084,
	0.003723145, 0.003005981, 0.002334595, 0.001693726,
	0.001098633, 0.000549316, 0.000030518, -0.000442505,
	-0.000869751, -0.001266479, -0.001617432, -0.001937866,
	-0.002227783, -0.002487183, -0.002700806, -0.002883911,
	-0.003051758, -0.003173828, -0.003280640, -0.003372192,
	-0.003417969, -0.003463745, -0.003479004, -0.003479004,
	-0.003463745, -0.003433228, -0.003387451, -0.003326416,
	0.003250122, 0.003173828, 0.003082275, 0.002990723,
	0.002899170, 0.002792358, 0.002685547, 0.002578735,
	0.002456665, 0.002349854, 0.002243042, 0.002120972,
	0.002014160, 0.001907349, 0.001785278, 0.001693726,
	0.001586914, 0.001480103, 0.001388550, 0.001296997,
	0.001205444, 0.001113892, 0.001037598, 0.000961304,
	0.000885010, 0.000808716, 0.000747681, 0.000686646,
	0.000625610, 0.000579834, 0.000534058, 0.000473022,
	0.000442505, 0.000396729, 0.000366211, 0.000320435,
	0.000289917, 0.000259399, 0.000244141, 0.000213623,
	0.000198364, 0.000167847, 0.000152588, 0.000137329,
	0.000122070, 0.000106812, 0.000106812, 0.000091553,
	0.000076294, 0.000076294, 0.000061035, 0.000061035,
	0.000045776, 0.000045776, 0.000030518, 0.000030518,
	0.000030518, 0.000030518, 0.000015259, 0.000015259,
	0.000015259, 0.000015259, 0.000015259, 0.000015259,
}

func (f *Frame) subbandSynthesis(gr int, ch int, out []byte) {
	mono := f.header.NumberOfChannels() == 1
	synthesize(&f.mainData.Is[gr][ch], 18, &f.synth[ch], out, mono, ch)
}

// subbandSynthesis12 synthesizes the first 12 samples of each subband of
// granule 0 (Layer I).
func (f *Frame) subbandSynthesis12(ch int, out []byte) {
	mono := f.header.NumberOfChannels() == 1
	synthesize(&f.mainData.Is[0][ch], 12, &f.synth[ch], out, mono, ch)
}

// toInt16 converts a sample of full scale 1.0 to 16 bits: scaled by
// 32768, rounded to the nearest integer, clipped to [-32768, 32767].
//
// It is offset by 32768.5 and truncated (the value is not negative, so
// that is the floor; halves round up), then offset back. A sample within
// the range converts with one 32-bit conversion (a single instruction on
// every architecture; 64-bit conversions are a call on 32-bit ARM), and
// the test for it is predictable (only clipped samples fail it); the
// others are clipped in float first, where NaN goes to 0 too.
func toInt16(x float32) int16 {
	v := x*32768 + 32768.5
	if v >= 0 && v < 65536 {
		return int16(int32(v) - 32768)
	}
	return int16(int32(min(max(v, 0), 65535)) - 32768)
}
