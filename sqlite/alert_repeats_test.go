package sqlite

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"
)

// A repeated alert's schedule survives closing and reopening the
// database (a city restart); only active ones are listed as due.
func TestAlertRepeatsKept(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "city.db")
	db, err := OpenCity(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	now := time.UnixMilli(time.Date(2026, 9, 12, 8, 30, 0, 0, time.UTC).UnixMilli())
	r := AlertRepeat{ID: "cb-1", SentBy: "an", Request: []byte(`{"to":"all","text":"x"}`), Every: 2 * time.Hour, Until: now.Add(12 * time.Hour),
		Next: now.Add(2 * time.Hour), Last: "cb-1", Sent: 1, State: "active"}
	for _, id := range []string{"cb-1", "cb-0"} {
		r.ID, r.Last = id, id
		if err := db.Update(ctx, func(tx CityTx) error { return tx.AddAlertRepeat(ctx, r) }); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Update(ctx, func(tx CityTx) error { return tx.AddAlertRepeat(ctx, r) }); !errors.Is(err, ErrExists) {
		t.Fatalf("same id twice: %v", err)
	}
	r.Last, r.Sent, r.Next, r.State, r.Reason = "cb-2", 2, now.Add(4*time.Hour), "stopped", "cancelled by binh"
	if err := db.Update(ctx, func(tx CityTx) error { return tx.SetAlertRepeat(ctx, r) }); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db, err = OpenCity(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	act, err := db.Read().ActiveAlertRepeats(ctx)
	if err != nil || len(act) != 1 || act[0].ID != "cb-1" || act[0].Every != 2*time.Hour || !act[0].Next.Equal(now.Add(2*time.Hour)) ||
		!act[0].Until.Equal(now.Add(12*time.Hour)) || string(act[0].Request) != `{"to":"all","text":"x"}` {
		t.Fatalf("active: %+v %v", act, err)
	}
	all, err := db.Read().AlertRepeats(ctx, 10)
	if err != nil || len(all) != 2 || all[1].ID != "cb-0" || all[1].State != "stopped" || all[1].Last != "cb-2" || all[1].Sent != 2 || all[1].Reason != "cancelled by binh" {
		t.Fatalf("all: %+v %v", all, err)
	}
}
