package httpapi

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"time"

	"loa/city/api"
)

// Previewer renders what a ward would play over a window (city/preview).
type Previewer interface {
	Preview(ctx context.Context, ward, date, from, to string) (api.Preview, error)
}

// getPreview renders ward {id} over ?date=YYYY-MM-DD&from=HH:MM&to=HH:MM:
// JSON (as-run items and waveform peaks), or the audio itself as WAV with
// ?format=wav.
func (s *Server) getPreview(w http.ResponseWriter, r *http.Request, p principal) {
	if !s.wardInScope(w, r, p) {
		return
	}
	if s.d.Preview == nil {
		writeError(w, http.StatusNotImplemented, "preview is not available on this city")
		return
	}
	q := r.URL.Query()
	pv, err := s.d.Preview.Preview(r.Context(), r.PathValue("id"), q.Get("date"), q.Get("from"), q.Get("to"))
	var we *api.PreviewWindowError
	if errors.As(err, &we) {
		writeError(w, http.StatusBadRequest, "%s", we.Error())
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if q.Get("format") == "wav" {
		w.Header().Set("Content-Type", "audio/wav")
		http.ServeContent(w, r, "preview.wav", time.Time{}, bytes.NewReader(pv.WAV))
		return
	}
	writeJSON(w, http.StatusOK, pv)
}
