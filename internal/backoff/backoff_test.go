package backoff

import (
	"context"
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

func TestRetryStartsOverAfterWorking(t *testing.T) {
	r := Retry{Min: time.Second, Max: 8 * time.Second}
	for i, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 8 * time.Second} {
		if w := r.Next(3 * time.Second); w < want/2 || w > want { // worked, but less than Max
			t.Fatalf("failure %d: wait %s, want within [%s, %s]", i+1, w, want/2, want)
		}
	}
	if w := r.Next(8 * time.Second); w > time.Second { // worked for Max: back to Min
		t.Fatalf("after an attempt that worked for Max: wait %s, want ≤ 1s", w)
	}
}

func TestSleepEndsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if Sleep(ctx, time.Hour) {
		t.Fatal("Sleep said an hour passed with its context ended")
	}
	if !Sleep(context.Background(), time.Millisecond) {
		t.Fatal("Sleep(1ms) did not say it passed")
	}
}
