package board

import (
	"context"
	"sync"
	"time"
)

// SeenFlushInterval is how often wards' last requests are written to the
// database: one transaction for all, rather than a synced write per poll.
const SeenFlushInterval = 10 * time.Second

// Seen is a ward's last manifest request: when, and the manifest version
// it had in effect.
type Seen struct {
	At      time.Time
	Version int64
}

// seenTracker holds the wards' last manifest requests until FlushSeen.
type seenTracker struct {
	mu sync.Mutex
	m  map[string]Seen
}

// NoteSeen records that ward asked for its manifest now, running version.
func (s *Service) NoteSeen(ward string, version int64) {
	t := &s.seen
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil {
		t.m = map[string]Seen{}
	}
	t.m[ward] = Seen{At: s.now(), Version: version}
}

// Seen is ward's last request not yet written down (false: none since
// the last flush; the database has the latest).
func (s *Service) Seen(ward string) (time.Time, int64, bool) {
	t := &s.seen
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.m[ward]
	return e.At, e.Version, ok
}

// FlushSeen writes the wards' last requests to the database in one
// transaction. When the store fails they are kept for the next flush,
// unless newer ones came meanwhile.
func (s *Service) FlushSeen(ctx context.Context) error {
	t := &s.seen
	t.mu.Lock()
	pending := t.m
	t.m = nil
	t.mu.Unlock()
	if len(pending) == 0 {
		return nil
	}
	err := s.store.PutWardsSeen(ctx, pending)
	if err != nil {
		t.mu.Lock()
		if t.m == nil {
			t.m = map[string]Seen{}
		}
		for ward, e := range pending {
			if _, ok := t.m[ward]; !ok {
				t.m[ward] = e
			}
		}
		t.mu.Unlock()
	}
	return err
}
