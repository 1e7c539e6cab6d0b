package board

import "sync"

// Viewers of the live fleet page (server-sent events) watch the board: a
// heartbeat taken or a state changed wakes them. A wake-up is a single
// pending signal per viewer, sent without waiting: a viewer that has not
// yet drawn the last change gets the next ones coalesced into it, and a
// slow or stuck viewer never holds up the heartbeats' intake.

type watchers struct {
	mu sync.Mutex
	m  map[chan struct{}]struct{}
}

// Watch returns a channel that receives a signal after the board changed
// (at most one pending: changes coalesce) and the function that stops the
// watch. Each viewer costs one channel; stop must be called when it goes.
func (s *Service) Watch() (changed <-chan struct{}, stop func()) {
	ch := make(chan struct{}, 1)
	w := &s.watch
	w.mu.Lock()
	if w.m == nil {
		w.m = map[chan struct{}]struct{}{}
	}
	w.m[ch] = struct{}{}
	w.mu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			w.mu.Lock()
			delete(w.m, ch)
			w.mu.Unlock()
		})
	}
}

// Watchers is how many viewers watch the board now.
func (s *Service) Watchers() int {
	s.watch.mu.Lock()
	defer s.watch.mu.Unlock()
	return len(s.watch.m)
}

// notify wakes the viewers, never blocking.
func (s *Service) notify() {
	w := &s.watch
	w.mu.Lock()
	defer w.mu.Unlock()
	for ch := range w.m {
		select {
		case ch <- struct{}{}:
		default: // one already pending: this change is drawn with it
		}
	}
}
