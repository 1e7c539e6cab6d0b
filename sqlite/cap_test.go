package sqlite

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"
)

// CAP messages are kept with their outcomes; the one a reference finds is
// the last acted on (a refusal is not).
func TestCAPMessages(t *testing.T) {
	ctx := context.Background()
	db, err := OpenCity(ctx, filepath.Join(t.TempDir(), "city.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	at := time.Date(2026, 9, 15, 8, 0, 0, 0, time.UTC)
	add := func(m CAPMessage) int64 {
		var seq int64
		if err := db.Update(ctx, func(tx CityTx) error {
			var err error
			seq, err = tx.AddCAPMessage(ctx, m)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return seq
	}
	add(CAPMessage{Received: at, Via: "user:a", Sender: "kttv@vn", Identifier: "1", Outcome: "played", Alert: "cb-1", Headline: "Bão"})
	add(CAPMessage{Received: at.Add(time.Second), Via: "user:a", Sender: "kttv@vn", Identifier: "1", Outcome: "refused", Reason: "x / y"})
	seq := add(CAPMessage{Received: at.Add(2 * time.Second), Via: "feed:http://f", Sender: "kttv@vn", Identifier: "2", MsgType: "Cancel", Outcome: "cancelled", Alert: "cb-1"})
	m, err := db.Read().CAPMessageFor(ctx, "kttv@vn", "1")
	if err != nil || m.Alert != "cb-1" || m.Outcome != "played" || !m.Received.Equal(at) || m.Headline != "Bão" {
		t.Fatalf("for 1: %+v %v", m, err)
	}
	if _, err := db.Read().CAPMessageFor(ctx, "kttv@vn", "3"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("for 3: %v", err)
	}
	list, err := db.Read().CAPMessages(ctx, 2)
	if err != nil || len(list) != 2 || list[0].Seq != seq || list[0].Via != "feed:http://f" || list[1].Reason != "x / y" {
		t.Fatalf("list: %+v %v", list, err)
	}
}
