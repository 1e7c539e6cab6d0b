package sqlite

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestCityAlerts(t *testing.T) {
	ctx := context.Background()
	db, path := openCity(t)
	now := time.Date(2026, 5, 12, 8, 0, 0, 0, time.UTC)
	db.Now = func() time.Time { return now }
	err := db.Update(ctx, func(tx CityTx) error {
		for _, w := range []Ward{{ID: "p1", Groups: []string{"q1"}}, {ID: "p2"}} {
			if err := tx.AddWard(ctx, w, []byte("h"+w.ID)); err != nil {
				return err
			}
		}
		if err := tx.SetWardNKey(ctx, "p1", "UKEY1"); err != nil {
			return err
		}
		return tx.SetWardNKey(ctx, "p1", "UKEY1B") // re-issued
	})
	if err != nil {
		t.Fatal(err)
	}
	tx := db.Read()
	if w, err := tx.WardByNKey(ctx, "UKEY1B"); err != nil || w.ID != "p1" || fmt.Sprint(w.Groups) != "[q1]" {
		t.Fatalf("by key: %+v %v", w, err)
	}
	if _, err := tx.WardByNKey(ctx, "UKEY1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("old key still valid: %v", err)
	}
	if err := tx.SetWardNKey(ctx, "p2", "UKEY1B"); !errors.Is(err, ErrExists) {
		t.Fatalf("key of another ward: %v", err)
	}
	keys, _ := tx.WardNKeys(ctx)
	if len(keys) != 1 || keys[0].NKey != "UKEY1B" {
		t.Fatalf("keys %+v", keys)
	}

	a := CityAlert{ID: "cb-1", MsgType: "Alert", Status: "Actual", Priority: "emergency", Issued: now, Expires: now.Add(30 * time.Minute),
		SentBy: "u", Targets: "p1,p2", Headline: "Bão", Payload: []byte("{}"), Envelope: []byte("{env}"),
		Wards: []string{"p1", "p2"}, Subjects: []string{"loa.alert.ward.p1", "loa.alert.ward.p2"}, Media: []string{"aa", "bb"}}
	if err := db.Update(ctx, func(tx CityTx) error { return tx.AddAlert(ctx, a) }); err != nil {
		t.Fatal(err)
	}
	if err := tx.AddAlert(ctx, a); !errors.Is(err, ErrExists) {
		t.Fatalf("same id twice: %v", err)
	}
	pend, _ := tx.PendingCopies(ctx, now)
	if len(pend) != 2 || string(pend[0].Envelope) != "{env}" {
		t.Fatalf("pending %+v", pend)
	}
	if err := tx.MarkCopyPublished(ctx, "cb-1", "loa.alert.ward.p1", now, 7); err != nil {
		t.Fatal(err)
	}
	if pend, _ = tx.PendingCopies(ctx, now); len(pend) != 1 || pend[0].Subject != "loa.alert.ward.p2" {
		t.Fatalf("pending after one: %+v", pend)
	}
	// Expired alerts are not retried.
	if pend, _ = tx.PendingCopies(ctx, now.Add(time.Hour)); len(pend) != 0 {
		t.Fatalf("pending after expiry: %+v", pend)
	}
	got, err := tx.Alert(ctx, "cb-1")
	if err != nil || len(got.Copies) != 2 || got.Copies[0].StreamSeq != 7 || got.Copies[1].PublishedAt.IsZero() == false || !got.Expires.Equal(a.Expires) {
		t.Fatalf("alert %+v %v", got, err)
	}
	if ok, _ := tx.WardMayFetchAlertMedia(ctx, "p2", "bb", now); !ok {
		t.Fatal("p2 may not fetch its alert's media")
	}
	if ok, _ := tx.WardMayFetchAlertMedia(ctx, "p3", "bb", now); ok {
		t.Fatal("p3 may fetch media of an alert not for it")
	}
	if ok, _ := tx.WardMayFetchAlertMedia(ctx, "p2", "bb", now.Add(time.Hour)); ok {
		t.Fatal("media of an expired alert")
	}
	if err := tx.SetAlertCancelled(ctx, "cb-1", "cb-2"); err != nil {
		t.Fatal(err)
	}
	if err := tx.SetAlertCancelled(ctx, "cb-1", "cb-3"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("cancelled twice: %v", err)
	}
	for i, st := range []string{"received", "started", "started"} {
		seq := uint64(10 + i)
		if i == 2 {
			seq = 11 // a redelivery
		}
		if err := tx.AddAlertReport(ctx, AlertReport{Alert: "cb-1", Verified: true, Ward: "p1", State: st, At: now, StreamSeq: seq}); err != nil {
			t.Fatal(err)
		}
	}
	reps, _ := tx.AlertReports(ctx, "cb-1")
	if len(reps) != 2 || reps[1].State != "started" || !reps[0].Verified {
		t.Fatalf("reports %+v", reps)
	}
	list, _ := tx.Alerts(ctx, 10)
	if len(list) != 1 || list[0].CancelledBy != "cb-2" {
		t.Fatalf("list %+v", list)
	}
	db.Close()
	// Reopening applies nothing twice.
	db2, err := OpenCity(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	db2.Close()
}

func TestAgentAlerts(t *testing.T) {
	ctx := context.Background()
	db, path := openTest(t)
	now := time.Date(2026, 5, 12, 8, 0, 0, 0, time.UTC)
	s := SeenAlert{ID: "cb-1", StreamSeq: 4, ReceivedAt: now, Expires: now.Add(time.Hour), State: "received", Envelope: []byte("e")}
	if err := db.AddSeenAlert(ctx, s); err != nil {
		t.Fatal(err)
	}
	if err := db.AddSeenAlert(ctx, s); !errors.Is(err, ErrExists) {
		t.Fatalf("replay recorded: %v", err)
	}
	db.AddSeenAlert(ctx, SeenAlert{ID: "cb-old", StreamSeq: 1, ReceivedAt: now, Expires: now.Add(-8 * 24 * time.Hour), State: "finished", Envelope: []byte("e")})
	open, _ := db.OpenAlerts(ctx, now)
	if len(open) != 1 || open[0].ID != "cb-1" || open[0].StreamSeq != 4 {
		t.Fatalf("open %+v", open)
	}
	db.SetSeenAlertState(ctx, "cb-1", "finished")
	if open, _ = db.OpenAlerts(ctx, now); len(open) != 0 {
		t.Fatalf("open after finish %+v", open)
	}
	if n, _ := db.PruneSeenAlerts(ctx, now.Add(-7*24*time.Hour)); n != 1 {
		t.Fatalf("pruned %d", n)
	}
	db.Close()
	// The replay guard survives a restart.
	db, err := OpenAgent(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got, err := db.SeenAlert(ctx, "cb-1"); err != nil || got.State != "finished" {
		t.Fatalf("after reopen: %+v %v", got, err)
	}
	if _, err := db.SeenAlert(ctx, "cb-old"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("pruned row: %v", err)
	}
	for _, b := range []string{"r1", "r2", "r3"} {
		if _, err := db.QueueReport(ctx, []byte(b)); err != nil {
			t.Fatal(err)
		}
	}
	q, _ := db.QueuedReports(ctx, 2)
	if len(q) != 2 || string(q[0].Body) != "r1" {
		t.Fatalf("queued %+v", q)
	}
	db.DeleteQueuedReport(ctx, q[0].ID)
	if q, _ = db.QueuedReports(ctx, 10); len(q) != 2 || string(q[0].Body) != "r2" {
		t.Fatalf("after delete %+v", q)
	}
}
