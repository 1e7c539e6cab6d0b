//go:build !purego

#include "textflag.h"

// The window step of the synthesis (synthWindowGo) in NEON registers, all
// 32 outputs at once (eight vectors of four): each lane does exactly the
// scalar code's operations in its order (products rounded to float32 by
// FMUL, never a fused FMLA; summed in pairs of ages, the pairs added
// k = 0..7), then toInt16 lane by lane: scaled by 32768, offset by
// 32768.5, clipped to [0, 65535] (FMAXNM turns NaN into 0), truncated,
// narrowed to 16 bits and offset back (x - 32768 is x ^ 0x8000 in 16 bits),
// each written into the bits set of its 32-bit stereo frame (both halves).
//
// Go's assembler has no mnemonics for these floating-point vector
// instructions, so they are encoded here (checked with GNU as).

// FMUL Vd.4S, Vn.4S, Vm.4S
#define FMUL4S(d, n, m) WORD $(0x6E20DC00 | (m<<16) | (n<<5) | d)
// FADD Vd.4S, Vn.4S, Vm.4S
#define FADD4S(d, n, m) WORD $(0x4E20D400 | (m<<16) | (n<<5) | d)
// FMAXNM Vd.4S, Vn.4S, Vm.4S
#define FMAXNM4S(d, n, m) WORD $(0x4E20C400 | (m<<16) | (n<<5) | d)
// FMINNM Vd.4S, Vn.4S, Vm.4S
#define FMINNM4S(d, n, m) WORD $(0x4EA0C400 | (m<<16) | (n<<5) | d)
// FCVTZS Vd.4S, Vn.4S
#define FCVTZS4S(d, n) WORD $(0x4EA1B800 | (n<<5) | d)
// UZP1 Vd.8H, Vn.8H, Vm.8H
#define UZP18H(d, n, m) WORD $(0x4E401800 | (m<<16) | (n<<5) | d)

// func synthWindow(v, w *[16][32]float32, o *[128]byte, set uint32)
TEXT ·synthWindow(SB), NOSPLIT, $0-28
	MOVD v+0(FP), R0
	MOVD w+8(FP), R1
	MOVD o+16(FP), R2
	// Ages 0 and 1: V0-V7 = v[0]*w[0] + v[1]*w[1].
	VLD1.P 64(R0), [V0.S4, V1.S4, V2.S4, V3.S4]
	VLD1.P 64(R0), [V4.S4, V5.S4, V6.S4, V7.S4]
	VLD1.P 64(R1), [V16.S4, V17.S4, V18.S4, V19.S4]
	VLD1.P 64(R1), [V20.S4, V21.S4, V22.S4, V23.S4]
	FMUL4S(0, 0, 16)
	FMUL4S(1, 1, 17)
	FMUL4S(2, 2, 18)
	FMUL4S(3, 3, 19)
	FMUL4S(4, 4, 20)
	FMUL4S(5, 5, 21)
	FMUL4S(6, 6, 22)
	FMUL4S(7, 7, 23)
	VLD1.P 64(R0), [V8.S4, V9.S4, V10.S4, V11.S4]
	VLD1.P 64(R0), [V12.S4, V13.S4, V14.S4, V15.S4]
	VLD1.P 64(R1), [V24.S4, V25.S4, V26.S4, V27.S4]
	VLD1.P 64(R1), [V28.S4, V29.S4, V30.S4, V31.S4]
	FMUL4S(8, 8, 24)
	FMUL4S(9, 9, 25)
	FMUL4S(10, 10, 26)
	FMUL4S(11, 11, 27)
	FMUL4S(12, 12, 28)
	FMUL4S(13, 13, 29)
	FMUL4S(14, 14, 30)
	FMUL4S(15, 15, 31)
	FADD4S(0, 0, 8)
	FADD4S(1, 1, 9)
	FADD4S(2, 2, 10)
	FADD4S(3, 3, 11)
	FADD4S(4, 4, 12)
	FADD4S(5, 5, 13)
	FADD4S(6, 6, 14)
	FADD4S(7, 7, 15)
	MOVD $7, R3
loop:
	// Ages 2k and 2k+1: V8-V15 = v[2k]*w[2k] + v[2k+1]*w[2k+1], added to V0-V7.
	VLD1.P 64(R0), [V8.S4, V9.S4, V10.S4, V11.S4]
	VLD1.P 64(R0), [V12.S4, V13.S4, V14.S4, V15.S4]
	VLD1.P 64(R1), [V16.S4, V17.S4, V18.S4, V19.S4]
	VLD1.P 64(R1), [V20.S4, V21.S4, V22.S4, V23.S4]
	FMUL4S(8, 8, 16)
	FMUL4S(9, 9, 17)
	FMUL4S(10, 10, 18)
	FMUL4S(11, 11, 19)
	FMUL4S(12, 12, 20)
	FMUL4S(13, 13, 21)
	FMUL4S(14, 14, 22)
	FMUL4S(15, 15, 23)
	VLD1.P 64(R0), [V16.S4, V17.S4, V18.S4, V19.S4]
	VLD1.P 64(R0), [V20.S4, V21.S4, V22.S4, V23.S4]
	VLD1.P 64(R1), [V24.S4, V25.S4, V26.S4, V27.S4]
	VLD1.P 64(R1), [V28.S4, V29.S4, V30.S4, V31.S4]
	FMUL4S(16, 16, 24)
	FMUL4S(17, 17, 25)
	FMUL4S(18, 18, 26)
	FMUL4S(19, 19, 27)
	FMUL4S(20, 20, 28)
	FMUL4S(21, 21, 29)
	FMUL4S(22, 22, 30)
	FMUL4S(23, 23, 31)
	FADD4S(8, 8, 16)
	FADD4S(9, 9, 17)
	FADD4S(10, 10, 18)
	FADD4S(11, 11, 19)
	FADD4S(12, 12, 20)
	FADD4S(13, 13, 21)
	FADD4S(14, 14, 22)
	FADD4S(15, 15, 23)
	FADD4S(0, 0, 8)
	FADD4S(1, 1, 9)
	FADD4S(2, 2, 10)
	FADD4S(3, 3, 11)
	FADD4S(4, 4, 12)
	FADD4S(5, 5, 13)
	FADD4S(6, 6, 14)
	FADD4S(7, 7, 15)
	SUBS $1, R3
	BNE loop
	// toInt16, eight vectors of four.
	MOVW $0x47000000, R4 // 32768
	VDUP R4, V24.S4
	MOVW $0x47000080, R4 // 32768.5
	VDUP R4, V25.S4
	VEOR V26.B16, V26.B16, V26.B16 // 0
	MOVW $0x477fff00, R4 // 65535
	VDUP R4, V27.S4
	MOVW $0x8000, R4
	VDUP R4, V28.H8
	FMUL4S(0, 0, 24)
	FMUL4S(1, 1, 24)
	FMUL4S(2, 2, 24)
	FMUL4S(3, 3, 24)
	FMUL4S(4, 4, 24)
	FMUL4S(5, 5, 24)
	FMUL4S(6, 6, 24)
	FMUL4S(7, 7, 24)
	FADD4S(0, 0, 25)
	FADD4S(1, 1, 25)
	FADD4S(2, 2, 25)
	FADD4S(3, 3, 25)
	FADD4S(4, 4, 25)
	FADD4S(5, 5, 25)
	FADD4S(6, 6, 25)
	FADD4S(7, 7, 25)
	FMAXNM4S(0, 0, 26)
	FMAXNM4S(1, 1, 26)
	FMAXNM4S(2, 2, 26)
	FMAXNM4S(3, 3, 26)
	FMAXNM4S(4, 4, 26)
	FMAXNM4S(5, 5, 26)
	FMAXNM4S(6, 6, 26)
	FMAXNM4S(7, 7, 26)
	FMINNM4S(0, 0, 27)
	FMINNM4S(1, 1, 27)
	FMINNM4S(2, 2, 27)
	FMINNM4S(3, 3, 27)
	FMINNM4S(4, 4, 27)
	FMINNM4S(5, 5, 27)
	FMINNM4S(6, 6, 27)
	FMINNM4S(7, 7, 27)
	FCVTZS4S(0, 0)
	FCVTZS4S(1, 1)
	FCVTZS4S(2, 2)
	FCVTZS4S(3, 3)
	FCVTZS4S(4, 4)
	FCVTZS4S(5, 5)
	FCVTZS4S(6, 6)
	FCVTZS4S(7, 7)
	UZP18H(8, 0, 1)
	UZP18H(9, 2, 3)
	UZP18H(10, 4, 5)
	UZP18H(11, 6, 7)
	VEOR V28.B16, V8.B16, V8.B16
	VEOR V28.B16, V9.B16, V9.B16
	VEOR V28.B16, V10.B16, V10.B16
	VEOR V28.B16, V11.B16, V11.B16
	// Each 16-bit sample in both halves of its frame, blended into o.
	MOVWU set+24(FP), R4
	VDUP R4, V30.S4
	MVNW R4, R4
	VDUP R4, V29.S4
	VZIP1 V8.H8, V8.H8, V12.H8
	VZIP2 V8.H8, V8.H8, V13.H8
	VZIP1 V9.H8, V9.H8, V14.H8
	VZIP2 V9.H8, V9.H8, V15.H8
	VZIP1 V10.H8, V10.H8, V16.H8
	VZIP2 V10.H8, V10.H8, V17.H8
	VZIP1 V11.H8, V11.H8, V18.H8
	VZIP2 V11.H8, V11.H8, V19.H8
	ADD $64, R2, R5
	VLD1 (R2), [V20.B16, V21.B16, V22.B16, V23.B16]
	VLD1 (R5), [V24.B16, V25.B16, V26.B16, V27.B16]
	VAND V29.B16, V20.B16, V20.B16
	VAND V29.B16, V21.B16, V21.B16
	VAND V29.B16, V22.B16, V22.B16
	VAND V29.B16, V23.B16, V23.B16
	VAND V29.B16, V24.B16, V24.B16
	VAND V29.B16, V25.B16, V25.B16
	VAND V29.B16, V26.B16, V26.B16
	VAND V29.B16, V27.B16, V27.B16
	VAND V30.B16, V12.B16, V12.B16
	VAND V30.B16, V13.B16, V13.B16
	VAND V30.B16, V14.B16, V14.B16
	VAND V30.B16, V15.B16, V15.B16
	VAND V30.B16, V16.B16, V16.B16
	VAND V30.B16, V17.B16, V17.B16
	VAND V30.B16, V18.B16, V18.B16
	VAND V30.B16, V19.B16, V19.B16
	VORR V20.B16, V12.B16, V12.B16
	VORR V21.B16, V13.B16, V13.B16
	VORR V22.B16, V14.B16, V14.B16
	VORR V23.B16, V15.B16, V15.B16
	VORR V24.B16, V16.B16, V16.B16
	VORR V25.B16, V17.B16, V17.B16
	VORR V26.B16, V18.B16, V18.B16
	VORR V27.B16, V19.B16, V19.B16
	VST1 [V12.B16, V13.B16, V14.B16, V15.B16], (R2)
	VST1 [V16.B16, V17.B16, V18.B16, V19.B16], (R5)
	RET
