package board

import (
	"testing"
	"time"
)

// testBudgets are the city's budgets (natsbus.ReportsPerWard,
// natsbus.AsRunPerWard), written out so that the package's tests do not
// import the NATS client either.
var testBudgets = Budgets(1000, 10000)

// A ward's budget: a burst as large as its share of the stream, then the
// steady rate; over it, messages are dropped, counted and the ward shown
// flooding for FloodHold after the last drop. Other wards are untouched.
func TestWardBudget(t *testing.T) {
	b := busWatch{budgets: testBudgets}
	t0 := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	bud := testBudgets[KindReport]
	for i := 0; i < int(bud.Burst); i++ {
		if ok, _ := b.allow("p1", KindReport, t0); !ok {
			t.Fatalf("message %d of the burst dropped", i)
		}
	}
	ok, logIt := b.allow("p1", KindReport, t0)
	if ok || !logIt {
		t.Fatalf("over the burst: allowed %v, logged %v", ok, logIt)
	}
	if ok, logIt := b.allow("p1", KindReport, t0); ok || logIt {
		t.Fatalf("second drop: allowed %v, logged %v (one log line a minute)", ok, logIt)
	}
	if ok, _ := b.allow("p2", KindReport, t0); !ok {
		t.Fatal("another ward's receipt dropped")
	}
	if ok, _ := b.allow("p1", KindHeartbeat, t0); !ok {
		t.Fatal("a heartbeat dropped for too many receipts")
	}
	for range int(testBudgets[KindAsRun].Burst) {
		b.allow("p1", KindAsRun, t0)
	}
	if ok, logIt := b.allow("p1", KindAsRun, t0); ok || !logIt {
		t.Fatalf("the first as-run line dropped: allowed %v, logged %v (each kind logged)", ok, logIt)
	}
	// A second later, the rate's worth is allowed again, no more.
	t1 := t0.Add(time.Second)
	n := 0
	for range 10 {
		if ok, _ := b.allow("p1", KindReport, t1); ok {
			n++
		}
	}
	if n != int(bud.PerSecond) {
		t.Fatalf("%d allowed a second later, want %v", n, bud.PerSecond)
	}
	w := b.get("p1", t1)
	if !w.Flooding || !w.FloodSince.Equal(t0) || w.Dropped[KindReport] != 2+10-uint64(n) {
		t.Fatalf("p1: %+v", w)
	}
	if w := b.get("p2", t1); w.Flooding || len(w.Dropped) != 0 {
		t.Fatalf("p2: %+v", w)
	}
	if w := b.get("p1", t1.Add(FloodHold+time.Second)); w.Flooding || w.Dropped[KindReport] == 0 {
		t.Fatalf("p1 after the hold: %+v", w)
	}
}

func TestWardDenials(t *testing.T) {
	b := busWatch{budgets: testBudgets}
	now := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	b.denied("p1", "publish", "loa.alert.all", now)
	b.denied("p1", "subscribe", "loa.alert.ward.p2", now)
	b.denied("", "publish", "x", now) // not a ward's key (an admin's): not counted
	w := b.get("p1", now)
	if w.Denied != 2 || w.DeniedWhat != "subscribe loa.alert.ward.p2" || !w.LastDenied.Equal(now) || w.Flooding {
		t.Fatalf("p1: %+v", w)
	}
	if len(b.wards) != 1 {
		t.Fatalf("wards: %v", b.wards)
	}
}
