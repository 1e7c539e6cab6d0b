package console

import (
	"sync"
	"time"
)

// loginLimiter slows password guessing: after maxFailures failed log-ins
// for one user name, or from one address, within window, that name or
// address is locked out for lockout. A success clears the name's count.
type loginLimiter struct {
	mu       sync.Mutex
	failures map[string][]time.Time
}

const (
	maxFailures = 5
	window      = 15 * time.Minute
	lockout     = 15 * time.Minute
)

// locked reports how long key is still locked out at now.
func (l *loginLimiter) locked(key string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.recent(key, now)
	if len(f) < maxFailures {
		return 0
	}
	return f[len(f)-1].Add(lockout).Sub(now)
}

func (l *loginLimiter) fail(key string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.failures == nil {
		l.failures = map[string][]time.Time{}
	}
	l.failures[key] = append(l.recent(key, now), now)
}

func (l *loginLimiter) clear(key string) {
	l.mu.Lock()
	delete(l.failures, key)
	l.mu.Unlock()
}

// recent drops failures older than the window (and than the lockout after
// the last one). Called with mu held.
func (l *loginLimiter) recent(key string, now time.Time) []time.Time {
	f := l.failures[key]
	keep := f[:0]
	for _, t := range f {
		if now.Sub(t) < window || now.Sub(f[len(f)-1]) < lockout {
			keep = append(keep, t)
		}
	}
	if len(keep) == 0 {
		delete(l.failures, key)
		return nil
	}
	if len(keep) > maxFailures {
		keep = keep[len(keep)-maxFailures:]
	}
	l.failures[key] = keep
	return keep
}
