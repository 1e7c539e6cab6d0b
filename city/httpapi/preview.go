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
// JSON (as-run items and waveform peaks), or the audio itself: ?format=wav
// the renderer's deterministic WAV, ?format=mp3 the MP3 the console's
// player plays (encoded once per render).
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
	switch q.Get("format") {
	case "wav":
		w.Header().Set("Content-Type", "audio/wav")
		http.ServeContent(w, r, "preview.wav", time.Time{}, bytes.NewReader(pv.WAV))
	case "mp3":
		if len(pv.MP3) == 0 {
			writeError(w, http.StatusNotImplemented, "format: không có MP3 trên thành phố này (a preview as MP3 is not available on this city: no ffmpeg)")
			return
		}
		w.Header().Set("Content-Type", "audio/mpeg")
		http.ServeContent(w, r, "preview.mp3", time.Time{}, bytes.NewReader(pv.MP3))
	case "", "json":
		writeJSON(w, http.StatusOK, pv)
	default:
		writeError(w, http.StatusBadRequest, "format: chỉ json, wav hoặc mp3 (format: want json, wav or mp3)")
	}
}
