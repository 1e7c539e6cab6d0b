package httpapi

import (
	"errors"
	"net/http"
	"strconv"

	"loa/city/api"
	"loa/city/library"
)

// The media library: listing, the one-request upload and the resumable
// uploads.

func (s *Server) listMedia(w http.ResponseWriter, r *http.Request, p principal) {
	out, err := s.d.Library.Media(r.Context())
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func uploadInfo(r *http.Request, p principal) library.UploadInfo {
	q := r.URL.Query()
	return library.UploadInfo{Name: q.Get("name"), Title: q.Get("title"), By: p.name(), Replace: q.Get("replace") == "true" || q.Get("replace") == "1"}
}

// postMedia is the one-request upload: the body is the file.
func (s *Server) postMedia(w http.ResponseWriter, r *http.Request, p principal) {
	if err := s.d.Library.CheckSize(r.ContentLength); err != nil {
		s.fail(w, r, err)
		return
	}
	m, created, err := s.d.Library.Ingest(r.Context(), r.Body, uploadInfo(r, p))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(w, status, m)
}

// postUpload starts a resumable upload.
func (s *Server) postUpload(w http.ResponseWriter, r *http.Request, p principal) {
	// A size that is not a number is refused as size 0 is, after the name.
	size, _ := strconv.ParseInt(r.URL.Query().Get("size"), 10, 64)
	u, err := s.d.Library.StartUpload(r.Context(), uploadInfo(r, p), size)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/uploads/"+u.ID)
	writeJSON(w, http.StatusCreated, u)
}

// uploadCaller is p as the library sees who asks about an upload.
func uploadCaller(p principal) library.Caller {
	return library.Caller{Name: p.name(), Admin: p.role == "admin"}
}

// failUpload answers an error of a resumable upload.
func (s *Server) failUpload(w http.ResponseWriter, r *http.Request, err error) {
	var off *library.OffsetError
	var notYours *library.NotYoursError
	switch {
	case errors.As(err, &off):
		w.Header().Set(UploadOffsetHeader, strconv.FormatInt(off.Have, 10))
		writeJSON(w, http.StatusConflict, api.Error{Error: off.Error()})
	case errors.As(err, &notYours):
		writeError(w, http.StatusForbidden, "%s", notYours)
	default:
		s.fail(w, r, err)
	}
}

func (s *Server) getUpload(w http.ResponseWriter, r *http.Request, p principal) {
	u, err := s.d.Library.Upload(r.Context(), r.PathValue("id"), uploadCaller(p))
	if err != nil {
		s.failUpload(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, u)
}

// UploadOffsetHeader says where a PATCH's bytes go in the upload.
const UploadOffsetHeader = "Upload-Offset"

// patchUpload appends to an upload at Upload-Offset; the request that
// completes it ingests the file and answers with the media item.
func (s *Server) patchUpload(w http.ResponseWriter, r *http.Request, p principal) {
	id := r.PathValue("id")
	at, err := strconv.ParseInt(r.Header.Get(UploadOffsetHeader), 10, 64)
	if err != nil {
		// The upload is looked up first: an unknown one is a 404.
		if _, err := s.d.Library.Upload(r.Context(), id, uploadCaller(p)); err != nil {
			s.failUpload(w, r, err)
			return
		}
		writeError(w, http.StatusBadRequest, "%s: want the offset the body starts at", UploadOffsetHeader)
		return
	}
	pr, err := s.d.Library.Append(r.Context(), id, uploadCaller(p), at, r.Body)
	if pr.Written {
		w.Header().Set(UploadOffsetHeader, strconv.FormatInt(pr.Upload.Offset, 10))
	}
	if err != nil {
		s.failUpload(w, r, err)
		return
	}
	if !pr.Done {
		writeJSON(w, http.StatusOK, pr.Upload)
		return
	}
	status := http.StatusOK
	if pr.Created {
		status = http.StatusCreated
	}
	writeJSON(w, status, pr.Media)
}

func (s *Server) deleteUpload(w http.ResponseWriter, r *http.Request, p principal) {
	if err := s.d.Library.DeleteUpload(r.Context(), r.PathValue("id"), uploadCaller(p)); err != nil {
		s.failUpload(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
