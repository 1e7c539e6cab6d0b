package httpapi

import (
	"net/http"
)

// getHeartbeats is GET /api/v1/wards/{id}/heartbeats: the ward's recent
// heartbeats as the board keeps them (the last 60 by default, newest
// first; none kept across a restart of the city).
func (s *Server) getHeartbeats(w http.ResponseWriter, r *http.Request, p principal) {
	id := r.PathValue("id")
	if !s.wardInScope(w, r, p) {
		return
	}
	if _, err := s.d.Accounts.Ward(r.Context(), id); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.d.Board.Heartbeats(id))
}
