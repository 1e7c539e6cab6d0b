package sqlite

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

// A ward's volume is its latest verified "done" ack that carries one;
// refusals, unverified acks, other wards' and acks without a volume do
// not count.
func TestLastVolumeAck(t *testing.T) {
	ctx := context.Background()
	db, err := OpenCity(ctx, filepath.Join(t.TempDir(), "city.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, ok, err := db.Read().LastVolumeAck(ctx, "phuong-1"); ok || err != nil {
		t.Fatalf("no ack yet: ok %v err %v", ok, err)
	}
	at := time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)
	for i, a := range []CommandAck{
		{Command: "c1", Ward: "phuong-1", Verified: true, State: "done", Detail: `{"kind":"volume","volume_db":-6}`},
		{Command: "c2", Ward: "phuong-1", Verified: true, State: "done", Detail: `{"kind":"volume","volume_db":-12}`},
		{Command: "c3", Ward: "phuong-1", Verified: true, State: "done", Detail: `{"kind":"sync_now"}`},
		{Command: "c4", Ward: "phuong-1", Verified: false, State: "refused", Reason: "replay", Detail: `{"volume_db":-30}`},
		{Command: "c5", Ward: "phuong-1", Verified: false, State: "done", Detail: `{"volume_db":-40}`},
		{Command: "c6", Ward: "phuong-2", Verified: true, State: "done", Detail: `{"kind":"volume","volume_db":-3}`},
	} {
		a.At, a.Received = at.Add(time.Duration(i)*time.Second), at.Add(time.Duration(i)*time.Second)
		if err := db.Update(ctx, func(tx CityTx) error { return tx.AddCommandAck(ctx, a) }); err != nil {
			t.Fatal(err)
		}
	}
	a, ok, err := db.Read().LastVolumeAck(ctx, "phuong-1")
	if err != nil || !ok || a.Command != "c2" || a.Detail != `{"kind":"volume","volume_db":-12}` || !a.At.Equal(at.Add(time.Second)) {
		t.Fatalf("got %+v ok %v err %v, want c2", a, ok, err)
	}
}
