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

package imdct

import (
	"math"
)

var imdctWinData = [4][36]float32{}

func init() {
	for i := 0; i < 36; i++ {
		imdctWinData[0][i] = float32(math.Sin(math.Pi / 36 * (float64(i) + 0.5)))
	}
	for i := 0; i < 18; i++ {
		imdctWinData[1][i] = float32(math.Sin(math.Pi / 36 * (float64(i) + 0.5)))
	}
	for i := 18; i < 24; i++ {
		imdctWinData[1][i] = 1.0
	}
	for i := 24; i < 30; i++ {
		imdctWinData[1][i] = float32(math.Sin(math.Pi / 12 * (float64(i) + 0.5 - 18.0)))
	}
	for i := 30; i < 36; i++ {
		imdctWinData[1][i] = 0.0
	}
	for i := 0; i < 12; i++ {
		imdctWinData[2][i] = float32(math.Sin(math.Pi / 12 * (float64(i) + 0.5)))
	}
	for i := 12; i < 36; i++ {
		imdctWinData[2][i] = 0.0
	}
	for i := 0; i < 6; i++ {
		imdctWinData[3][i] = 0.0
	}
	for i := 6; i < 12; i++ {
		imdctWinData[3][i] = float32(math.Sin(math.Pi / 12 * (float64(i) + 0.5 - 6.0)))
	}
	for i := 12; i < 18; i++ {
		imdctWinData[3][i] = 1.0
	}
	for i := 18; i < 36; i++ {
		imdctWinData[3][i] = float32(math.Sin(math.Pi / 36 * (float64(i) + 0.5)))
	}
}

var cosN12 = [6][12]float32{}

// cosT12 is cosN12 transposed (cosT12[p][m] = cosN12[m][p]).
var cosT12 = [12][6]float32{}

func init() {
	const N = 12
	for i := 0; i < 6; i++ {
		for j := 0; j < 12; j++ {
			cosN12[i][j] = float32(math.Cos(math.Pi / (2 * N) * (2*float64(j) + 1 + N/2) * (2*float64(i) + 1)))
			cosT12[j][i] = cosN12[i][j]
		}
	}
}

// The long block's IMDCT is a DCT-IV of 18 points,
// z[n] = sum_m in[m] cos((2n+1)(2m+1)pi/72): output p of the 36 is
// z[p+9] for p < 9 and -z[26-p] for 18 <= p < 27 (the others are their
// mirrors). The DCT-IV is computed as a DCT-II of 18 points on the lines
// scaled by 2cos((2m+1)pi/72), whose output k is z[k] + z[k-1] (z[-1] =
// z[0]); that DCT-II is one step of Lee's factorisation (sums and scaled
// differences of mirrored lines) into two of 9 points, and each of those
// uses the symmetry cos(k(17-2n)pi/18) = (-1)^k cos(k(2n+1)pi/18): 41
// products instead of 81. About 150 operations instead of 324
// multiply-adds.
var (
	imdctPre36 [18]float64   // 2cos((2m+1)pi/72)
	imdctLee18 [9]float64    // 1/(2cos((2n+1)pi/36))
	imdctDct9  [9][5]float64 // cos(k(2n+1)pi/18), n = 0..4
)

func init() {
	for m := range imdctPre36 {
		imdctPre36[m] = float64(2 * math.Cos(float64(2*m+1)*math.Pi/72))
	}
	for n := range imdctLee18 {
		imdctLee18[n] = float64(1 / (2 * math.Cos(float64(2*n+1)*math.Pi/36)))
	}
	for k := range imdctDct9 {
		for n := range imdctDct9[k] {
			imdctDct9[k][n] = float64(math.Cos(float64(k*(2*n+1)) * math.Pi / 18))
		}
	}
	fillWinLong2K()
	fillWinLong2W()
}

// dct9 returns in y the DCT-II of the 9 values x:
// y[k] = sum_n x[n] cos(k(2n+1)pi/18).
func dct9(x *[9]float64, y *[9]float64) {
	// Written out (no loop, constant indices): the same sums as
	// y[k] = sum over n < 4 of s[n]c[k][n] (+ x[4]c[k][4]) for even k and of
	// d[n]c[k][n] for odd k, in that order.
	s0, s1, s2, s3 := x[0]+x[8], x[1]+x[7], x[2]+x[6], x[3]+x[5]
	d0, d1, d2, d3 := x[0]-x[8], x[1]-x[7], x[2]-x[6], x[3]-x[5]
	x4 := x[4]
	c := &imdctDct9
	y[0] = float64(s0*c[0][0]) + float64(s1*c[0][1]) + float64(s2*c[0][2]) + float64(s3*c[0][3]) + float64(x4*c[0][4])
	y[2] = float64(s0*c[2][0]) + float64(s1*c[2][1]) + float64(s2*c[2][2]) + float64(s3*c[2][3]) + float64(x4*c[2][4])
	y[4] = float64(s0*c[4][0]) + float64(s1*c[4][1]) + float64(s2*c[4][2]) + float64(s3*c[4][3]) + float64(x4*c[4][4])
	y[6] = float64(s0*c[6][0]) + float64(s1*c[6][1]) + float64(s2*c[6][2]) + float64(s3*c[6][3]) + float64(x4*c[6][4])
	y[8] = float64(s0*c[8][0]) + float64(s1*c[8][1]) + float64(s2*c[8][2]) + float64(s3*c[8][3]) + float64(x4*c[8][4])
	y[1] = float64(d0*c[1][0]) + float64(d1*c[1][1]) + float64(d2*c[1][2]) + float64(d3*c[1][3])
	y[3] = float64(d0*c[3][0]) + float64(d1*c[3][1]) + float64(d2*c[3][2]) + float64(d3*c[3][3])
	y[5] = float64(d0*c[5][0]) + float64(d1*c[5][1]) + float64(d2*c[5][2]) + float64(d3*c[5][3])
	y[7] = float64(d0*c[7][0]) + float64(d1*c[7][1]) + float64(d2*c[7][2]) + float64(d3*c[7][3])
}

// dct4x18 returns in z the DCT-IV of the 18 lines in. It works in
// float64: the recurrence z[k] = w[k] - z[k-1] carries each rounding
// error on to the outputs after it, which in float32 more than doubled
// the RMS error of the full-scale ISO sine (l3-sin1k0db).
func dct4x18(in *[18]float32, z *[18]float32) {
	var a, b, ya, yb [9]float64
	for n := 0; n < 9; n++ {
		lo := float64(float64(in[n]) * imdctPre36[n])
		hi := float64(float64(in[17-n]) * imdctPre36[17-n])
		a[n] = lo + hi
		b[n] = float64((lo - hi) * imdctLee18[n])
	}
	dct9(&a, &ya)
	dct9(&b, &yb)
	// w[2k] = ya[k], w[2k+1] = yb[k] + yb[k+1] (yb[9] = 0); then
	// z[0] = w[0]/2 and z[k] = w[k] - z[k-1].
	zk := ya[0] * 0.5
	z[0] = float32(zk)
	for k := 0; k < 9; k++ {
		w := yb[k]
		if k < 8 {
			w += yb[k+1]
		}
		zk = w - zk
		z[2*k+1] = float32(zk)
		if k < 8 {
			zk = ya[k+1] - zk
			z[2*k+2] = float32(zk)
		}
	}
}

// Win computes the windowed IMDCT of the 18 lines in into out.
//
// The IMDCT of N/2 lines has N outputs of which only half are distinct:
// x[N/2-1-p] = -x[p] and x[N-1-p] = x[N/2+p] for p < N/4, so only the first
// and third quarters are summed.
//
// Every product is converted to float32 before it is added, so that no
// architecture fuses the two (FMA) and the output is the same on all.
func Win(in []float32, blockType int, out *[36]float32) {
	if blockType == 2 {
		*out = [36]float32{}
		iwd := &imdctWinData[blockType]
		const N = 12
		for i := 0; i < 3; i++ {
			v := [N / 2]float32{in[i], in[i+3], in[i+6], in[i+9], in[i+12], in[i+15]}
			var x [N]float32
			for q := 0; q < N/4; q++ {
				cl, ch := &cosT12[q], &cosT12[N/2+q]
				var lo, hi float32
				for m, a := range v {
					lo += float32(a * cl[m])
					hi += float32(a * ch[m])
				}
				x[q], x[N/2+q] = lo, hi
				x[N/2-1-q] = -lo
				x[N-1-q] = hi
			}
			o := (*[N]float32)(out[6*i+6 : 6*i+6+N])
			for p := 0; p < N; p++ {
				o[p] += float32(x[p] * iwd[p])
			}
		}
		return
	}
	iwd := &imdctWinData[blockType]
	var z [18]float32
	dct4x18((*[18]float32)(in[:18]), &z)
	for q := 0; q < 9; q++ {
		winStore(out, iwd, q, z[q+9], -z[8-q])
	}
}

// winStore windows the IMDCT outputs q (lo) and N/2+q (hi) of a long
// block into out, with their mirrors.
func winStore(out *[36]float32, iwd *[36]float32, q int, lo, hi float32) {
	const N = 36
	out[q] = lo * iwd[q]
	out[N/2-1-q] = -lo * iwd[N/2-1-q]
	out[N/2+q] = hi * iwd[N/2+q]
	out[N-1-q] = hi * iwd[N-1-q]
}
