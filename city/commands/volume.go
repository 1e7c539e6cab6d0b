package commands

import (
	"context"
	"encoding/json"
	"time"

	"loa/sqlite"
)

// VolumeStore is the store's side of WardVolume; a Store without it
// knows no ward's volume.
type VolumeStore interface {
	LastVolumeAck(ctx context.Context, ward string) (sqlite.CommandAck, bool, error)
}

// WardVolume is a ward's master volume as its last acknowledged volume
// command set it (heartbeats do not carry the volume).
type WardVolume struct {
	DB      float64   `json:"db"`
	At      time.Time `json:"at"`
	Command string    `json:"command"`
}

// WardVolume is ward's master volume from its latest verified ack of a
// volume command; nil when it never acked one (it plays at the volume
// of its own configuration, 0 dB unless changed there).
func (s *Service) WardVolume(ctx context.Context, ward string) (*WardVolume, error) {
	vs, ok := s.o.Store.(VolumeStore)
	if !ok {
		return nil, nil
	}
	a, found, err := vs.LastVolumeAck(ctx, ward)
	if err != nil || !found {
		return nil, err
	}
	var d struct {
		VolumeDB *float64 `json:"volume_db"`
	}
	if json.Unmarshal([]byte(a.Detail), &d) != nil || d.VolumeDB == nil {
		return nil, nil
	}
	return &WardVolume{DB: *d.VolumeDB, At: a.At, Command: a.Command}, nil
}
