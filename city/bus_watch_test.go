package city

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"loa/natsbus/natsserver"
)

// A ward's budget: a burst as large as its share of the stream, then the
// steady rate; over it, messages are dropped, counted and the ward shown
// flooding for floodHold after the last drop. Other wards are untouched.
func TestWardBudget(t *testing.T) {
	var b busWatch
	t0 := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	bud := wardBudgets[kindReport]
	for i := 0; i < int(bud.burst); i++ {
		if ok, _ := b.allow("p1", kindReport, t0); !ok {
			t.Fatalf("message %d of the burst dropped", i)
		}
	}
	ok, logIt := b.allow("p1", kindReport, t0)
	if ok || !logIt {
		t.Fatalf("over the burst: allowed %v, logged %v", ok, logIt)
	}
	if ok, logIt := b.allow("p1", kindReport, t0); ok || logIt {
		t.Fatalf("second drop: allowed %v, logged %v (one log line a minute)", ok, logIt)
	}
	if ok, _ := b.allow("p2", kindReport, t0); !ok {
		t.Fatal("another ward's receipt dropped")
	}
	if ok, _ := b.allow("p1", kindHeartbeat, t0); !ok {
		t.Fatal("a heartbeat dropped for too many receipts")
	}
	for range int(wardBudgets[kindAsRun].burst) {
		b.allow("p1", kindAsRun, t0)
	}
	if ok, logIt := b.allow("p1", kindAsRun, t0); ok || !logIt {
		t.Fatalf("the first as-run line dropped: allowed %v, logged %v (each kind logged)", ok, logIt)
	}
	// A second later, the rate's worth is allowed again, no more.
	t1 := t0.Add(time.Second)
	n := 0
	for range 10 {
		if ok, _ := b.allow("p1", kindReport, t1); ok {
			n++
		}
	}
	if n != int(bud.perSecond) {
		t.Fatalf("%d allowed a second later, want %v", n, bud.perSecond)
	}
	w := b.get("p1", t1)
	if !w.Flooding || !w.FloodSince.Equal(t0) || w.Dropped[kindReport] != 2+10-uint64(n) {
		t.Fatalf("p1: %+v", w)
	}
	if w := b.get("p2", t1); w.Flooding || len(w.Dropped) != 0 {
		t.Fatalf("p2: %+v", w)
	}
	if w := b.get("p1", t1.Add(floodHold+time.Second)); w.Flooding || w.Dropped[kindReport] == 0 {
		t.Fatalf("p1 after the hold: %+v", w)
	}
}

func TestWardDenials(t *testing.T) {
	var b busWatch
	now := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	b.denied(natsserver.Denial{Ward: "p1", Kind: "publish", Subject: "loa.alert.all"}, now)
	b.denied(natsserver.Denial{Ward: "p1", Kind: "subscribe", Subject: "loa.alert.ward.p2"}, now)
	b.denied(natsserver.Denial{NKey: "UADMIN", Kind: "publish", Subject: "x"}, now) // not a ward: not counted
	w := b.get("p1", now)
	if w.Denied != 2 || w.DeniedWhat != "subscribe loa.alert.ward.p2" || !w.LastDenied.Equal(now) || w.Flooding {
		t.Fatalf("p1: %+v", w)
	}
	if len(b.wards) != 1 {
		t.Fatalf("wards: %v", b.wards)
	}
}

func TestPublishReason(t *testing.T) {
	for _, c := range []struct {
		err  error
		want string
	}{
		{&jetstream.APIError{Code: 503, ErrorCode: 10023, Description: "insufficient resources"}, "store_full"},
		{fmt.Errorf("nats: %w", &jetstream.APIError{Code: 400, ErrorCode: 10047, Description: "insufficient storage resources available"}), "store_full"},
		{jetstream.ErrNoStreamResponse, "no_stream"},
		{nats.ErrNoResponders, "no_stream"},
		{context.DeadlineExceeded, "timeout"},
		{nats.ErrConnectionClosed, "disconnected"},
		{errors.New("something else"), "other"},
	} {
		if got := publishReason(c.err); got != c.want {
			t.Errorf("%v: %s, want %s", c.err, got, c.want)
		}
	}
}
