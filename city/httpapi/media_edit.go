package httpapi

import (
	"errors"
	"net/http"

	"loa/city/library"
)

// The library's items changed through the API, as the console's library
// page changes them: a new title, or the item deleted unless something
// uses it.

// mediaTitle is the body of PATCH /api/v1/media/{sha256}.
type mediaTitle struct {
	Title string `json:"title"`
}

func (s *Server) patchMedia(w http.ResponseWriter, r *http.Request, p principal) {
	var body mediaTitle
	if !decodeBody(w, r, &body) {
		return
	}
	if err := s.d.Library.Retitle(r.Context(), r.PathValue("sha256"), body.Title); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) deleteMedia(w http.ResponseWriter, r *http.Request, p principal) {
	err := s.d.Library.Delete(r.Context(), r.PathValue("sha256"))
	var inUse *library.InUseError
	switch {
	case errors.As(err, &inUse):
		writeError(w, http.StatusConflict, "%s", inUse)
	case err != nil:
		s.fail(w, r, err)
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}
