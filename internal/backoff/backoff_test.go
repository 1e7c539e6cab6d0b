package backoff

import (
	"testing"
	"time"
)

func TestWaitDoublesWithinBounds(t *testing.T) {
	lo, hi := 250*time.Millisecond, 10*time.Second
	for n := 1; n < 20; n++ {
		want := lo
		for i := 1; i < n && want < hi; i++ {
			want *= 2
		}
		want = min(want, hi)
		for k := 0; k < 100; k++ {
			if w := Wait(n, lo, hi); w < want/2 || w > want {
				t.Fatalf("Wait(%d) = %s, want within [%s, %s]", n, w, want/2, want)
			}
		}
	}
}
