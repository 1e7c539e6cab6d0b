package huffman

import (
	"math/rand/v2"
	"testing"

	"github.com/hajimehoshi/go-mp3/internal/bits"
)

// TestDecodeFastMatchesTree checks the one-peek fast path of Decode
// against the bit-by-bit decoding on random streams for every table: the
// same values, the same error and the same number of bits read.
func TestDecodeFastMatchesTree(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, 64)
	for table := range huffmanMain {
		if huffmanMain[table].treelen == 0 {
			continue
		}
		for n := 0; n < 20000; n++ {
			for i := range buf {
				buf[i] = byte(r.Uint32())
			}
			// Short codes are the fast path's: make every other stream
			// start with mostly zero bits, which are short in most tables.
			if n%2 == 0 {
				buf[0] &= byte(r.Uint32())
			}
			start := r.IntN(8)
			a, b := bits.New(buf), bits.New(buf)
			a.SetPos(start)
			b.SetPos(start)
			for k := 0; k < 8; k++ {
				x1, y1, v1, w1, err1 := Decode(a, table)
				x2, y2, v2, w2, err2 := decodeTree(b, table)
				if x1 != x2 || y1 != y2 || v1 != v2 || w1 != w2 || (err1 == nil) != (err2 == nil) || a.BitPos() != b.BitPos() {
					t.Fatalf("table %d, stream %d, word %d: Decode gives %d %d %d %d (%v) at bit %d, the bit-by-bit decoding %d %d %d %d (%v) at bit %d",
						table, n, k, x1, y1, v1, w1, err1, a.BitPos(), x2, y2, v2, w2, err2, b.BitPos())
				}
				if err1 != nil {
					break
				}
			}
		}
	}
}
