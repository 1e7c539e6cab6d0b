package alertrx

import (
	"context"
	"strings"
	"testing"
	"time"

	"loa/alert"
	"loa/internal/testwait"
	"loa/player"
)

// On a database that cannot grow (a full disk, no reserve left) an alert
// still plays; its replay record, its state and its receipts are held in
// memory, a second copy is still refused as a replay, and everything is
// stored, in order, once the database takes writes again.
func TestAlertStateHeldWhileTheDiskIsFull(t *testing.T) {
	e := newRxEnv(t)
	e.db.SetMaxOpenConns(1)
	full := func(on bool) {
		t.Helper()
		n := "1" // clamps to the current size
		if !on {
			n = "1000000"
		}
		if _, err := e.db.DB.DB.Exec(`PRAGMA max_page_count = ` + n); err != nil {
			t.Fatal(err)
		}
	}
	full(true)
	a := e.alert("cb-full")
	a.Description = strings.Repeat("Bão số 5 vào đất liền. ", 60) // a record that needs new pages
	raw := e.sign(a)
	e.handle(raw, 7)
	if got := e.pl.ids(); len(got) != 1 || got[0] != "cb-full" {
		t.Fatalf("not played on a full disk: %v", got)
	}
	if _, err := e.db.SeenAlert(context.Background(), "cb-full"); err == nil {
		t.Fatal("the database took the record: the test's disk is not full")
	}
	if e.rx.held.count() == 0 {
		t.Fatal("nothing held in memory")
	}
	// The player finishes it while the disk is still full.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go e.rx.playerEvents(ctx)
	e.pl.mu.Lock()
	pa := e.pl.played[0]
	e.pl.mu.Unlock()
	pa.Report(player.AlertOutcome{ID: "cb-full", State: player.AlertFinished, At: e.now.Add(9 * time.Second)})
	testwait.For(t, "the end reported", 2*time.Second, func() bool {
		// Held, or queued on disk: a small receipt may fit in a page
		// that has room.
		for _, r := range e.rx.heldReceipts() {
			if rep, _ := alert.DecodeReport(r.body); rep.State == alert.Finished {
				return true
			}
		}
		for _, r := range e.reports() {
			if r.State == alert.Finished {
				return true
			}
		}
		return false
	})
	// Another copy of it (another stream sequence): a replay, not played.
	e.handle(raw, 8)
	if got := e.pl.ids(); len(got) != 1 {
		t.Fatalf("played twice while its record was held: %v", got)
	}
	if n := e.rx.flushHeld(ctx); n == 0 {
		t.Fatal("a full database took everything")
	}

	full(false)
	if n := e.rx.flushHeld(ctx); n != 0 {
		t.Fatalf("%d writes still held with space", n)
	}
	s, err := e.db.SeenAlert(ctx, "cb-full")
	if err != nil || s.State != "finished" || s.StreamSeq != 7 {
		t.Fatalf("replay record: %+v %v", s, err)
	}
	var states []alert.State
	for _, r := range e.reports() {
		if r.Alert == "cb-full" {
			states = append(states, r.State)
		}
	}
	want := []alert.State{alert.Received, alert.Started, alert.Finished, alert.Rejected}
	if len(states) != len(want) {
		t.Fatalf("receipts %v, want %v", states, want)
	}
	for i := range want {
		if states[i] != want[i] {
			t.Fatalf("receipts %v, want %v", states, want)
		}
	}
}
