package httpapi

import (
	"fmt"
	"io"
	"net/http"
	"path/filepath"

	"loa/city/api"
	"loa/schedule"
)

// Program files per target (city, group, ward) and the wards' timelines.

const maxProgramFile = schedule.MaxFileSize

func (s *Server) putPrograms(w http.ResponseWriter, r *http.Request, p principal) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxProgramFile+1))
	if err != nil {
		writeError(w, http.StatusBadRequest, "read body: %v", err)
		return
	}
	if len(body) > maxProgramFile {
		writeError(w, http.StatusRequestEntityTooLarge, "a program file is at most %d bytes", maxProgramFile)
		return
	}
	if !s.inScope(w, r, p, r.PathValue("target")) {
		return
	}
	q := r.URL.Query()
	check := q.Get("check") == "true" || q.Get("check") == "1"
	res, err := s.d.Programs.Load(r.Context(), r.PathValue("target"), q.Get("file"), body, p.name(), check)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (s *Server) deletePrograms(w http.ResponseWriter, r *http.Request, p principal) {
	if !s.inScope(w, r, p, r.PathValue("target")) {
		return
	}
	res, err := s.d.Programs.Delete(r.Context(), r.PathValue("target"), p.name())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (s *Server) listPrograms(w http.ResponseWriter, r *http.Request, p principal) {
	out, err := s.d.Programs.List(r.Context())
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	places, ok := s.placesFor(w, r, p)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, keepIf(out, func(set api.ProgramSet) bool { return p.scope.Reaches(set.Target, places) }))
}

func (s *Server) getPrograms(w http.ResponseWriter, r *http.Request, p principal) {
	target := r.PathValue("target")
	if !s.readableInScope(w, r, p, target) {
		return
	}
	file, body, ok, err := s.d.Programs.File(r.Context(), target)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if !ok {
		writeError(w, http.StatusNotFound, "%s has no programs", target)
		return
	}
	w.Header().Set("Content-Type", "application/yaml; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf("inline; filename=%q", filepath.Base(file)))
	w.Write(body)
}

func (s *Server) getTimeline(w http.ResponseWriter, r *http.Request, p principal) {
	if !s.wardInScope(w, r, p) {
		return
	}
	d := s.today()
	if q := r.URL.Query().Get("date"); q != "" {
		var err error
		if d, err = schedule.ParseDate(q); err != nil {
			writeError(w, http.StatusBadRequest, "%v", err)
			return
		}
	}
	tl, err := s.d.Programs.Timeline(r.Context(), r.PathValue("id"), d)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, tl)
}
