// Package backoff is the wait between retries loa uses everywhere it
// reconnects (streams, line-in, NATS, the city sync): doubling from a
// floor to a ceiling, drawn at random from the upper half so that a city's
// wards do not all come back in the same second.
//
// Loop and Failures are the retry loop of a source that runs until it
// fails and is started again — the stream relay (audio/stream) and the
// line-in capture (audio/capture) — so that both count, log and report
// their failures alike: the last error, whether it repeats the one before
// (a warning once, then debug lines), and when the source recovered.
package backoff

import (
	"context"
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

// Retry paces the attempts of a source that runs until it fails (a stream,
// a capture): the waits double with each failure, and start over once an
// attempt has worked for at least Max.
type Retry struct {
	Min, Max time.Duration
	failures int
}

// Next counts a failed attempt that worked for `worked` (0: it never did)
// and returns the wait before the next one.
func (r *Retry) Next(worked time.Duration) time.Duration {
	if worked >= r.Max {
		r.failures = 0
	}
	r.failures++
	return Wait(r.failures, r.Min, r.Max)
}

// Sleep waits for d, or until ctx ends; it says whether d passed.
func Sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
