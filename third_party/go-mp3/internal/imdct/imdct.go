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

func init() {
	const N = 12
	for i := 0; i < 6; i++ {
		for j := 0; j < 12; j++ {
			cosN12[i][j] = float32(math.Cos(math.Pi / (2 * N) * (2*float64(j) + 1 + N/2) * (2*float64(i) + 1)))
		}
	}
}

var cosN36 = [18][36]float32{}

// cosT36 is cosN36 transposed (cosT36[p][m] = cosN36[m][p]), so that an
// output's 18 coefficients are contiguous.
var cosT36 = [36][18]float32{}

func init() {
	const N = 36
	for i := 0; i < 18; i++ {
		for j := 0; j < 36; j++ {
			cosN36[i][j] = float32(math.Cos(math.Pi / (2 * N) * (2*float64(j) + 1 + N/2) * (2*float64(i) + 1)))
			cosT36[j][i] = cosN36[i][j]
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
	*out = [36]float32{}
	if blockType == 2 {
		iwd := &imdctWinData[blockType]
		const N = 12
		for i := 0; i < 3; i++ {
			var x [N]float32
			for q := 0; q < N/4; q++ {
				for _, p := range [2]int{q, N/2 + q} {
					sum := float32(0.0)
					for m := 0; m < N/2; m++ {
						sum += float32(in[i+3*m] * cosN12[m][p])
					}
					x[p] = sum
				}
				x[N/2-1-q] = -x[q]
				x[N-1-q] = x[N/2+q]
			}
			for p := 0; p < N; p++ {
				out[6*i+p+6] += float32(x[p] * iwd[p])
			}
		}
		return
	}
	const N = 36
	iwd := &imdctWinData[blockType]
	v := (*[N / 2]float32)(in[:N/2])
	// Two output pairs at a time (four chains of additions that overlap),
	// each summed in order m = 0..17 as one at a time would.
	for q := 0; q < N/4; q += 2 {
		if q+1 == N/4 {
			var lo, hi float32
			cl, ch := &cosT36[q], &cosT36[N/2+q]
			for m, x := range v {
				lo += float32(x * cl[m])
				hi += float32(x * ch[m])
			}
			winStore(out, iwd, q, lo, hi)
			break
		}
		var lo0, hi0, lo1, hi1 float32
		cl0, ch0 := &cosT36[q], &cosT36[N/2+q]
		cl1, ch1 := &cosT36[q+1], &cosT36[N/2+q+1]
		for m, x := range v {
			lo0 += float32(x * cl0[m])
			hi0 += float32(x * ch0[m])
			lo1 += float32(x * cl1[m])
			hi1 += float32(x * ch1[m])
		}
		winStore(out, iwd, q, lo0, hi0)
		winStore(out, iwd, q+1, lo1, hi1)
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
