package httpapi

import (
	"errors"
	"net/http"

	"loa/city/library"
)

// mediaRename is the body of POST /api/v1/media/{sha256}/rename.
type mediaRename struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// postMediaRename gives one of an item's names another name, as the
// console's library page does: refused (409, the files named) while a
// program file refers to it.
func (s *Server) postMediaRename(w http.ResponseWriter, r *http.Request, p principal) {
	var body mediaRename
	if !decodeBody(w, r, &body) {
		return
	}
	err := s.d.Library.Rename(r.Context(), r.PathValue("sha256"), body.From, body.To)
	var inUse *library.NameInUseError
	switch {
	case errors.As(err, &inUse):
		writeError(w, http.StatusConflict, "%s", inUse)
	case err != nil:
		s.fail(w, r, err)
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}
