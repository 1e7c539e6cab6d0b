package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"loa/city/accounts"
	"loa/city/alerting"
	"loa/city/api"
	"loa/city/library"
	"loa/city/programs"
	"loa/internal/cmdkit"
	"loa/schedule"
	"loa/sqlite"
)

// Handler is the JSON API: /api/, /healthz and /metrics.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	h := func(pattern string, fn func(http.ResponseWriter, *http.Request, principal), roles ...string) {
		mux.Handle(pattern, s.authed(fn, roles...))
	}
	mux.HandleFunc("GET /healthz", s.getHealthz)
	mux.HandleFunc("GET /api/v1/key", s.getKey)
	mux.HandleFunc("GET /api/v1/time", s.getTime)
	mux.Handle("POST /api/v1/join", s.joinHandler()) // a one-time code for a ward's credentials

	h("GET /api/v1/manifest", s.getManifest, roleWard)
	h("PUT /api/v1/ward/receipt-key", s.putReceiptKey, roleWard)
	h("GET "+api.RestreamPrefix+"{name}", s.getRestream, roleWard) // the city's re-stream of an outside station (restream.go)
	h("GET /api/v1/restreams", s.listRestreams, roleWard, "admin", "operator", "technician")
	h("GET /api/v1/media/{sha256}", s.getMediaFile, roleWard, "admin", "operator")
	h("HEAD /api/v1/media/{sha256}", s.getMediaFile, roleWard, "admin", "operator")

	h("GET /api/v1/media", s.listMedia, "admin", "operator")
	h("POST /api/v1/media", s.postMedia, "admin", "operator")
	h("PATCH /api/v1/media/{sha256}", s.patchMedia, "admin", "operator")
	h("DELETE /api/v1/media/{sha256}", s.deleteMedia, "admin", "operator")
	h("POST /api/v1/media/{sha256}/rename", s.postMediaRename, "admin", "operator")
	h("POST /api/v1/uploads", s.postUpload, "admin", "operator")
	h("GET /api/v1/uploads/{id}", s.getUpload, "admin", "operator")
	h("PATCH /api/v1/uploads/{id}", s.patchUpload, "admin", "operator")
	h("DELETE /api/v1/uploads/{id}", s.deleteUpload, "admin", "operator")

	h("GET /api/v1/programs", s.listPrograms, "admin", "operator", "technician")
	h("GET /api/v1/programs/{target}", s.getPrograms, "admin", "operator", "technician")
	h("PUT /api/v1/programs/{target}", s.putPrograms, "admin", "operator")
	h("DELETE /api/v1/programs/{target}", s.deletePrograms, "admin", "operator")

	h("GET /api/v1/wards", s.listWards, "admin", "operator", "technician", "alerter", "approver")
	h("POST /api/v1/wards", s.postWard, "admin")
	h("GET /api/v1/wards/{id}", s.getWard, "admin", "operator", "technician", "alerter")
	h("GET /api/v1/wards/{id}/timeline", s.getTimeline, "admin", "operator", "technician")
	h("GET /api/v1/wards/{id}/asrun", s.getAsRun, "admin", "operator", "technician")
	h("GET /api/v1/reports", s.getReport, "admin", "operator", "technician")
	h("GET /api/v1/wards/{id}/preview", s.getPreview, "admin", "operator", "technician")
	h("GET /api/v1/wards/{id}/heartbeats", s.getHeartbeats, "admin", "operator", "technician")
	h("GET /metrics", s.getMetrics, "admin", "operator", "technician", "alerter")

	h("POST /api/v1/alerts", s.postAlert, "admin", "alerter", "approver")
	h("GET /api/v1/alerts", s.listAlerts, "admin", "alerter", "approver", "operator", "technician")
	h("GET /api/v1/alerts/repeats", s.listAlertRepeats, "admin", "alerter", "approver", "operator", "technician")
	h("GET /api/v1/alerts/{id}", s.getAlert, "admin", "alerter", "approver", "operator", "technician")
	h("POST /api/v1/alerts/{id}/cancel", s.postCancel, "admin", "alerter")
	h("GET /api/v1/alert-requests", s.listAlertRequests, "admin", "alerter", "approver")
	h("GET /api/v1/alert-requests/{id}", s.getAlertRequest, "admin", "alerter", "approver")
	h("POST /api/v1/alert-requests/{id}/approve", s.postApprove, "approver")
	h("POST /api/v1/alert-requests/{id}/refuse", s.postRefuse, "approver")

	h("POST /api/v1/cap", s.postCAP, "admin", "alerter")
	h("GET /api/v1/cap", s.listCAP, "admin", "alerter", "operator", "technician")
	mux.Handle("GET /cap/alerts.atom", s.capFeed(s.getCAPFeed))
	mux.Handle("GET /cap/alerts/{file}", s.capFeed(s.getCAPAlert))

	h("POST /api/v1/live", s.postLive, "admin", "alerter", "operator")
	h("GET /api/v1/live", s.getLive, "admin", "alerter", "operator", "technician")
	h("DELETE /api/v1/live/{id}", s.deleteLive, "admin", "alerter", "operator")

	h("POST /api/v1/commands", s.postCommand, "admin", "technician", "alerter")
	h("GET /api/v1/commands/{id}", s.getCommand, "admin", "technician", "alerter")
	h("GET /api/v1/wards/{id}/volume", s.getWardVolume, "admin", "technician")
	h("GET /api/v1/me/notifications", s.getMyNotifications, "admin", "operator", "alerter", "approver", "technician")
	h("PUT /api/v1/me/notifications", s.putMyNotifications, "admin", "operator", "alerter", "approver", "technician")

	h("GET /api/v1/users", s.listUsers, "admin")
	h("POST /api/v1/users", s.postUser, "admin")

	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such endpoint: %s %s", r.Method, r.URL.Path)
	})
	return mux
}

const roleWard = accounts.RoleWard

// principal is who a request comes from: a ward or a user.
type principal struct {
	ward  string
	user  string
	role  string         // roleWard for a ward
	scope accounts.Scope // a user's (scope.go); a ward's is empty
}

func (p principal) name() string {
	if p.ward != "" {
		return "ward:" + p.ward
	}
	return p.user
}

// authed checks the bearer token: missing or unknown is 401, a role not in
// roles is 403. Without a token, the console's session of the same browser
// stands in (with its CSRF token on a change). A change that succeeds is
// written to the audit log.
func (s *Server) authed(fn func(http.ResponseWriter, *http.Request, principal), roles ...string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		tok = strings.TrimSpace(tok)
		var p principal
		var err error
		if !ok || tok == "" {
			p, err = s.consolePrincipal(r)
			switch {
			case errors.Is(err, ErrCrossSite):
				writeError(w, http.StatusForbidden, "yêu cầu từ trang khác hoặc thiếu mã CSRF / cross-site request, or no CSRF token: refused")
				return
			case err != nil:
				w.Header().Set("WWW-Authenticate", `Bearer realm="loa-city"`)
				writeError(w, http.StatusUnauthorized, "no token: send Authorization: Bearer TOKEN")
				return
			}
		} else {
			p, err = s.lookupToken(r.Context(), tok)
		}
		if errors.Is(err, accounts.ErrUnknownToken) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="loa-city", error="invalid_token"`)
			writeError(w, http.StatusUnauthorized, "unknown token")
			return
		}
		if err != nil {
			s.internalError(w, r, err)
			return
		}
		for _, role := range roles {
			if role == p.role {
				s.audited(w, r, p, fn)
				return
			}
		}
		writeError(w, http.StatusForbidden, "%s (%s) may not %s %s", p.name(), p.role, r.Method, r.URL.Path)
	})
}

func (s *Server) lookupToken(ctx context.Context, tok string) (principal, error) {
	p, err := s.d.Accounts.LookupToken(ctx, tok)
	return principal{ward: p.Ward, user: p.User, role: p.Role, scope: p.Scope}, err
}

// errNoSession: no console to stand in for a missing token.
var errNoSession = errors.New("no session")

// consolePrincipal is the console's logged-in user behind a request
// without a token; errors say why there is none.
func (s *Server) consolePrincipal(r *http.Request) (principal, error) {
	if s.d.Sessions == nil {
		return principal{}, errNoSession
	}
	user, role, err := s.d.Sessions.APISession(r)
	if err != nil {
		return principal{}, err
	}
	scope, err := s.d.Accounts.UserScope(r.Context(), user)
	if err != nil {
		return principal{}, err
	}
	return principal{user: user, role: role, scope: scope}, nil
}

// audited runs fn and records the change it made: who, the route, the
// path and the query (names and titles; never a token). A resumable
// upload is recorded when it starts and when it ends in a new item, not
// at every piece. A ward's requests are recorded only under
// /api/v1/ward/.
func (s *Server) audited(w http.ResponseWriter, r *http.Request, p principal, fn func(http.ResponseWriter, *http.Request, principal)) {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		fn(w, r, p)
		return
	}
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	fn(sw, r, p)
	// An upload's PATCHes are recorded once, by the one that completes it.
	if sw.status >= 400 || r.Pattern == "PATCH /api/v1/uploads/{id}" && sw.status != http.StatusCreated {
		return
	}
	if p.ward != "" && !strings.HasPrefix(r.URL.Path, "/api/v1/ward/") {
		return
	}
	detail := r.URL.RawQuery
	if len(detail) > 300 {
		detail = detail[:300] + "…"
	}
	if s.d.Record != nil {
		s.d.Record(r.Context(), p.name(), r.Pattern, r.URL.Path, detail)
	}
}

// statusWriter remembers the status a handler answered with.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the connection (uploads set
// their own read deadlines).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

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

func (s *Server) internalError(w http.ResponseWriter, r *http.Request, err error) {
	s.d.Log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	writeError(w, http.StatusInternalServerError, "internal error (see the city's log)")
}

// fail answers err with the status its kind calls for.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var bad *cmdkit.BadInputError
	var notAudio *library.NotAudioError
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
	case errors.Is(err, library.ErrNameTaken):
		writeError(w, http.StatusConflict, "%v", err)
	case errors.Is(err, library.ErrTooBig):
		writeError(w, http.StatusRequestEntityTooLarge, "%v", err)
	case errors.Is(err, programs.ErrUnknownWard), errors.Is(err, sqlite.ErrNotFound):
		writeError(w, http.StatusNotFound, "%v", err)
	case errors.Is(err, context.Canceled):
		// The client went away.
	default:
		s.internalError(w, r, err)
	}
}

// alertFail answers an error of an alert request.
func (s *Server) alertFail(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, alerting.ErrAlertNotFound), errors.Is(err, alerting.ErrRequestNotFound):
		writeError(w, http.StatusNotFound, "%v", err)
	case errors.Is(err, alerting.ErrNotApprover):
		writeError(w, http.StatusForbidden, "%v", err)
	case errors.Is(err, alerting.ErrApprovalPending):
		writeError(w, http.StatusAccepted, "%v", err)
	case errors.Is(err, alerting.ErrAlertConflict):
		writeError(w, http.StatusConflict, "%v", err)
	case errors.Is(err, alerting.ErrNoNATS), errors.Is(err, alerting.ErrAlertNotPublished):
		writeError(w, http.StatusServiceUnavailable, "%v", err)
	default:
		s.fail(w, r, err)
	}
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

// queryLimit reads a list's ?limit= (1 to 1000, def when absent); false
// when it has answered 400.
func queryLimit(w http.ResponseWriter, r *http.Request, def int) (int, bool) {
	v := r.URL.Query().Get("limit")
	if v == "" {
		return def, true
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 1000 {
		writeError(w, http.StatusBadRequest, "limit %q: cần từ 1 đến 1000 / want 1-1000", v)
		return 0, false
	}
	return n, true
}
