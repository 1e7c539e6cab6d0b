// Package backoff is the wait between retries loa uses everywhere it
// reconnects (streams, line-in, NATS, the city sync): doubling from a
// floor to a ceiling, drawn at random from the upper half so that a city's
// wards do not all come back in the same second.
package backoff

import (
	"math/rand/v2"
	"time"
)

// Wait is the wait before attempt n+1 after n failures (n ≥ 1).
func Wait(n int, lo, hi time.Duration) time.Duration {
	d := lo
	for i := 1; i < n && d < hi; i++ {
		d *= 2
	}
	d = min(d, hi)
	return d/2 + rand.N(d/2+1)
}
