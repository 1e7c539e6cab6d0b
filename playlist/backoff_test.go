package playlist

import (
	"errors"
	"testing"
	"time"
)

func TestNextWait(t *testing.T) {
	s := NewSyncer(Config{CityURL: "http://city", Interval: time.Minute, MaxBackoff: 10 * time.Minute}, nil)
	for i := 0; i < 200; i++ {
		if w := s.nextWait(nil); w < 54*time.Second || w > 66*time.Second {
			t.Fatalf("after a success: %s, want 60s ±10%%", w)
		}
	}
	fail := errors.New("x")
	for n, want := range map[int]time.Duration{1: 5 * time.Second, 2: 10 * time.Second, 4: 40 * time.Second, 7: 320 * time.Second, 8: 10 * time.Minute, 30: 10 * time.Minute} {
		s.status.Failures = n
		lo, hi := time.Duration(1<<62), time.Duration(0)
		for i := 0; i < 500; i++ {
			w := s.nextWait(fail)
			lo, hi = min(lo, w), max(hi, w)
		}
		if lo < want/2 || hi > want || hi-lo < want/4 {
			t.Errorf("after %d failures: waits in [%s, %s], want jittered within [%s, %s]", n, lo, hi, want/2, want)
		}
	}
}
