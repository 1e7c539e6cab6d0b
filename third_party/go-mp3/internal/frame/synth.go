package frame

import "encoding/binary"

// synthState is one channel's synthesis FIFO V, kept so that the window
// step reads, for each age, the values of all 32 outputs from one
// contiguous row: four or eight outputs are then summed at once, with
// vector instructions (synth_amd64.s, synth_arm64.s), each output's
// products and sums in exactly the order of the Go code (synthWindowGo).
//
// The standard's V holds the last 16 sets of 64 values N_t (newest
// first, V[64a+m] = N_(t-a)[m]); time sample i (0..31) of the output sums,
// for k = 0..7, D[64k+i] V[128k+i] + D[64k+32+i] V[128k+96+i]: of the set
// of age a = 2k it takes value i, of age a = 2k+1 value 32+i. So output i
// needs, by age, N[i] of the even ages and N[32+i] of the odd ones. Which
// ages are even changes with every step, so each set is stored twice:
// row b[q][s] holds N[0..31] of a set that came at the parity q of the
// current step and N[32..63] of the others; at a step of parity q, the 16
// rows of b[q] from the newest slot on are, row a, every output's value of
// age a. The slots are a ring (the newest at p, older at higher
// addresses) whose 16 slots are each stored twice (at s and s+16), so
// that the 16 rows are contiguous without moving the history.
type synthState struct {
	b [2][32][32]float32
	p int // the newest slot, 0..15
	q int // the parity of the current step
}

// synthWin[a][i] is output i's window coefficient of age a: D[64k+i] at
// age 2k, D[64k+32+i] at age 2k+1.
var synthWin = func() (w [16][32]float32) {
	for i := 0; i < 32; i++ {
		for k := 0; k < 8; k++ {
			w[2*k][i] = synthDtbl[64*k+i]
			w[2*k+1][i] = synthDtbl[64*k+32+i]
		}
	}
	return w
}()

// synthesize synthesizes the first n (12 or 18) time samples of the 32
// subbands in d (18 samples each) with the filter history st into out (32
// stereo 16-bit frames per time sample: channel ch, or both when mono).
func synthesize(d *[576]float32, n int, st *synthState, out []byte, mono bool, ch int) {
	// Matrix multiply the 32 subband samples with
	// N[i][j] = cos((16+i)(2j+1)pi/64): with X the DCT-II of the
	// subband samples (dct32), row i is X[16+i] for i < 16, 0 for
	// i = 16, -X[48-i] for 16 < i < 48, -X[0] for i = 48 and -X[i-48]
	// above (cos is even, cos(pi-t) = -cos(t), cos(pi+t) = -cos(t)).
	// The DCTs are done four time samples at a time; the last four
	// start at n-4, computing two again.
	var X [32][4]float32
	set := synthSet(mono, ch)
	for b := 0; b < n; b += 4 {
		s0 := min(b, n-4)
		dct32x4(d, s0, &X)
		for ss := b; ss < min(b+4, n); ss++ {
			synthSample(&X, ss-s0, st, out[128*ss:128*ss+128], set)
		}
	}
}

// synthSample synthesizes 32 time samples from X[k][l] (the DCT-II of
// the 32 subbands' sample) with the filter history st into o (32 stereo
// 16-bit frames: the bits set of each, synthSet).
func synthSample(Y *[32][4]float32, l int, st *synthState, o []byte, set uint32) {
	o = o[:128]
	var X [32]float32
	for k := range X {
		X[k] = Y[k][l]
	}
	// The new set goes in at a new newest slot: N[0..31] into b[q],
	// N[32..63] into b[1-q], each at p and p+16.
	st.p = (st.p - 1) & 15
	st.q ^= 1
	p, q := st.p, st.q
	cur, other := &st.b[q][p], &st.b[q^1][p]
	for i := 0; i < 16; i++ {
		// N[i] = X[16+i], N[32+i] = -X[16-i].
		cur[i], other[i] = X[16+i], -X[16-i]
	}
	// N[16] = 0, N[48] = -X[0].
	cur[16], other[16] = 0, -X[0]
	for i := 17; i < 32; i++ {
		// N[i] = -X[48-i], N[32+i] = -X[i-16].
		cur[i], other[i] = -X[48-i], -X[i-16]
	}
	st.b[q][p+16], st.b[q^1][p+16] = *cur, *other
	// Window and sum: output i is the 16 values by age times its window,
	// summed in the order k = 0..7 of pairs (ages 2k, 2k+1), as the
	// standard's loop does.
	synthWindow((*[16][32]float32)(st.b[q][p:p+16]), &synthWin, (*[128]byte)(o), set)
}

// synthSet is the bits of a 32-bit stereo frame that channel ch writes
// (both when mono: the channel duplicated).
func synthSet(mono bool, ch int) uint32 {
	if mono {
		return 0xffffffff
	}
	return 0xffff << (16 * ch)
}

// synthWindowGo is the window step: output i is the sum over the 16 ages
// a of v[a][i] w[a][i], each product rounded to float32 before it is
// added (no fused multiply-add), the products summed in pairs of ages
// (2k, 2k+1) and the pairs added in the order k = 0..7, then converted by
// toInt16 and written into the bits set of 32-bit frame i of o (its
// 16 bits in both halves). The vector versions compute each output in
// exactly this order, so their results are the same bits.
func synthWindowGo(v, w *[16][32]float32, o *[128]byte, set uint32) {
	for i := range 32 {
		sum := float32(v[0][i]*w[0][i]) + float32(v[1][i]*w[1][i])
		sum += float32(v[2][i]*w[2][i]) + float32(v[3][i]*w[3][i])
		sum += float32(v[4][i]*w[4][i]) + float32(v[5][i]*w[5][i])
		sum += float32(v[6][i]*w[6][i]) + float32(v[7][i]*w[7][i])
		sum += float32(v[8][i]*w[8][i]) + float32(v[9][i]*w[9][i])
		sum += float32(v[10][i]*w[10][i]) + float32(v[11][i]*w[11][i])
		sum += float32(v[12][i]*w[12][i]) + float32(v[13][i]*w[13][i])
		sum += float32(v[14][i]*w[14][i]) + float32(v[15][i]*w[15][i])
		// sum is time sample 32*ss+i, full scale 1.0. Upstream scaled
		// by 32767 and truncated towards zero: 0.66-0.80 LSB RMS off
		// the ISO references ("limited accuracy"). 16-bit full scale
		// is 32768; rounding to the nearest and clipping to the int16
		// range is what 11172-4's full accuracy (RMS < 1/sqrt(12) LSB)
		// asks for.
		f := uint32(uint16(toInt16(sum))) * 0x10001
		pp := o[4*i : 4*i+4]
		binary.LittleEndian.PutUint32(pp, binary.LittleEndian.Uint32(pp)&^set|f&set)
	}
}
