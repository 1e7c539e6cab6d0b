package httpapi

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"loa/city/accounts"
	"loa/city/alerting"
	"loa/city/api"
	"loa/city/library"
	"loa/city/programs"
	"loa/fleet"
	"loa/internal/cmdkit"
	"loa/schedule"
	"loa/signing"
	"loa/sqlite"
)

// do sends one request to h with the token tok (none if empty).
func do(t *testing.T, h http.Handler, method, path, tok, body string, hdr ...string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	if tok != "" {
		r.Header.Set("Authorization", "Bearer "+tok)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// errorText is the "error" of a JSON error body.
func errorText(t *testing.T, w *httptest.ResponseRecorder) string {
	t.Helper()
	var e api.Error
	if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil {
		t.Fatalf("%d %q: not a JSON error: %v", w.Code, w.Body, err)
	}
	return e.Error
}

var allRoles = []string{accounts.RoleWard, "admin", "operator", "alerter", "approver", "technician"}

// The route table with the roles allowed on each route: the API's access
// rules (docs/api.md). Each route is tried with no token, an unknown one
// and a token of every role: 401, 401, then 403 for a role not listed and
// the handler's own answer (over fakes: a success) for one listed.
var routeRoles = []struct {
	route string // "METHOD PATH" as in routes.go
	path  string // a path of that route
	body  string
	roles []string
}{
	{"GET /api/v1/manifest", "/api/v1/manifest", "", []string{"ward"}},
	{"PUT /api/v1/ward/receipt-key", "/api/v1/ward/receipt-key", `{"public_key":"k"}`, []string{"ward"}},
	{"GET /api/v1/media/{sha256}", "/api/v1/media/" + mediaKey, "", []string{"ward", "admin", "operator"}},
	{"HEAD /api/v1/media/{sha256}", "/api/v1/media/" + mediaKey, "", []string{"ward", "admin", "operator"}},
	{"GET /api/v1/media", "/api/v1/media", "", []string{"admin", "operator"}},
	{"POST /api/v1/media", "/api/v1/media?name=a", "ID3", []string{"admin", "operator"}},
	{"PATCH /api/v1/media/{sha256}", "/api/v1/media/" + strings.Repeat("a", 64), `{"title":"Bản tin"}`, []string{"admin", "operator"}},
	{"DELETE /api/v1/media/{sha256}", "/api/v1/media/" + strings.Repeat("a", 64), "", []string{"admin", "operator"}},
	{"POST /api/v1/media/{sha256}/rename", "/api/v1/media/" + strings.Repeat("a", 64) + "/rename", `{"from":"cu.mp3","to":"moi.mp3"}`, []string{"admin", "operator"}},
	{"POST /api/v1/uploads", "/api/v1/uploads?name=a&size=10", "", []string{"admin", "operator"}},
	{"GET /api/v1/uploads/{id}", "/api/v1/uploads/up1", "", []string{"admin", "operator"}},
	{"PATCH /api/v1/uploads/{id}", "/api/v1/uploads/up1", "abc", []string{"admin", "operator"}},
	{"DELETE /api/v1/uploads/{id}", "/api/v1/uploads/up1", "", []string{"admin", "operator"}},
	{"GET /api/v1/programs", "/api/v1/programs", "", []string{"admin", "operator", "technician"}},
	{"GET /api/v1/programs/{target}", "/api/v1/programs/city", "", []string{"admin", "operator", "technician"}},
	{"PUT /api/v1/programs/{target}", "/api/v1/programs/city", "programs: []\n", []string{"admin", "operator"}},
	{"DELETE /api/v1/programs/{target}", "/api/v1/programs/city", "", []string{"admin", "operator"}},
	{"GET /api/v1/wards", "/api/v1/wards", "", []string{"admin", "operator", "technician", "alerter", "approver"}},
	{"POST /api/v1/wards", "/api/v1/wards", `{"id":"phuong-2"}`, []string{"admin"}},
	{"GET /api/v1/wards/{id}", "/api/v1/wards/phuong-1", "", []string{"admin", "operator", "technician", "alerter"}},
	{"GET /api/v1/wards/{id}/timeline", "/api/v1/wards/phuong-1/timeline", "", []string{"admin", "operator", "technician"}},
	{"GET /api/v1/wards/{id}/asrun", "/api/v1/wards/phuong-1/asrun", "", []string{"admin", "operator", "technician"}},
	{"GET /api/v1/reports", "/api/v1/reports", "", []string{"admin", "operator", "technician"}},
	{"GET /api/v1/wards/{id}/preview", "/api/v1/wards/phuong-1/preview?date=2026-05-02&from=05:29&to=05:32", "", []string{"admin", "operator", "technician"}},
	{"GET /api/v1/wards/{id}/heartbeats", "/api/v1/wards/phuong-1/heartbeats", "", []string{"admin", "operator", "technician"}},
	{"GET /metrics", "/metrics", "", []string{"admin", "operator", "technician", "alerter"}},
	{"POST /api/v1/alerts", "/api/v1/alerts", `{}`, []string{"admin", "alerter", "approver"}},
	{"GET /api/v1/alerts", "/api/v1/alerts", "", []string{"admin", "alerter", "approver", "operator", "technician"}},
	{"GET /api/v1/alerts/repeats", "/api/v1/alerts/repeats", "", []string{"admin", "alerter", "approver", "operator", "technician"}},
	{"GET /api/v1/alerts/{id}", "/api/v1/alerts/a1", "", []string{"admin", "alerter", "approver", "operator", "technician"}},
	{"POST /api/v1/alerts/{id}/cancel", "/api/v1/alerts/a1/cancel", "", []string{"admin", "alerter"}},
	{"GET /api/v1/alert-requests", "/api/v1/alert-requests?state=pending", "", []string{"admin", "alerter", "approver"}},
	{"GET /api/v1/alert-requests/{id}", "/api/v1/alert-requests/yc-1", "", []string{"admin", "alerter", "approver"}},
	{"POST /api/v1/alert-requests/{id}/approve", "/api/v1/alert-requests/yc-1/approve", "", []string{"approver"}},
	{"POST /api/v1/alert-requests/{id}/refuse", "/api/v1/alert-requests/yc-1/refuse", `{"reason":"sai"}`, []string{"approver"}},
	{"POST /api/v1/live", "/api/v1/live", `{}`, []string{"admin", "alerter", "operator"}},
	{"GET /api/v1/live", "/api/v1/live", "", []string{"admin", "alerter", "operator", "technician"}},
	{"DELETE /api/v1/live/{id}", "/api/v1/live/l1", "", []string{"admin", "alerter", "operator"}},
	{"POST /api/v1/cap", "/api/v1/cap", "<alert/>", []string{"admin", "alerter"}},
	{"GET /api/v1/cap", "/api/v1/cap", "", []string{"admin", "alerter", "operator", "technician"}},
	{"POST /api/v1/commands", "/api/v1/commands", `{"to":"phuong-1","kind":"stop_all"}`, []string{"admin", "technician", "alerter"}},
	{"GET /api/v1/commands/{id}", "/api/v1/commands/c1", "", []string{"admin", "technician", "alerter"}},
	{"GET /api/v1/wards/{id}/volume", "/api/v1/wards/phuong-1/volume", "", []string{"admin", "technician"}},
	{"GET /api/v1/restreams", "/api/v1/restreams", "", []string{"ward", "admin", "operator", "technician"}},
	{"GET /api/v1/me/notifications", "/api/v1/me/notifications", "", []string{"admin", "operator", "alerter", "approver", "technician"}},
	{"PUT /api/v1/me/notifications", "/api/v1/me/notifications", `{"rules":["offline"]}`, []string{"admin", "operator", "alerter", "approver", "technician"}},
	{"GET /api/v1/users", "/api/v1/users", "", []string{"admin"}},
	{"POST /api/v1/users", "/api/v1/users", `{"name":"lan","role":"operator"}`, []string{"admin"}},
}

func TestRouteRoles(t *testing.T) {
	d, _ := testDeps(t)
	h := New(d).Handler()
	for _, rt := range routeRoles {
		method, _, _ := strings.Cut(rt.route, " ")
		t.Run(rt.route, func(t *testing.T) {
			w := do(t, h, method, rt.path, "", rt.body)
			if w.Code != http.StatusUnauthorized || !strings.HasPrefix(w.Header().Get("WWW-Authenticate"), `Bearer realm="loa-city"`) {
				t.Errorf("no token: %d %q, want 401 with WWW-Authenticate", w.Code, w.Header().Get("WWW-Authenticate"))
			}
			if w := do(t, h, method, rt.path, "loau_nobody", rt.body); w.Code != http.StatusUnauthorized ||
				w.Header().Get("WWW-Authenticate") != `Bearer realm="loa-city", error="invalid_token"` {
				t.Errorf("unknown token: %d %q, want 401 invalid_token", w.Code, w.Header().Get("WWW-Authenticate"))
			}
			for _, role := range allRoles {
				w := do(t, h, method, rt.path, role, rt.body, "Upload-Offset", "0")
				allowed := slices.Contains(rt.roles, role)
				switch {
				case allowed && w.Code >= 400:
					t.Errorf("%s: %d %s, want the route's success", role, w.Code, w.Body)
				case !allowed && w.Code != http.StatusForbidden:
					t.Errorf("%s: %d, want 403", role, w.Code)
				case !allowed:
					who := "u-" + role
					if role == accounts.RoleWard {
						who = "ward:phuong-1"
					}
					want := fmt.Sprintf("%s (%s) may not %s %s", who, role, method, strings.SplitN(rt.path, "?", 2)[0])
					if got := errorText(t, w); got != want {
						t.Errorf("%s: %q, want %q", role, got, want)
					}
				}
			}
		})
	}
}

// The table above is the route table: every route in routes.go with its
// roles, no more, no less.
func TestRouteRolesCoverTheTable(t *testing.T) {
	src, err := os.ReadFile("routes.go")
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`(?m)^\th\("([^"]+)", s\.\w+, (.+)\)$`)
	inSource := map[string]string{}
	for _, m := range re.FindAllStringSubmatch(string(src), -1) {
		inSource[m[1]] = strings.ReplaceAll(strings.ReplaceAll(m[2], `"`, ""), "roleWard", "ward")
	}
	if len(inSource) != len(routeRoles) {
		t.Errorf("routes.go has %d authenticated routes, the test %d", len(inSource), len(routeRoles))
	}
	for _, rt := range routeRoles {
		if got, want := inSource[rt.route], strings.Join(rt.roles, ", "); got != want {
			t.Errorf("%s: routes.go allows %q, the test %q", rt.route, got, want)
		}
	}
}

func TestOpenRoutes(t *testing.T) {
	d, _ := testDeps(t)
	h := New(d).Handler()
	if w := do(t, h, "GET", "/healthz", "", ""); w.Code != 200 || w.Body.String() != "ok\n" {
		t.Errorf("healthz: %d %q", w.Code, w.Body)
	}
	d.Alerting = fakeAlerting{problems: []string{"a", "b"}}
	h = New(d).Handler()
	if w := do(t, h, "GET", "/healthz", "", ""); w.Code != 503 || w.Body.String() != "KHÔNG GỬI ĐƯỢC CẢNH BÁO / ALERTS CANNOT BE SENT\na\nb\n" {
		t.Errorf("healthz with problems: %d %q", w.Code, w.Body)
	}
	var k api.Key
	if w := do(t, h, "GET", "/api/v1/key", "", ""); w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &k) != nil || k.KeyID != signing.KeyID(d.Key.Public().(ed25519.PublicKey)) {
		t.Errorf("key: %d %s", w.Code, w.Body)
	}
	if w := do(t, h, "GET", "/api/v1/time", "", ""); w.Code != 200 || w.Body.String() != fmt.Sprintf("{\"unix_ns\":%d}\n", d.Now().UnixNano()) || w.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("time: %d %q", w.Code, w.Body)
	}
	if w := do(t, h, "GET", "/api/v1/time?nonce=zz", "", ""); w.Code != 400 {
		t.Errorf("time with a bad nonce: %d", w.Code)
	}
	if w := do(t, h, "GET", "/api/v1/nothing", "admin", ""); w.Code != 404 || errorText(t, w) != "no such endpoint: GET /api/v1/nothing" {
		t.Errorf("unknown endpoint: %d %s", w.Code, w.Body)
	}
}

// Without a token, the console's session stands in: its role decides, and
// a change from another site is refused before any role is looked at.
func TestConsoleSession(t *testing.T) {
	d, rec := testDeps(t)
	h := New(d).Handler()
	withCookie := func(method, path, value string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, path, strings.NewReader(`{"name":"lan","role":"operator"}`))
		r.AddCookie(&http.Cookie{Name: "session", Value: value})
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	if w := withCookie("GET", "/api/v1/media", "operator"); w.Code != 200 {
		t.Errorf("operator's session: %d %s", w.Code, w.Body)
	}
	if w := withCookie("POST", "/api/v1/users", "operator"); w.Code != 403 || errorText(t, w) != "console-operator (operator) may not POST /api/v1/users" {
		t.Errorf("operator's session adding a user: %d %s", w.Code, w.Body)
	}
	if w := withCookie("POST", "/api/v1/users", "cross"); w.Code != 403 ||
		errorText(t, w) != "yêu cầu từ trang khác hoặc thiếu mã CSRF / cross-site request, or no CSRF token: refused" {
		t.Errorf("cross-site: %d %s", w.Code, w.Body)
	}
	if w := withCookie("POST", "/api/v1/users", "admin"); w.Code != 201 {
		t.Errorf("admin's session adding a user: %d %s", w.Code, w.Body)
	}
	if got := rec.all(); !slices.Equal(got, []string{"console-admin|POST /api/v1/users|/api/v1/users|"}) {
		t.Errorf("audit: %q", got)
	}
	d.Sessions = nil // no console: no token is no token
	h = New(d).Handler()
	if w := withCookie("GET", "/api/v1/media", "operator"); w.Code != 401 || errorText(t, w) != "no token: send Authorization: Bearer TOKEN" {
		t.Errorf("no console: %d %s", w.Code, w.Body)
	}
}

// Changes that succeed are written to the audit log, reads and failures
// are not; a ward's only under /api/v1/ward/; a resumable upload when it
// starts and when it ends in a new item.
func TestAudit(t *testing.T) {
	d, rec := testDeps(t)
	h := New(d).Handler()
	do(t, h, "GET", "/api/v1/users", "admin", "")
	do(t, h, "POST", "/api/v1/uploads?name=tin&size=10", "operator", "")
	do(t, h, "PATCH", "/api/v1/uploads/up1", "operator", "abc", "Upload-Offset", "0") // not done: not recorded
	do(t, h, "PUT", "/api/v1/ward/receipt-key", "ward", `{"public_key":"k"}`)
	do(t, h, "GET", "/api/v1/manifest", "ward", "")
	long := strings.Repeat("x", 400)
	do(t, h, "PUT", "/api/v1/programs/city?file="+long, "admin", "programs: []\n")
	d.Programs = fakePrograms{err: cmdkit.BadInput("no")}
	do(t, New(d).Handler(), "DELETE", "/api/v1/programs/city", "admin", "") // refused: not recorded
	want := []string{
		"u-operator|POST /api/v1/uploads|/api/v1/uploads|name=tin&size=10",
		"ward:phuong-1|PUT /api/v1/ward/receipt-key|/api/v1/ward/receipt-key|",
		"u-admin|PUT /api/v1/programs/{target}|/api/v1/programs/city|" + ("file=" + long)[:300] + "…",
	}
	if got := rec.all(); !slices.Equal(got, want) {
		t.Errorf("audit:\n%q\nwant\n%q", got, want)
	}
}

// fail answers each kind of error with its status.
func TestErrorStatuses(t *testing.T) {
	list := schedule.ErrorList{{File: "a.yaml", Line: 3, Msg: "bad cron"}, {File: "a.yaml", Line: 7, Msg: "no media"}}
	for _, tc := range []struct {
		err    error
		status int
		text   string
	}{
		{cmdkit.BadInput("target: %q is not one", "x"), 400, `target: "x" is not one`},
		{list, 400, "2 problem(s) in the program file; nothing changed"},
		{&library.NotAudioError{Reason: "a PDF"}, 422, "a PDF"},
		{fmt.Errorf("x: %w", library.ErrNameTaken), 409, "x: name already used"},
		{library.ErrTooBig, 413, "upload too large"},
		{programs.ErrUnknownWard, 404, programs.ErrUnknownWard.Error()},
		{fmt.Errorf("ward p: %w", sqlite.ErrNotFound), 404, "ward p: " + sqlite.ErrNotFound.Error()},
		{errors.New("disk on fire"), 500, "internal error (see the city's log)"},
	} {
		d, _ := testDeps(t)
		d.Programs = fakePrograms{err: tc.err}
		w := do(t, New(d).Handler(), "PUT", "/api/v1/programs/city", "admin", "x")
		if w.Code != tc.status || errorText(t, w) != tc.text {
			t.Errorf("%v: %d %s, want %d %q", tc.err, w.Code, w.Body, tc.status, tc.text)
		}
		if _, ok := tc.err.(schedule.ErrorList); ok {
			var e api.Error
			json.Unmarshal(w.Body.Bytes(), &e)
			if len(e.Errors) != 2 || e.Errors[0] != list[0].Error() {
				t.Errorf("problem list: %q", e.Errors)
			}
		}
	}
	for _, tc := range []struct {
		err    error
		status int
	}{
		{alerting.ErrAlertNotFound, 404}, {alerting.ErrAlertConflict, 409}, {alerting.ErrNoNATS, 503},
		{alerting.ErrAlertNotPublished, 503}, {cmdkit.BadInput("x"), 400}, {errors.New("boom"), 500},
	} {
		d, _ := testDeps(t)
		d.Alerting = fakeAlerting{err: tc.err}
		if w := do(t, New(d).Handler(), "POST", "/api/v1/alerts", "alerter", "{}"); w.Code != tc.status {
			t.Errorf("alert %v: %d, want %d", tc.err, w.Code, tc.status)
		}
	}
	for _, tc := range []struct {
		err    error
		status int
		text   string
	}{
		{cmdkit.BadInput("stream: no"), 400, "stream: no"}, {alerting.ErrNoNATS, 503, alerting.ErrNoNATS.Error()},
		{errors.New("boom"), 500, "boom"},
	} {
		d, _ := testDeps(t)
		d.Alerting = fakeAlerting{err: tc.err}
		if w := do(t, New(d).Handler(), "POST", "/api/v1/live", "alerter", "{}"); w.Code != tc.status || errorText(t, w) != tc.text {
			t.Errorf("live %v: %d %s, want %d %q", tc.err, w.Code, w.Body, tc.status, tc.text)
		}
	}
}

func TestUploadErrors(t *testing.T) {
	d, _ := testDeps(t)
	d.Library = fakeLibrary{err: &library.OffsetError{Have: 42}}
	w := do(t, New(d).Handler(), "PATCH", "/api/v1/uploads/up1", "admin", "abc", "Upload-Offset", "7")
	if w.Code != 409 || w.Header().Get("Upload-Offset") != "42" {
		t.Errorf("wrong offset: %d %q", w.Code, w.Header().Get("Upload-Offset"))
	}
	d.Library = fakeLibrary{}
	if w := do(t, New(d).Handler(), "PATCH", "/api/v1/uploads/up1", "admin", "abc"); w.Code != 400 ||
		errorText(t, w) != "Upload-Offset: want the offset the body starts at" {
		t.Errorf("no offset: %d %s", w.Code, w.Body)
	}
}

func TestJoin(t *testing.T) {
	d, _ := testDeps(t)
	h := New(d).Handler()
	w := do(t, h, "POST", "/api/v1/join", "", `{"code":"7KQMX-2HD9P"}`)
	var env signing.Envelope
	if w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &env) != nil || w.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("join: %d %s", w.Code, w.Body)
	}
	payload, err := signing.Verify(env, d.Key.Public().(ed25519.PublicKey))
	var cr api.JoinCredentials
	if err != nil || json.Unmarshal(payload, &cr) != nil || cr.Ward != "phuong-1" || cr.Format != api.JoinFormat {
		t.Errorf("credentials: %v %s", err, payload)
	}
	for _, tc := range []struct {
		err    error
		status int
	}{
		{accounts.ErrJoinCodeUnknown, 404}, {accounts.ErrJoinCodeUsed, 410}, {accounts.ErrJoinCodeExpired, 410},
		{cmdkit.BadInput("code: bad"), 400}, {errors.New("boom"), 500},
	} {
		d.Joins = fakeJoins{err: tc.err}
		if w := do(t, New(d).Handler(), "POST", "/api/v1/join", "", `{"code":"x"}`); w.Code != tc.status {
			t.Errorf("%v: %d, want %d", tc.err, w.Code, tc.status)
		}
	}
	// Wrong codes from one address: the 21st attempt waits.
	d.Joins = fakeJoins{err: accounts.ErrJoinCodeUnknown}
	h = New(d).Handler()
	for range joinFailMax {
		do(t, h, "POST", "/api/v1/join", "", `{"code":"x"}`)
	}
	if w := do(t, h, "POST", "/api/v1/join", "", `{"code":"x"}`); w.Code != 429 || w.Header().Get("Retry-After") != "600" {
		t.Errorf("after %d wrong codes: %d %q", joinFailMax, w.Code, w.Header().Get("Retry-After"))
	}
}

func TestWardRequests(t *testing.T) {
	d, _ := testDeps(t)
	b := &fakeBoard{}
	d.Board = b
	h := New(d).Handler()
	w := do(t, h, "GET", "/api/v1/manifest", "ward", "", ManifestVersionHeader, "7", "Accept-Encoding", "gzip")
	if w.Code != 200 || w.Header().Get("ETag") != `"1"` || w.Header().Get("Content-Encoding") != "gzip" || b.seen["phuong-1"] != 7 {
		t.Errorf("manifest: %d %v seen %v", w.Code, w.Header(), b.seen)
	}
	if w := do(t, h, "GET", "/api/v1/media/NOTAKEY", "ward", ""); w.Code != 400 {
		t.Errorf("bad media key: %d", w.Code)
	}
	if w := do(t, h, "GET", "/api/v1/media/"+strings.Repeat("f", 64), "admin", ""); w.Code != 404 {
		t.Errorf("missing media: %d", w.Code)
	}
	d.Accounts = fakeAccounts{receiptKeyErr: accounts.ErrReceiptKeyTaken}
	w = do(t, New(d).Handler(), "PUT", "/api/v1/ward/receipt-key", "ward", `{"public_key":"k2"}`)
	if w.Code != 409 || !slices.Equal(b.flags, []string{"phuong-1 " + fleet.AlarmKeyConflict}) {
		t.Errorf("second receipt key: %d flags %q", w.Code, b.flags)
	}
}

func TestEtagAndGzip(t *testing.T) {
	for _, tc := range []struct {
		header string
		match  bool
	}{{"", false}, {`"1"`, true}, {`W/"1"`, true}, {`"2", "1"`, true}, {"*", true}, {`"2"`, false}} {
		if etagMatch(tc.header, `"1"`) != tc.match {
			t.Errorf("If-None-Match %q: want %v", tc.header, tc.match)
		}
	}
	for _, tc := range []struct {
		header string
		gzip   bool
	}{{"", false}, {"gzip", true}, {"br, gzip;q=0.5", true}, {"gzip;q=0", false}, {"gzip; q = 0", false}} {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Accept-Encoding", tc.header)
		if acceptsGzip(r) != tc.gzip {
			t.Errorf("Accept-Encoding %q: want %v", tc.header, tc.gzip)
		}
	}
}
