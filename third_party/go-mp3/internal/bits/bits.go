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

package bits

import "encoding/binary"

type Bits struct {
	vec     []byte
	bitPos  int
	bytePos int
}

func New(vec []byte) *Bits {
	return &Bits{
		vec: vec,
	}
}

func Append(bits *Bits, buf []byte) *Bits {
	return New(append(bits.vec, buf...))
}

func (b *Bits) Bit() int {
	if len(b.vec) <= b.bytePos {
		// TODO: Should this return error?
		return 0
	}
	tmp := uint(b.vec[b.bytePos]) >> (7 - uint(b.bitPos))
	tmp &= 0x01
	b.bytePos += (b.bitPos + 1) >> 3
	b.bitPos = (b.bitPos + 1) & 0x07
	return int(tmp)
}

func (b *Bits) Bits(num int) int {
	if num == 0 {
		return 0
	}
	if len(b.vec) <= b.bytePos {
		// TODO: Should this return error?
		return 0
	}
	// The 32 bits from bytePos, zeros past the end.
	var tmp uint32
	if v := b.vec[b.bytePos:]; len(v) >= 4 {
		tmp = uint32(v[0])<<24 | uint32(v[1])<<16 | uint32(v[2])<<8 | uint32(v[3])
	} else {
		for i, c := range v {
			tmp |= uint32(c) << (24 - 8*uint(i))
		}
	}
	tmp <<= uint(b.bitPos)
	tmp >>= (32 - uint(num))
	b.bytePos += (b.bitPos + num) >> 3
	b.bitPos = (b.bitPos + num) & 0x07
	return int(tmp)
}

// Peek8 returns the next 8 bits without reading them, and false when
// fewer than 16 bits are left (the caller then reads bit by bit).
func (b *Bits) Peek8() (int, bool) {
	if b.bytePos+1 >= len(b.vec) {
		return 0, false
	}
	v := uint(b.vec[b.bytePos])<<8 | uint(b.vec[b.bytePos+1])
	return int((v >> (8 - uint(b.bitPos))) & 0xff), true
}

// Peek64 returns the next bits without reading them, the first in the
// highest bit: at least 57 of the 64 are the stream's (the lowest
// bitPos are the next byte's). It returns false when fewer than 8 bytes
// are left from the current one (the caller then reads as before).
func (b *Bits) Peek64() (uint64, bool) {
	if len(b.vec)-b.bytePos < 8 {
		return 0, false
	}
	return binary.BigEndian.Uint64(b.vec[b.bytePos:]) << uint(b.bitPos), true
}

// Skip reads n bits (after Peek8 said they are there) and drops them.
func (b *Bits) Skip(n int) {
	b.bytePos += (b.bitPos + n) >> 3
	b.bitPos = (b.bitPos + n) & 0x07
}

func (b *Bits) BitPos() int {
	return b.bytePos<<3 + b.bitPos
}

func (b *Bits) SetPos(pos int) {
	b.bytePos = pos >> 3
	b.bitPos = pos & 0x7
}

func (b *Bits) LenInBytes() int {
	return len(b.vec)
}

func (b *Bits) Tail(offset int) []byte {
	return b.vec[len(b.vec)-offset:]
}
