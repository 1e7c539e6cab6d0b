package board

import (
	"sync"
	"time"

	"loa/fleet"
)

// Items on air are named by the ward (the name its manifest gives them);
// one it can only name by its sha256 is shown by its title in the city's
// library instead, never as the raw hash. Titles are cached a minute: a
// fleet page of thousands of wards asks for the same few items.

const (
	titleTTL   = time.Minute
	titleCache = 1024
)

type titleEntry struct {
	title string
	at    time.Time
}

type titles struct {
	mu sync.Mutex
	m  map[string]titleEntry
}

// itemTitle is how a screen names item: the ward's name for it, the
// library's title for a sha256 (or the start of one, as heartbeats cut
// it), or "" when the library does not know it.
func (s *Service) itemTitle(item string) string {
	prefix, ok := fleet.HashPrefix(item)
	if !ok {
		return item
	}
	if s.cfg.ItemTitle == nil {
		return ""
	}
	now := time.Now()
	t := &s.titles
	t.mu.Lock()
	e, ok := t.m[prefix]
	t.mu.Unlock()
	if ok && now.Sub(e.at) < titleTTL {
		return e.title
	}
	title := s.cfg.ItemTitle(prefix)
	t.mu.Lock()
	if t.m == nil || len(t.m) >= titleCache {
		t.m = map[string]titleEntry{}
	}
	t.m[prefix] = titleEntry{title, now}
	t.mu.Unlock()
	return title
}
