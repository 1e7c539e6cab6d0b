package httpapi

import (
	"context"
	"net/http"
	"time"

	"loa/city/commands"
)

// wardVolumes is the command service's knowledge of a ward's master
// volume (commands.Service.WardVolume); a Commands without it knows none.
type wardVolumes interface {
	WardVolume(ctx context.Context, ward string) (*commands.WardVolume, error)
}

// WardVolume is GET /api/v1/wards/{id}/volume: the ward's master volume
// as its last acknowledged volume command set it; VolumeDB null when it
// never acked one (heartbeats do not carry the volume).
type WardVolume struct {
	Ward     string     `json:"ward"`
	VolumeDB *float64   `json:"volume_db"`
	At       *time.Time `json:"at,omitempty"`
	Command  string     `json:"command,omitempty"`
}

func (s *Server) getWardVolume(w http.ResponseWriter, r *http.Request, p principal) {
	id := r.PathValue("id")
	if !s.wardInScope(w, r, p) {
		return
	}
	if _, err := s.d.Wards.Ward(r.Context(), id); err != nil {
		s.fail(w, r, err)
		return
	}
	res := WardVolume{Ward: id}
	if wv, ok := s.d.Commands.(wardVolumes); ok && s.d.Commands != nil {
		v, err := wv.WardVolume(r.Context(), id)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if v != nil {
			res.VolumeDB, res.At, res.Command = &v.DB, &v.At, v.Command
		}
	}
	writeJSON(w, http.StatusOK, res)
}
