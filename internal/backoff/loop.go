package backoff

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Failures is what a retrying source knows of its failures: the last one
// (kept for the record after a recovery) and whether it is current. Safe
// from any goroutine.
type Failures struct {
	mu      sync.Mutex
	last    error
	failing bool
}

// Fail records err as the current failure. It reports whether it repeats
// the one before (same text, no recovery between): worth a line in the log
// the first time only.
func (f *Failures) Fail(err error) (repeated bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	repeated = f.failing && f.last != nil && f.last.Error() == err.Error()
	f.last, f.failing = err, true
	return repeated
}

// Recovered says the source delivers again: Err is nil from now on; Last
// keeps the failure.
func (f *Failures) Recovered() {
	f.mu.Lock()
	f.failing = false
	f.mu.Unlock()
}

// Err is the current failure, nil once the source recovered.
func (f *Failures) Err() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failing {
		return f.last
	}
	return nil
}

// Last is the last failure, current or not (nil: none yet).
func (f *Failures) Last() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.last
}

// Loop runs the attempts of a source that runs until it fails and is
// started again (the stream relay, the line-in capture): each failure is
// recorded, logged (a warning, then debug lines while the same error
// repeats) and followed by a Retry wait that starts over once an attempt
// has worked for Retry.Max.
type Loop struct {
	Retry    Retry
	Failures *Failures
	Log      *slog.Logger
	Now      func() time.Time
	// What names the source in the log: "stream" gives "stream failed",
	// "stream still failing".
	What string
	// Failed, if set, is called after a failure is recorded and before
	// the wait (the source's state becomes "failed").
	Failed func(err error)
	// Sleep waits between attempts (default: Sleep); tests replace it to
	// run on virtual time.
	Sleep func(ctx context.Context, d time.Duration) bool
}

// Run calls attempt until ctx ends or an attempt ends without an error
// (done: a file played to its end). attempt n (0 for the first) reports
// whether it delivered anything, and the error that ended it.
func (l *Loop) Run(ctx context.Context, attempt func(ctx context.Context, n int) (delivered bool, err error)) {
	sleep := l.Sleep
	if sleep == nil {
		sleep = Sleep
	}
	for n := 0; ctx.Err() == nil; n++ {
		start := l.Now()
		delivered, err := attempt(ctx, n)
		if ctx.Err() != nil || err == nil {
			return
		}
		repeated := l.Failures.Fail(err)
		if l.Failed != nil {
			l.Failed(err)
		}
		var worked time.Duration
		if delivered {
			worked = l.Now().Sub(start)
		}
		wait := l.Retry.Next(worked)
		if repeated {
			l.Log.Debug(l.What+" still failing", "err", err, "retry_in", wait)
		} else {
			l.Log.Warn(l.What+" failed", "err", err, "retry_in", wait)
		}
		if !sleep(ctx, wait) {
			return
		}
	}
}
