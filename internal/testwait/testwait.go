// Package testwait is how loa's tests wait: on a condition a user could
// see (a metric, a state, a process gone), polled until it holds or a
// limit passes, never for a fixed time. The limit is a bound on a hang,
// not a pace: a slow machine takes longer, the assertion stays the same.
package testwait

import (
	"testing"
	"time"
)

// every is the polling interval: short against any limit, long against a
// condition's cost.
const every = 10 * time.Millisecond

// Poll reports whether cond held within limit, asking it every 10 ms.
func Poll(limit time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(every)
	}
	return true
}

// For fails tb when cond does not hold within limit, naming what it
// waited for.
func For(tb testing.TB, what string, limit time.Duration, cond func() bool) {
	tb.Helper()
	if !Poll(limit, cond) {
		tb.Fatalf("timed out after %s waiting for %s", limit, what)
	}
}
