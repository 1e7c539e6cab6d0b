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

import "math"

//go:generate sh -c "python3 gendct32.py > dct32_flat.go"

// The synthesis matrix N[i][j] = cos((16+i)(2j+1)pi/64) is a DCT-II of 32
// points, X[k] = sum_j x[j] cos((2j+1)k pi/64), read at k = 16+i with the
// cosine's symmetries (see synthSample). dct32 computes it with Lee's
// recursive factorisation (B. G. Lee, "A new algorithm to compute the
// discrete cosine transform", 1984): a DCT-II of N points is one of N/2
// points on the sums x[n]+x[N-1-n] (the even outputs) and one on the
// differences scaled by 1/(2cos((2n+1)pi/2N)) (each odd output the sum of
// two neighbours). 80 multiplications and 209 additions instead of 544
// of each.
//
// Every product is converted to float32 before it is added, so that no
// architecture fuses the two (FMA) and the output is the same on all.

var (
	dctC32 [16]float32
	dctC16 [8]float32
	dctC8  [4]float32
	dctC4  [2]float32
	dctC2  float32
)

// dctCoef is the factor 1/(2cos((2n+1)pi/2size)) of Lee's step of the
// given size.
func dctCoef(n, size int) float32 {
	return float32(1 / (2 * math.Cos(float64(2*n+1)*math.Pi/float64(2*size))))
}

func init() {
	c := dctCoef
	for n := range dctC32 {
		dctC32[n] = c(n, 32)
	}
	for n := range dctC16 {
		dctC16[n] = c(n, 16)
	}
	for n := range dctC8 {
		dctC8[n] = c(n, 8)
	}
	for n := range dctC4 {
		dctC4[n] = c(n, 4)
	}
	dctC2 = c(0, 2)
}

func dct2(x *[2]float32, y *[2]float32) {
	y[0] = x[0] + x[1]
	y[1] = float32((x[0] - x[1]) * dctC2)
}

func dct4(x *[4]float32, y *[4]float32) {
	var a, b, ya, yb [2]float32
	for n := 0; n < 2; n++ {
		a[n] = x[n] + x[3-n]
		b[n] = float32((x[n] - x[3-n]) * dctC4[n])
	}
	dct2(&a, &ya)
	dct2(&b, &yb)
	y[0], y[2] = ya[0], ya[1]
	y[1] = yb[0] + yb[1]
	y[3] = yb[1]
}

func dct8(x *[8]float32, y *[8]float32) {
	var a, b, ya, yb [4]float32
	for n := 0; n < 4; n++ {
		a[n] = x[n] + x[7-n]
		b[n] = float32((x[n] - x[7-n]) * dctC8[n])
	}
	dct4(&a, &ya)
	dct4(&b, &yb)
	for k := 0; k < 3; k++ {
		y[2*k] = ya[k]
		y[2*k+1] = yb[k] + yb[k+1]
	}
	y[6] = ya[3]
	y[7] = yb[3]
}

func dct16(x *[16]float32, y *[16]float32) {
	var a, b, ya, yb [8]float32
	for n := 0; n < 8; n++ {
		a[n] = x[n] + x[15-n]
		b[n] = float32((x[n] - x[15-n]) * dctC16[n])
	}
	dct8(&a, &ya)
	dct8(&b, &yb)
	for k := 0; k < 7; k++ {
		y[2*k] = ya[k]
		y[2*k+1] = yb[k] + yb[k+1]
	}
	y[14] = ya[7]
	y[15] = yb[7]
}

// dct32 returns in y the DCT-II of the 32 values x:
// y[k] = sum_j x[j] cos((2j+1)k pi/64).
func dct32(x *[32]float32, y *[32]float32) {
	var a, b, ya, yb [16]float32
	for n := 0; n < 16; n++ {
		a[n] = x[n] + x[31-n]
		b[n] = float32((x[n] - x[31-n]) * dctC32[n])
	}
	dct16(&a, &ya)
	dct16(&b, &yb)
	for k := 0; k < 15; k++ {
		y[2*k] = ya[k]
		y[2*k+1] = yb[k] + yb[k+1]
	}
	y[30] = ya[15]
	y[31] = yb[15]
}
