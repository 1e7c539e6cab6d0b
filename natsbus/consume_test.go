package natsbus_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"loa/internal/testwait"
	"loa/natsbus"
	"loa/natsbus/natsserver"
)

type noWards struct{}

func (noWards) WardByNKey(context.Context, string) (string, []string, error) {
	return "", nil, context.Canceled
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// The loop waits for a consumer that is not there yet (saying so once,
// not at every retry), reads it once it is, starts again by itself when
// the consumer goes away (a server that lost it, an operator who deleted
// it) and stops with its context: on the real embedded server.
func TestConsumeLoopRestarts(t *testing.T) {
	seed, pub, err := natsbus.NewUserKey()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := natsserver.Start(natsserver.Config{Listen: "127.0.0.1:0", StoreDir: t.TempDir(), CityKey: pub, Wards: noWards{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	link, err := natsbus.Dial(natsbus.ConnOptions{Server: srv, Seed: seed, Name: "city"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(link.Close)
	js, _ := jetstream.New(link.Conn)
	bg := context.Background()
	if err := natsbus.EnsureStreams(bg, js, natsbus.StreamOptions{}); err != nil {
		t.Fatal(err)
	}

	const ward = "phuong-1"
	var (
		mu      sync.Mutex
		got     []string
		lastErr error
		states  int
		lookups atomic.Int64
	)
	logs := &lockedBuffer{}
	ctx, cancel := context.WithCancel(bg)
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		natsbus.ConsumeLoop{
			Name: "test consumer",
			Consumer: func(ctx context.Context) (jetstream.Consumer, error) {
				lookups.Add(1)
				return js.Consumer(ctx, natsbus.StreamAlerts, natsbus.Consumer(ward))
			},
			Handle: func(m jetstream.Msg) {
				mu.Lock()
				got = append(got, string(m.Data()))
				mu.Unlock()
				m.Ack()
			},
			Pull:     []jetstream.PullConsumeOpt{jetstream.PullMaxMessages(4), jetstream.PullExpiry(2 * time.Second), jetstream.PullHeartbeat(500 * time.Millisecond)},
			RetryMin: 10 * time.Millisecond, RetryMax: 40 * time.Millisecond,
			OnState: func(err error) {
				mu.Lock()
				lastErr, states = err, states+1
				mu.Unlock()
			},
			Log: slog.New(slog.NewTextHandler(logs, nil)),
		}.Run(ctx)
	}()
	state := func() (error, int) {
		mu.Lock()
		defer mu.Unlock()
		return lastErr, states
	}
	received := func(n int) func() bool {
		return func() bool {
			mu.Lock()
			defer mu.Unlock()
			return len(got) >= n
		}
	}

	// No consumer yet: retried, reported, logged once.
	testwait.For(t, "three lookups of the missing consumer", 10*time.Second, func() bool { return lookups.Load() >= 3 })
	if err, _ := state(); err == nil {
		t.Fatal("a missing consumer was not reported")
	}
	if n := strings.Count(logs.String(), "test consumer not ready"); n != 1 {
		t.Fatalf("the same failure logged %d times, want once:\n%s", n, logs.String())
	}

	// It appears: read.
	if err := natsbus.EnsureWardConsumer(bg, js, ward, nil, time.Time{}); err != nil {
		t.Fatal(err)
	}
	testwait.For(t, "the consumer read", 10*time.Second, func() bool { err, n := state(); return err == nil && n > 0 })
	if _, err := js.Publish(bg, natsbus.AlertWard(ward), []byte("one")); err != nil {
		t.Fatal(err)
	}
	testwait.For(t, "the first message", 10*time.Second, received(1))
	if !strings.Contains(logs.String(), "test consumer ready") {
		t.Fatalf("the recovery was not logged:\n%s", logs.String())
	}

	// It goes away: the loop notices, and reads it again once it is back.
	before := lookups.Load()
	if err := js.DeleteConsumer(bg, natsbus.StreamAlerts, natsbus.Consumer(ward)); err != nil {
		t.Fatal(err)
	}
	testwait.For(t, "a new lookup after the consumer went away", 20*time.Second, func() bool { return lookups.Load() > before })
	if err := natsbus.EnsureWardConsumer(bg, js, ward, nil, time.Time{}); err != nil {
		t.Fatal(err)
	}
	testwait.For(t, "the consumer read again", 10*time.Second, func() bool { err, _ := state(); return err == nil && lookups.Load() > before })
	// Published until the new consumer takes it: the one made again
	// delivers only what is new.
	testwait.For(t, "a message after the restart", 20*time.Second, func() bool {
		js.Publish(bg, natsbus.AlertWard(ward), []byte("two"))
		return received(2)()
	})
	if !strings.Contains(logs.String(), "test consumer stopped; starting again") {
		t.Fatalf("the restart was not logged:\n%s", logs.String())
	}

	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return when its context ended")
	}
}
