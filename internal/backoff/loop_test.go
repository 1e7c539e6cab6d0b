package backoff

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestFailures(t *testing.T) {
	var f Failures
	if f.Err() != nil || f.Last() != nil {
		t.Fatal("a new source has no failure")
	}
	steps := []struct {
		fail         string // "" = recovered
		wantRepeated bool
		wantErr      string
		wantLast     string
	}{
		{"dial: refused", false, "dial: refused", "dial: refused"},
		{"dial: refused", true, "dial: refused", "dial: refused"},
		{"HTTP 404", false, "HTTP 404", "HTTP 404"},
		{"", false, "", "HTTP 404"},
		{"HTTP 404", false, "HTTP 404", "HTTP 404"}, // after a recovery: news again
	}
	for i, s := range steps {
		if s.fail == "" {
			f.Recovered()
		} else if got := f.Fail(errors.New(s.fail)); got != s.wantRepeated {
			t.Errorf("step %d: repeated %v, want %v", i, got, s.wantRepeated)
		}
		gotErr := ""
		if err := f.Err(); err != nil {
			gotErr = err.Error()
		}
		if gotErr != s.wantErr || f.Last() == nil || f.Last().Error() != s.wantLast {
			t.Errorf("step %d: Err %q Last %v, want %q %q", i, gotErr, f.Last(), s.wantErr, s.wantLast)
		}
	}
}

// The loop on virtual time: its waits are recorded, not slept.
func TestLoopRetriesLogsAndStops(t *testing.T) {
	now := time.Unix(0, 0)
	var log bytes.Buffer
	var waits []time.Duration
	var failed []string
	f := &Failures{}
	l := &Loop{
		Retry: Retry{Min: time.Second, Max: 8 * time.Second}, Failures: f,
		Log: slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Now: func() time.Time { return now }, What: "capture",
		Failed: func(err error) { failed = append(failed, err.Error()) },
		Sleep: func(ctx context.Context, d time.Duration) bool {
			waits = append(waits, d)
			now = now.Add(d)
			return true
		},
	}
	// attempt n: 0-2 fail at once, 3 plays 10 s then fails (a new error),
	// 4 fails again, 5 ends cleanly.
	var ns []int
	l.Run(context.Background(), func(ctx context.Context, n int) (bool, error) {
		ns = append(ns, n)
		switch n {
		case 0, 1, 2:
			return false, errors.New("no device")
		case 3:
			now = now.Add(10 * time.Second)
			return true, errors.New("device gone")
		case 4:
			return false, errors.New("device gone")
		}
		return false, nil
	})
	if len(ns) != 6 || ns[5] != 5 {
		t.Fatalf("attempts %v", ns)
	}
	if len(waits) != 5 || len(failed) != 5 {
		t.Fatalf("waits %v failed %v", waits, failed)
	}
	// Doubling: 1 s, 2 s, 4 s (each drawn from the upper half); after 10 s
	// of work (≥ Max) it starts over at 1 s, then 2 s.
	for i, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, time.Second, 2 * time.Second} {
		if waits[i] < want/2 || waits[i] > want {
			t.Errorf("wait %d: %v, want within [%v, %v]", i, waits[i], want/2, want)
		}
	}
	out := log.String()
	if strings.Count(out, "level=WARN msg=\"capture failed\"") != 2 || strings.Count(out, "level=DEBUG msg=\"capture still failing\"") != 3 {
		t.Errorf("log:\n%s", out)
	}
	if f.Err() == nil || f.Err().Error() != "device gone" {
		t.Errorf("Err %v", f.Err())
	}
}

func TestLoopEndsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	f := &Failures{}
	calls := 0
	l := &Loop{Retry: Retry{Min: time.Hour, Max: time.Hour}, Failures: f, Log: slog.New(slog.DiscardHandler), Now: time.Now, What: "stream"}
	done := make(chan struct{})
	go func() {
		defer close(done)
		l.Run(ctx, func(ctx context.Context, n int) (bool, error) {
			calls++
			return false, errors.New("refused")
		})
	}()
	// The loop is in its hour-long wait once the failure is recorded.
	for f.Err() == nil {
		select {
		case <-done:
			t.Fatal("the loop ended on its own")
		case <-time.After(time.Millisecond):
		}
	}
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the loop did not end with its context")
	}
	if calls != 1 {
		t.Fatalf("%d attempts", calls)
	}
	// A cancelled attempt is not a failure.
	f2 := &Failures{}
	l2 := &Loop{Retry: Retry{Min: time.Second, Max: time.Second}, Failures: f2, Log: slog.New(slog.DiscardHandler), Now: time.Now, What: "stream"}
	l2.Run(ctx, func(ctx context.Context, n int) (bool, error) { return false, ctx.Err() })
	if f2.Last() != nil {
		t.Fatalf("recorded %v", f2.Last())
	}
}
