package commands

import (
	"context"
	"testing"
	"time"

	"loa/sqlite"
)

// volumeStore is a fakeStore that also knows wards' volume acks.
type volumeStore struct {
	*fakeStore
	last map[string]sqlite.CommandAck
}

func (v volumeStore) LastVolumeAck(ctx context.Context, ward string) (sqlite.CommandAck, bool, error) {
	a, ok := v.last[ward]
	return a, ok, nil
}

// A ward's volume is what its last volume ack said; none without one, or
// with a store that keeps no acks by ward.
func TestWardVolume(t *testing.T) {
	ctx := context.Background()
	at := time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)
	fs := &fakeStore{cmds: map[string]sqlite.CityCommand{}, wards: map[string][]string{"phuong-1": nil, "phuong-2": nil}}
	s := New(Options{Store: volumeStore{fs, map[string]sqlite.CommandAck{
		"phuong-1": {Command: "cmd-1", Ward: "phuong-1", State: "done", Verified: true, At: at, Detail: `{"kind":"volume","volume_db":-6}`},
	}}})
	v, err := s.WardVolume(ctx, "phuong-1")
	if err != nil || v == nil || v.DB != -6 || v.Command != "cmd-1" || !v.At.Equal(at) {
		t.Fatalf("phuong-1: %+v %v", v, err)
	}
	if v, err := s.WardVolume(ctx, "phuong-2"); v != nil || err != nil {
		t.Errorf("phuong-2 never acked a volume: %+v %v", v, err)
	}
	if v, err := New(Options{Store: fs}).WardVolume(ctx, "phuong-1"); v != nil || err != nil {
		t.Errorf("a store without volume acks: %+v %v", v, err)
	}
}
