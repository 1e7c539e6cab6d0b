package city

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"loa/city/accounts"
	"loa/city/api"
	"loa/city/console"
	"loa/city/library"
	"loa/schedule"
	"loa/signing"
	"loa/sqlite"
)

// Handler returns the city's HTTP faces: the JSON API (docs/api.md)
// under /api/, /healthz and /metrics, and the web console (city/console,
// docs/console.md) at every other path.
func (c *City) Handler() http.Handler {
	top := http.NewServeMux()
	api := c.apiHandler()
	for _, p := range []string{"/api/", "/healthz", "/metrics"} {
		top.Handle(p, api)
	}
	if c.console != nil {
		top.Handle("/", c.console.Handler())
	}
	return withAddress(top)
}

// apiHandler is the JSON API.
func (c *City) apiHandler() http.Handler {
	mux := http.NewServeMux()
	h := func(pattern string, fn func(http.ResponseWriter, *http.Request, principal), roles ...string) {
		mux.Handle(pattern, c.authed(fn, roles...))
	}
	mux.HandleFunc("GET /healthz", c.getHealthz) // city/alert_health.go
	mux.HandleFunc("GET /api/v1/key", c.getKey)
	mux.HandleFunc("GET /api/v1/time", c.getTime)
	mux.Handle("POST /api/v1/join", c.joinHandler()) // city/join.go: a one-time code for a ward's credentials

	h("GET /api/v1/manifest", c.getManifest, roleWard)
	h("PUT /api/v1/ward/receipt-key", c.putReceiptKey, roleWard) // city/identity.go
	h("GET /api/v1/media/{sha256}", c.getMediaFile, roleWard, "admin", "operator")
	h("HEAD /api/v1/media/{sha256}", c.getMediaFile, roleWard, "admin", "operator")

	h("GET /api/v1/media", c.listMedia, "admin", "operator")
	h("POST /api/v1/media", c.postMedia, "admin", "operator")
	h("POST /api/v1/uploads", c.postUpload, "admin", "operator")
	h("GET /api/v1/uploads/{id}", c.getUpload, "admin", "operator")
	h("PATCH /api/v1/uploads/{id}", c.patchUpload, "admin", "operator")
	h("DELETE /api/v1/uploads/{id}", c.deleteUpload, "admin", "operator")

	h("GET /api/v1/programs", c.listPrograms, "admin", "operator", "technician")
	h("GET /api/v1/programs/{target}", c.getPrograms, "admin", "operator", "technician")
	h("PUT /api/v1/programs/{target}", c.putPrograms, "admin", "operator")
	h("DELETE /api/v1/programs/{target}", c.deletePrograms, "admin", "operator")

	h("GET /api/v1/wards", c.listWards, "admin", "operator", "technician", "alerter")
	h("POST /api/v1/wards", c.postWard, "admin")
	h("GET /api/v1/wards/{id}", c.getWard, "admin", "operator", "technician", "alerter")
	h("GET /api/v1/wards/{id}/timeline", c.getTimeline, "admin", "operator", "technician")
	h("GET /api/v1/wards/{id}/asrun", c.getAsRun, "admin", "operator", "technician")
	h("GET /metrics", c.getMetrics, "admin", "operator", "technician", "alerter")

	c.alertRoutes(h)
	c.liveRoutes(h)

	h("GET /api/v1/users", c.listUsers, "admin")
	h("POST /api/v1/users", c.postUser, "admin")

	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such endpoint: %s %s", r.Method, r.URL.Path)
	})
	return mux
}

const roleWard = accounts.RoleWard

// principal is who a request comes from: a ward or a user.
type principal struct {
	ward string
	user string
	role string // roleWard for a ward
}

func (p principal) name() string {
	if p.ward != "" {
		return "ward:" + p.ward
	}
	return p.user
}

// authed checks the bearer token: missing or unknown is 401, a role not in
// roles is 403. Without a token, the console's session of the same browser
// stands in (with its CSRF token on a change; city/web.go). A change that
// succeeds is written to the audit log.
func (c *City) authed(fn func(http.ResponseWriter, *http.Request, principal), roles ...string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		tok = strings.TrimSpace(tok)
		var p principal
		var err error
		if !ok || tok == "" {
			p, err = c.consolePrincipal(r)
			switch {
			case errors.Is(err, console.ErrCrossSite):
				writeError(w, http.StatusForbidden, "yêu cầu từ trang khác hoặc thiếu mã CSRF / cross-site request, or no CSRF token: refused")
				return
			case err != nil:
				w.Header().Set("WWW-Authenticate", `Bearer realm="loa-city"`)
				writeError(w, http.StatusUnauthorized, "no token: send Authorization: Bearer TOKEN")
				return
			}
		} else {
			p, err = c.lookupToken(r.Context(), tok)
		}
		if errors.Is(err, accounts.ErrUnknownToken) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="loa-city", error="invalid_token"`)
			writeError(w, http.StatusUnauthorized, "unknown token")
			return
		}
		if err != nil {
			c.internalError(w, r, err)
			return
		}
		for _, role := range roles {
			if role == p.role {
				c.auditAPI(w, r, p, fn)
				return
			}
		}
		writeError(w, http.StatusForbidden, "%s (%s) may not %s %s", p.name(), p.role, r.Method, r.URL.Path)
	})
}

func (c *City) lookupToken(ctx context.Context, tok string) (principal, error) {
	p, err := c.Accounts.LookupToken(ctx, tok)
	return principal{ward: p.Ward, user: p.User, role: p.Role}, err
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

func writeError(w http.ResponseWriter, status int, format string, args ...any) {
	writeJSON(w, status, api.Error{Error: fmt.Sprintf(format, args...)})
}

func (c *City) internalError(w http.ResponseWriter, r *http.Request, err error) {
	c.Log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	writeError(w, http.StatusInternalServerError, "internal error (see the city's log)")
}

// fail answers err with the status its kind calls for.
func (c *City) fail(w http.ResponseWriter, r *http.Request, err error) {
	var bad *BadInputError
	var notAudio *NotAudioError
	var list schedule.ErrorList
	switch {
	case errors.As(err, &list):
		out := api.Error{Error: fmt.Sprintf("%d problem(s) in the program file; nothing changed", len(list))}
		for _, e := range list {
			out.Errors = append(out.Errors, e.Error())
		}
		writeJSON(w, http.StatusBadRequest, out)
	case errors.As(err, &bad):
		writeError(w, http.StatusBadRequest, "%s", bad.Msg)
	case errors.As(err, &notAudio):
		writeError(w, http.StatusUnprocessableEntity, "%s", notAudio.Reason)
	case errors.Is(err, ErrNameTaken):
		writeError(w, http.StatusConflict, "%v", err)
	case errors.Is(err, ErrTooBig):
		writeError(w, http.StatusRequestEntityTooLarge, "%v", err)
	case errors.Is(err, ErrUnknownWard), errors.Is(err, sqlite.ErrNotFound):
		writeError(w, http.StatusNotFound, "%v", err)
	case errors.Is(err, context.Canceled):
		// The client went away.
	default:
		c.internalError(w, r, err)
	}
}

func (c *City) getKey(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, api.Key{PublicKey: signing.PublicKeyText(c.pub), KeyID: c.keyID})
}

// ManifestVersionHeader is sent by a ward with the manifest version it has
// in effect, so that the city can show who is out of sync.
const ManifestVersionHeader = "Loa-Manifest-Version"

func (c *City) getManifest(w http.ResponseWriter, r *http.Request, p principal) {
	if v, err := strconv.ParseInt(r.Header.Get(ManifestVersionHeader), 10, 64); err == nil {
		c.board.NoteSeen(p.ward, v)
	}
	m, ok, err := c.Programs.Manifest(r.Context(), p.ward, func(etag string) bool {
		return etagMatch(r.Header.Get("If-None-Match"), etag)
	})
	if err != nil {
		c.internalError(w, r, err)
		return
	}
	if !ok {
		writeError(w, http.StatusNotFound, "no manifest for ward %s yet", p.ward)
		return
	}
	w.Header().Set("ETag", m.ETag)
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("Vary", "Accept-Encoding")
	if m.NotModified {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	body := m.Envelope
	if acceptsGzip(r) {
		w.Header().Set("Content-Encoding", "gzip")
		body = m.Gzip
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
	c.Log.Debug("manifest sent", "ward", p.ward, "version", m.Version, "bytes", len(body))
}

// etagMatch implements If-None-Match's comparison (weak, as RFC 9110 asks).
func etagMatch(header, etag string) bool {
	if header == "" {
		return false
	}
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == etag {
			return true
		}
	}
	return false
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.TrimSpace(coding) == "gzip" && strings.ReplaceAll(strings.TrimSpace(params), " ", "") != "q=0" {
			return true
		}
	}
	return false
}

func (c *City) getMediaFile(w http.ResponseWriter, r *http.Request, p principal) {
	key := r.PathValue("sha256")
	if err := library.CheckKey(key); err != nil {
		c.fail(w, r, err)
		return
	}
	ctx := r.Context()
	if p.ward != "" {
		ok, err := c.wardMayFetch(ctx, p.ward, key)
		if err != nil {
			c.internalError(w, r, err)
			return
		}
		if !ok {
			writeError(w, http.StatusForbidden, "media %s is not in the manifest of ward %s nor in an alert for it", key, p.ward)
			return
		}
	}
	f, err := c.Library.OpenFile(key)
	if errors.Is(err, os.ErrNotExist) {
		writeError(w, http.StatusNotFound, "no media %s", key)
		return
	}
	if err != nil {
		c.internalError(w, r, err)
		return
	}
	defer f.Close()
	h := w.Header()
	h.Set("ETag", `"`+key+`"`)
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	h.Set("Content-Type", "audio/mpeg")
	// ServeContent does Range (206), If-Range and If-None-Match.
	http.ServeContent(w, r, "", time.Time{}, f)
}

func mediaJSON(m sqlite.CityMedia, created bool) api.Media {
	a := api.Media{SHA256: m.SHA256, Size: m.Size, DurationSeconds: m.Duration().Seconds(), TruePeakDBTP: m.TruePeakDB,
		Title: m.Title, Names: m.Names, OriginalName: m.OriginalName, OriginalSHA256: m.OriginalSHA256,
		OriginalSize: m.OriginalSize, AddedBy: m.AddedBy, AddedAt: m.AddedAt.UTC(), Created: created}
	if m.HasLoudness {
		l := m.LoudnessLUFS
		a.LoudnessLUFS = &l
	}
	if a.Names == nil {
		a.Names = []string{}
	}
	return a
}

func (c *City) listMedia(w http.ResponseWriter, r *http.Request, p principal) {
	all, err := c.Library.List(r.Context())
	if err != nil {
		c.internalError(w, r, err)
		return
	}
	out := make([]api.Media, len(all))
	for i, m := range all {
		out[i] = mediaJSON(m, false)
	}
	writeJSON(w, http.StatusOK, out)
}

func uploadInfo(r *http.Request, p principal) UploadInfo {
	q := r.URL.Query()
	return UploadInfo{Name: q.Get("name"), Title: q.Get("title"), By: p.name(), Replace: q.Get("replace") == "true" || q.Get("replace") == "1"}
}

// postMedia is the one-request upload: the body is the file.
func (c *City) postMedia(w http.ResponseWriter, r *http.Request, p principal) {
	if err := c.Library.CheckSize(r.ContentLength); err != nil {
		c.fail(w, r, err)
		return
	}
	m, created, err := c.Library.Ingest(r.Context(), r.Body, uploadInfo(r, p))
	if err != nil {
		c.fail(w, r, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(w, status, mediaJSON(m, created))
}

// postUpload starts a resumable upload.
func (c *City) postUpload(w http.ResponseWriter, r *http.Request, p principal) {
	// A size that is not a number is refused as size 0 is, after the name.
	size, _ := strconv.ParseInt(r.URL.Query().Get("size"), 10, 64)
	u, err := c.Library.StartUpload(r.Context(), uploadInfo(r, p), size)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/uploads/"+u.ID)
	writeJSON(w, http.StatusCreated, api.Upload{ID: u.ID, Name: u.Name, Size: u.Size})
}

// uploadCaller is p as the library sees who asks about an upload.
func uploadCaller(p principal) library.Caller {
	return library.Caller{Name: p.name(), Admin: p.role == "admin"}
}

// failUpload answers an error of a resumable upload.
func (c *City) failUpload(w http.ResponseWriter, r *http.Request, err error) {
	var off *library.OffsetError
	var notYours *library.NotYoursError
	switch {
	case errors.As(err, &off):
		w.Header().Set(UploadOffsetHeader, strconv.FormatInt(off.Have, 10))
		writeJSON(w, http.StatusConflict, api.Error{Error: off.Error()})
	case errors.As(err, &notYours):
		writeError(w, http.StatusForbidden, "%s", notYours)
	default:
		c.fail(w, r, err)
	}
}

func (c *City) getUpload(w http.ResponseWriter, r *http.Request, p principal) {
	u, off, err := c.Library.Upload(r.Context(), r.PathValue("id"), uploadCaller(p))
	if err != nil {
		c.failUpload(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, api.Upload{ID: u.ID, Name: u.Name, Offset: off, Size: u.Size})
}

// UploadOffsetHeader says where a PATCH's bytes go in the upload.
const UploadOffsetHeader = "Upload-Offset"

// patchUpload appends to an upload at Upload-Offset; the request that
// completes it ingests the file and answers with the media item.
func (c *City) patchUpload(w http.ResponseWriter, r *http.Request, p principal) {
	id := r.PathValue("id")
	at, err := strconv.ParseInt(r.Header.Get(UploadOffsetHeader), 10, 64)
	if err != nil {
		// The upload is looked up first: an unknown one is a 404.
		if _, _, err := c.Library.Upload(r.Context(), id, uploadCaller(p)); err != nil {
			c.failUpload(w, r, err)
			return
		}
		writeError(w, http.StatusBadRequest, "%s: want the offset the body starts at", UploadOffsetHeader)
		return
	}
	pr, err := c.Library.Append(r.Context(), id, uploadCaller(p), at, r.Body)
	if pr.Written {
		w.Header().Set(UploadOffsetHeader, strconv.FormatInt(pr.Offset, 10))
	}
	if err != nil {
		c.failUpload(w, r, err)
		return
	}
	if !pr.Done {
		writeJSON(w, http.StatusOK, api.Upload{ID: pr.Upload.ID, Name: pr.Upload.Name, Offset: pr.Offset, Size: pr.Upload.Size})
		return
	}
	status := http.StatusOK
	if pr.Created {
		status = http.StatusCreated
	}
	writeJSON(w, status, mediaJSON(pr.Media, pr.Created))
}

func (c *City) deleteUpload(w http.ResponseWriter, r *http.Request, p principal) {
	if err := c.Library.DeleteUpload(r.Context(), r.PathValue("id"), uploadCaller(p)); err != nil {
		c.failUpload(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

const maxProgramFile = schedule.MaxFileSize

func (c *City) putPrograms(w http.ResponseWriter, r *http.Request, p principal) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxProgramFile+1))
	if err != nil {
		writeError(w, http.StatusBadRequest, "read body: %v", err)
		return
	}
	if len(body) > maxProgramFile {
		writeError(w, http.StatusRequestEntityTooLarge, "a program file is at most %d bytes", maxProgramFile)
		return
	}
	q := r.URL.Query()
	check := q.Get("check") == "true" || q.Get("check") == "1"
	res, err := c.Programs.Load(r.Context(), r.PathValue("target"), q.Get("file"), body, p.name(), check)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (c *City) deletePrograms(w http.ResponseWriter, r *http.Request, p principal) {
	res, err := c.Programs.Delete(r.Context(), r.PathValue("target"), p.name())
	if err != nil {
		c.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (c *City) listPrograms(w http.ResponseWriter, r *http.Request, p principal) {
	out, err := c.Programs.List(r.Context())
	if err != nil {
		c.internalError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (c *City) getPrograms(w http.ResponseWriter, r *http.Request, p principal) {
	target := r.PathValue("target")
	set, ok, err := c.Programs.Get(r.Context(), target)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	if !ok {
		writeError(w, http.StatusNotFound, "%s has no programs", target)
		return
	}
	w.Header().Set("Content-Type", "application/yaml; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf("inline; filename=%q", filepath.Base(set.File)))
	w.Write(set.Body)
}

func (c *City) wardJSON(ctx context.Context, w sqlite.Ward) api.Ward {
	if at, v, ok := c.board.Seen(w.ID); ok && at.After(w.LastSeen) {
		w.LastSeen, w.SeenVersion = at, v
	}
	a := api.Ward{ID: w.ID, Groups: w.Groups, CreatedAt: w.CreatedAt.UTC(), SeenVersion: w.SeenVersion}
	if a.Groups == nil {
		a.Groups = []string{}
	}
	if !w.LastSeen.IsZero() {
		t := w.LastSeen.UTC()
		a.LastSeen = &t
	}
	if _, v, err := c.DB.Read().ManifestETag(ctx, w.ID); err == nil {
		a.ManifestVersion = v
	}
	a.InSync = a.ManifestVersion != 0 && a.SeenVersion == a.ManifestVersion
	a.Health = c.wardHealth(w.ID)
	return a
}

func (c *City) listWards(w http.ResponseWriter, r *http.Request, p principal) {
	wards, err := c.Accounts.Wards(r.Context())
	if err != nil {
		c.internalError(w, r, err)
		return
	}
	out := make([]api.Ward, 0, len(wards))
	for _, wd := range wards {
		out = append(out, c.wardJSON(r.Context(), wd))
	}
	writeJSON(w, http.StatusOK, out)
}

func (c *City) getWard(w http.ResponseWriter, r *http.Request, p principal) {
	wd, err := c.Accounts.Ward(r.Context(), r.PathValue("id"))
	if err != nil {
		c.fail(w, r, err)
		return
	}
	out := c.wardJSON(r.Context(), wd)
	out.ReceiptKeyID = c.Accounts.ReceiptKeyID(r.Context(), wd.ID)
	writeJSON(w, http.StatusOK, out)
}

func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<16))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, "body: %v", err)
		return false
	}
	return true
}

func (c *City) postWard(w http.ResponseWriter, r *http.Request, p principal) {
	var nw api.NewWard
	if !decodeBody(w, r, &nw) {
		return
	}
	tok, err := c.Accounts.AddWard(r.Context(), nw.ID, nw.Groups)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	wd, err := c.Accounts.Ward(r.Context(), nw.ID)
	if err != nil {
		c.internalError(w, r, err)
		return
	}
	a := c.wardJSON(r.Context(), wd)
	a.Token = tok
	if a.NATSSeed, err = c.IssueWardKey(r.Context(), nw.ID); err != nil {
		c.internalError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, a)
}

func (c *City) getTimeline(w http.ResponseWriter, r *http.Request, p principal) {
	d := c.Today()
	if s := r.URL.Query().Get("date"); s != "" {
		var err error
		if d, err = schedule.ParseDate(s); err != nil {
			writeError(w, http.StatusBadRequest, "%v", err)
			return
		}
	}
	tl, err := c.Programs.Timeline(r.Context(), r.PathValue("id"), d)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, tl)
}

func (c *City) listUsers(w http.ResponseWriter, r *http.Request, p principal) {
	users, err := c.Accounts.Users(r.Context())
	if err != nil {
		c.internalError(w, r, err)
		return
	}
	out := make([]api.User, 0, len(users))
	for _, u := range users {
		out = append(out, api.User{Name: u.Name, Role: u.Role, CreatedAt: u.CreatedAt.UTC()})
	}
	writeJSON(w, http.StatusOK, out)
}

func (c *City) postUser(w http.ResponseWriter, r *http.Request, p principal) {
	var nu api.NewUser
	if !decodeBody(w, r, &nu) {
		return
	}
	tok, err := c.Accounts.AddUser(r.Context(), nu.Name, nu.Role)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, api.User{Name: nu.Name, Role: nu.Role, CreatedAt: c.Now().UTC(), Token: tok})
}

// Serve runs the HTTP server on ln until ctx ends, then shuts down
// gracefully (requests in flight get up to grace to finish).
func (c *City) Serve(ctx context.Context, ln net.Listener, grace time.Duration) error {
	srv := &http.Server{
		Handler:           c.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(c.Log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	defer c.startFleet(ctx)()
	hourly := time.NewTicker(time.Hour)
	defer hourly.Stop()
	flush := time.NewTicker(seenFlushInterval)
	defer flush.Stop()
	for {
		select {
		case err := <-errc:
			c.FlushSeen(context.WithoutCancel(ctx))
			return err
		case <-flush.C:
			if err := c.FlushSeen(ctx); err != nil {
				c.Log.Warn("record wards seen", "err", err)
			}
		case <-hourly.C:
			if err := c.Library.ExpireUploads(ctx); err != nil {
				c.Log.Warn("expire uploads", "err", err)
			}
		case <-ctx.Done():
			sctx, cancel := context.WithTimeout(context.Background(), grace)
			defer cancel()
			err := srv.Shutdown(sctx)
			if errors.Is(err, context.DeadlineExceeded) {
				srv.Close()
			}
			if ferr := c.FlushSeen(context.Background()); ferr != nil {
				c.Log.Warn("record wards seen", "err", ferr)
			}
			return err
		}
	}
}
