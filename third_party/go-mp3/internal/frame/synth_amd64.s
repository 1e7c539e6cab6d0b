//go:build !purego

#include "textflag.h"

// The window step of the synthesis (synthWindowGo), four outputs at a
// time in SSE2 registers: each lane does exactly the scalar code's
// operations in its order (products rounded to float32, summed in pairs
// of ages, the pairs added k = 0..7), then toInt16 lane by lane: scaled
// by 32768, offset by 32768.5, clipped to [0, 65535] (MAXPS with 0 as
// its source turns NaN into 0), truncated, offset back, packed to 16 bits,
// each written into the bits set of its 32-bit stereo frame (both halves).

DATA synthConst<>+0(SB)/4, $0x47000000 // 32768
DATA synthConst<>+4(SB)/4, $0x47000080 // 32768.5
DATA synthConst<>+8(SB)/4, $0x477fff00 // 65535
DATA synthConst<>+12(SB)/4, $0x00008000 // 32768 (int32)
GLOBL synthConst<>(SB), RODATA|NOPTR, $16

// PAIR(a, b) leaves v[a]*w[a] + v[b]*w[b] of the current four outputs in X1.
#define PAIR(a, b) \
	MOVUPS (a*128)(SI), X1 \
	MOVUPS (a*128)(DI), X2 \
	MULPS X2, X1 \
	MOVUPS (b*128)(SI), X3 \
	MOVUPS (b*128)(DI), X4 \
	MULPS X4, X3 \
	ADDPS X3, X1

// func synthWindow(v, w *[16][32]float32, o *[128]byte, set uint32)
TEXT ·synthWindow(SB), NOSPLIT, $0-28
	MOVQ v+0(FP), SI
	MOVQ w+8(FP), DI
	MOVQ o+16(FP), DX
	MOVL set+24(FP), AX
	MOVL AX, X9
	PSHUFL $0, X9, X9 // set
	NOTL AX
	MOVL AX, X8
	PSHUFL $0, X8, X8 // keep
	MOVSS synthConst<>+0(SB), X12
	SHUFPS $0, X12, X12
	MOVSS synthConst<>+4(SB), X13
	SHUFPS $0, X13, X13
	MOVSS synthConst<>+8(SB), X14
	SHUFPS $0, X14, X14
	MOVSS synthConst<>+12(SB), X11
	SHUFPS $0, X11, X11
	XORPS X10, X10
	MOVQ $8, CX
loop:
	PAIR(0, 1)
	MOVAPS X1, X0
	PAIR(2, 3)
	ADDPS X1, X0
	PAIR(4, 5)
	ADDPS X1, X0
	PAIR(6, 7)
	ADDPS X1, X0
	PAIR(8, 9)
	ADDPS X1, X0
	PAIR(10, 11)
	ADDPS X1, X0
	PAIR(12, 13)
	ADDPS X1, X0
	PAIR(14, 15)
	ADDPS X1, X0
	MULPS X12, X0
	ADDPS X13, X0
	MAXPS X10, X0
	MINPS X14, X0
	CVTTPS2PL X0, X0
	PSUBL X11, X0
	PACKSSLW X0, X0
	PUNPCKLWL X0, X0
	PAND X9, X0
	MOVOU (DX), X1
	PAND X8, X1
	POR X1, X0
	MOVOU X0, (DX)
	ADDQ $16, SI
	ADDQ $16, DI
	ADDQ $16, DX
	DECQ CX
	JNZ loop
	RET
