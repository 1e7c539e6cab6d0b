package httpapi

import (
	"context"
	"net/http"

	"loa/city/api"
)

// AlertRepeats are the alerts repeated every N hours until an end
// (*alerting.Service; docs/api.md "Repeat until").
type AlertRepeats interface {
	Repeats(ctx context.Context, limit int) ([]api.AlertRepeat, error)
}

// listAlertRepeats answers GET /api/v1/alerts/repeats: the latest
// series, newest first, those reaching the user's wards.
func (s *Server) listAlertRepeats(w http.ResponseWriter, r *http.Request, p principal) {
	if s.d.Repeats == nil {
		writeJSON(w, http.StatusOK, []api.AlertRepeat{})
		return
	}
	res, err := s.d.Repeats.Repeats(r.Context(), 100)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	places, ok := s.placesFor(w, r, p)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, keepIf(res, func(q api.AlertRepeat) bool { return p.scope.Reaches(q.Targets, places) }))
}
