package httpapi

import (
	"net/http"

	"loa/city/api"
)

// Restreams is the city pulling outside streams once for its wards
// (*restream.Service).
type Restreams interface {
	// Serve streams the mount name as MP3 to a ward (404 when there is
	// no such re-stream, 502 while its upstream fails).
	Serve(w http.ResponseWriter, r *http.Request, name string)
	List() []api.Restream
}

// getRestream is a ward's relay pulling the city's re-stream. Only wards
// (their token) may: the mount is the city's bandwidth, not a public
// radio.
func (s *Server) getRestream(w http.ResponseWriter, r *http.Request, p principal) {
	if s.d.Restreams == nil {
		writeError(w, http.StatusNotFound, "không có kênh tiếp sóng / this city re-streams nothing")
		return
	}
	s.d.Restreams.Serve(w, r, r.PathValue("name"))
}

// listRestreams says which upstreams the city re-streams: a ward relays
// a program's relay: URL through the mount whose upstream it is.
func (s *Server) listRestreams(w http.ResponseWriter, r *http.Request, p principal) {
	list := []api.Restream{}
	if s.d.Restreams != nil {
		list = s.d.Restreams.List()
	}
	writeJSON(w, http.StatusOK, list)
}
