// Package console is the city's web console (Bảng điều khiển): pages a
// commune official runs the station with from a phone. It is a face over
// the city's services, like the JSON API, and never a second copy of their
// logic: it asks them through the small interfaces in Deps.
//
// Pages are server-rendered html/template with embedded assets and no
// JavaScript build step. Sessions are cookies (HttpOnly, SameSite=Strict,
// Secure under TLS) naming a session stored at the city; every POST needs
// the session's CSRF token and a same-origin request.
package console

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// ErrBadPassword: the user name or password is wrong (or the user is
// disabled); the page never says which.
var ErrBadPassword = errors.New("wrong user name or password")

// Passwords checks a user's password and says their role.
type Passwords interface {
	CheckPassword(ctx context.Context, user, password string) (role string, err error)
}

// Deps are the city services the console is a face over.
type Deps struct {
	Accounts  Accounts
	Sessions  Sessions
	Log       *slog.Logger
	Now       func() time.Time
	Library   Library
	Speaker   Speaker
	Schedules Schedules
	// Live opens broadcasts from the browser's microphone; nil: none.
	Live   LiveStudio
	Alerts Alerts
	// Commands send signed commands to wards (Dừng tất cả); nil: no page.
	Commands Commands
	// Reports make proof-of-play reports (reports.go); nil: no page.
	Reports Reports
	Preview Previewer
	Fleet   Fleet
	// Notify are the users' notification settings; nil: no page.
	Notify NotifySettings
	// Station is the station's name shown on every page.
	Station string
	// Location is the city's time zone: times are shown in it.
	Location *time.Location
	// Record writes a change to the audit log (city/audit); nil: none.
	Record func(ctx context.Context, actor, action, target, detail string)
}

// Console serves the web console.
type Console struct {
	deps      Deps
	pages     map[string]*template.Template
	logins    loginLimiter
	previews  previewCache
	fleetFeed fleetFeed // fleetfeed.go
}

// New parses the templates (a broken template is a start-up error, never
// a page error).
func New(d Deps) (*Console, error) {
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Location == nil {
		d.Location = time.Local
	}
	c := &Console{deps: d, pages: map[string]*template.Template{}}
	for _, page := range []string{"login", "home", "error", "library", "speak", "week", "program", "users", "password", "audit", "live", "alerts", "alert_new", "alert_request", "alert", "stopall", "reports", "preview", "month", "fleet", "fleetward", "notify", "command", "control"} {
		t := template.New(page).Funcs(template.FuncMap{"t": func(string) string { return "" }})
		t, err := t.ParseFS(templateFS, "templates/layout.html", "templates/"+page+".html", "templates/partial_control.html")
		if err != nil {
			return nil, fmt.Errorf("console template %s: %w", page, err)
		}
		c.pages[page] = t
	}
	staticAssets() // now, so that no request pays for it
	return c, nil
}

// staticAssets are the embedded assets' version and their compressed
// bodies, worked out once for the process: they are the same for every
// console it starts (a test process starts hundreds).
var staticAssets = sync.OnceValue(func() embeddedAssets {
	h := sha256.New()
	fs.WalkDir(staticFS, "static", func(path string, e fs.DirEntry, err error) error {
		if err == nil && !e.IsDir() {
			b, _ := staticFS.ReadFile(path)
			h.Write(b)
		}
		return nil
	})
	return embeddedAssets{hex.EncodeToString(h.Sum(nil))[:12], precompress(staticFS)}
})

type embeddedAssets struct {
	version string     // in asset URLs, so that a new release is fetched anew
	gzipped gzipAssets // gzip.go
}

// Handler serves the console's pages under /.
func (c *Console) Handler() http.Handler {
	mux := http.NewServeMux()
	static, _ := fs.Sub(staticFS, "static")
	files := http.StripPrefix("/static/", http.FileServerFS(static))
	mux.Handle("GET /static/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		staticAssets().gzipped.serve(w, r, files)
	}))
	mux.HandleFunc("GET /lang", setLang)
	mux.HandleFunc("GET /login", c.getLogin)
	mux.HandleFunc("POST /login", c.postLogin)
	mux.Handle("POST /logout", c.authed(c.postLogout))
	mux.Handle("POST /logout/all", c.authed(c.postLogoutAll))
	mux.Handle("GET /{$}", c.authed(c.getHome))
	mux.Handle("GET /library", c.authed(c.getLibrary))
	mux.Handle("GET /library/audio/{sha256}", c.authed(c.getMediaAudio))
	mux.Handle("POST /library/upload", c.authed(c.postLibraryUpload))
	mux.Handle("POST /library/item/{sha256}", c.authed(c.postMediaEdit))
	mux.Handle("GET /library/speak", c.authed(c.getSpeak))
	mux.Handle("POST /library/speak", c.authed(c.postSpeak))
	mux.Handle("GET /library/speak/{id}", c.authed(c.getSpeakPreview))
	mux.Handle("GET /users", c.authed(c.getUsers))
	mux.Handle("POST /users", c.authed(c.postUsers))
	mux.Handle("GET /password", c.authed(c.getPassword))
	mux.Handle("POST /password", c.authed(c.postPassword))
	mux.Handle("GET /audit", c.authed(c.getAudit))
	mux.Handle("GET /reports", c.authed(c.getReports))
	mux.Handle("GET /reports/print", c.authed(c.getReportPrint))
	mux.Handle("GET /reports/export", c.authed(c.getReportExport))
	mux.Handle("GET /schedule", c.authed(c.getScheduleIndex))
	mux.Handle("GET /schedule/export", c.authed(c.getExport))
	mux.Handle("GET /schedule/{ward}", c.authed(c.getWeek))
	mux.Handle("GET /schedule/{ward}/program", c.authed(c.getProgramForm))
	mux.Handle("POST /schedule/{ward}/program", c.authed(c.postProgram))
	mux.Handle("POST /schedule/{ward}/program/delete", c.authed(c.postProgramDelete))
	mux.Handle("POST /schedule/{ward}/import", c.authed(c.postImport))
	mux.Handle("GET /live", c.authed(c.getLive))
	mux.Handle("GET /live/socket", c.authed(c.getLiveSocket))
	mux.Handle("GET /stop-all", c.authed(c.getStopAll))
	mux.Handle("POST /stop-all", c.authed(c.postStopAll))
	mux.Handle("GET /alerts", c.authed(c.getAlerts))
	mux.Handle("GET /alerts/new", c.authed(c.getAlertNew))
	mux.Handle("POST /alerts/new", c.authed(c.postAlertNew))
	mux.Handle("GET /alerts/{id}", c.authed(c.getAlert))
	mux.Handle("GET /alerts/{id}/events", c.authed(c.getAlertEvents))
	mux.Handle("POST /alerts/{id}/approve", c.authed(c.postAlertApprove))
	mux.Handle("POST /alerts/{id}/refuse", c.authed(c.postAlertRefuse))
	mux.Handle("POST /alerts/{id}/cancel", c.authed(c.postAlertCancel))
	mux.Handle("POST /alerts/{id}/correct", c.authed(c.postAlertCorrect))
	mux.Handle("GET /schedule/{ward}/preview", c.authed(c.getPreview))
	mux.Handle("POST /schedule/{ward}/program/move", c.authed(c.postMove))
	mux.Handle("GET /schedule/{ward}/month", c.authed(c.getMonth))
	mux.Handle("GET /schedule/{ward}/preview.wav", c.authed(c.getPreviewAudio))
	mux.Handle("GET /schedule/{ward}/preview.mp3", c.authed(c.getPreviewAudio))
	mux.Handle("GET /fleet", c.authed(c.getFleet))
	mux.Handle("GET /fleet/events", c.authed(c.getFleetEvents))
	mux.Handle("GET /fleet/{ward}", c.authed(c.getFleetWard))
	mux.Handle("POST /commands", c.authed(c.postCommand))
	mux.Handle("GET /commands/{id}", c.authed(c.getCommand))
	mux.Handle("GET /commands/{id}/answers", c.authed(c.getCommandAnswers))
	mux.Handle("GET /me/notifications", c.authed(c.getNotify))
	mux.Handle("POST /me/notifications", c.authed(c.postNotify))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		c.errorPage(w, r, nil, http.StatusNotFound, T(langOf(r), "notfound"))
	})
	return secureHeaders(mux)
}

// secureHeaders: no framing (clickjacking), no sniffing, no referrer to
// other sites, scripts and styles only from the city itself.
func secureHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "same-origin")
		hd.Set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; media-src 'self' blob:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
		h.ServeHTTP(w, r)
	})
}

// page is what every template gets.
type page struct {
	Lang         Lang
	Title        string
	Station      string
	Path         string
	AssetVersion string
	Session      *Session
	Nav          []navItem
	Error        string
	// Training: alert_rules.training is on; every page says so.
	Training bool
	// Page-specific fields.
	User string
	Next string
	Data any
}

type navItem struct {
	Path, Key string
	Admin     bool // shown to administrators only
	// Roles, if set, are the roles the page serves (an administrator
	// sees every page): the menu offers no page that would refuse.
	Roles   []string
	Current bool
}

// nav lists the pages that exist; a page appears here when it is built.
var nav = []navItem{{Path: "/", Key: "nav.home"}, {Path: "/library", Key: "nav.library"}, {Path: "/library/speak", Key: "speak"}, {Path: "/schedule", Key: "nav.programs"}, {Path: "/fleet", Key: "nav.fleet"}, {Path: "/alerts", Key: "nav.alerts", Roles: alertRoles}, {Path: "/live", Key: "nav.live", Roles: liveRoles}, {Path: "/reports", Key: "nav.reports", Roles: reportRoles},
	{Path: "/users", Key: "nav.users", Admin: true}, {Path: "/audit", Key: "nav.audit", Admin: true}}

func (c *Console) newPage(r *http.Request, s *Session, titleKey string) page {
	l := langOf(r)
	p := page{Lang: l, Title: T(l, titleKey), Station: c.deps.Station, Path: r.URL.Path, AssetVersion: staticAssets().version, Session: s}
	p.Training = c.deps.Alerts != nil && c.deps.Alerts.Rules().Training
	// The current page is the nav entry with the longest path that
	// contains the request's.
	best := -1
	for i, n := range nav {
		if (n.Path == r.URL.Path || n.Path != "/" && strings.HasPrefix(r.URL.Path, n.Path+"/")) && (best < 0 || len(n.Path) > len(nav[best].Path)) {
			best = i
		}
	}
	for i, n := range nav {
		if n.Admin && (s == nil || s.Role != "admin") {
			continue
		}
		if n.Roles != nil && (s == nil || s.Role != "admin" && !slices.Contains(n.Roles, s.Role)) {
			continue
		}
		n.Current = i == best
		p.Nav = append(p.Nav, n)
	}
	return p
}

// render writes a whole page, or a plain 500 if the template fails, so a
// half page is never shown.
func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, name string, p page) {
	t, err := c.pages[name].Clone()
	if err == nil {
		t.Funcs(template.FuncMap{"t": func(key string) string { return T(p.Lang, key) }})
		var buf bytes.Buffer
		if err = t.ExecuteTemplate(&buf, "layout", p); err == nil {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Header().Set("Cache-Control", "no-store")
			w.WriteHeader(status)
			w.Write(buf.Bytes())
			return
		}
	}
	c.deps.Log.Error("console page", "page", name, "err", err)
	http.Error(w, T(p.Lang, "error.internal"), http.StatusInternalServerError)
}

// internal answers a failure of a service: logged, and a page that says
// where to look.
func (c *Console) internal(w http.ResponseWriter, r *http.Request, s *Session, what string, err error) {
	c.deps.Log.Error("console", "page", what, "err", err)
	c.errorPage(w, r, s, http.StatusInternalServerError, T(langOf(r), "error.internal"))
}

func (c *Console) errorPage(w http.ResponseWriter, r *http.Request, s *Session, status int, msg string) {
	p := c.newPage(r, s, "console")
	p.Title = http.StatusText(status)
	p.Error = msg
	c.render(w, r, status, "error", p)
}

// authed gives fn the request's session; without one a page asks to log
// in. A POST also needs a same-origin request and the session's CSRF token.
func (c *Console) authed(fn func(http.ResponseWriter, *http.Request, *Session)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := c.session(r)
		if err != nil {
			if !errors.Is(err, ErrNoSession) {
				c.deps.Log.Error("console session", "err", err)
				c.errorPage(w, r, nil, http.StatusInternalServerError, T(langOf(r), "error.internal"))
				return
			}
			if r.Method != http.MethodGet {
				c.errorPage(w, r, nil, http.StatusForbidden, T(langOf(r), "csrf"))
				return
			}
			http.Redirect(w, r, "/login?next="+r.URL.EscapedPath(), http.StatusSeeOther)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead && (!sameOrigin(r) || !csrfOK(r, s)) {
			c.deps.Log.Warn("console: refused a cross-site or stale request", "user", s.User, "path", r.URL.Path,
				"origin", r.Header.Get("Origin"), "from", clientIP(r))
			c.errorPage(w, r, &s, http.StatusForbidden, T(langOf(r), "csrf"))
			return
		}
		if s.MustChange && r.URL.Path != "/password" && r.URL.Path != "/logout" {
			http.Redirect(w, r, "/password", http.StatusSeeOther)
			return
		}
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			fn(w, r, &s)
			return
		}
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		fn(sw, r, &s)
		if sw.status < 400 {
			c.record(r, s.User, "console "+r.Pattern, r.URL.Path, formDetail(r))
		}
	})
}

// record writes a change to the audit log.
func (c *Console) record(r *http.Request, actor, action, target, detail string) {
	if c.deps.Record != nil {
		c.deps.Record(r.Context(), actor, action, target, detail)
	}
}

// formDetail is what a change's form said, for the audit log: the fields
// that name what changed, never a password or token.
func formDetail(r *http.Request) string {
	var parts []string
	for _, k := range []string{"action", "target", "id", "from", "name", "title", "role"} {
		if v := r.PostFormValue(k); v != "" {
			if len(v) > 80 {
				v = v[:80] + "…"
			}
			parts = append(parts, k+"="+v)
		}
	}
	return strings.Join(parts, " ")
}

// statusWriter remembers the status a handler answered.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

// APISession is the console's session behind a request to the JSON API
// (the library page uploads through the resumable upload API). A request
// that changes anything must also be same-origin and carry the session's
// CSRF token in X-CSRF-Token. ErrNoSession when there is none.
func (c *Console) APISession(r *http.Request) (*Session, error) {
	s, err := c.session(r)
	if err != nil {
		return nil, err
	}
	if s.MustChange {
		return nil, ErrNoSession
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead && (!sameOrigin(r) || !csrfOK(r, s)) {
		return nil, ErrCrossSite
	}
	return &s, nil
}

// ErrCrossSite: a request with a session but from another site, or
// without the session's CSRF token.
var ErrCrossSite = errors.New("cross-site or stale request")

func (c *Console) session(r *http.Request) (Session, error) {
	ck, err := r.Cookie(sessionCookie)
	if err != nil || ck.Value == "" {
		return Session{}, ErrNoSession
	}
	s, err := c.deps.Sessions.Lookup(r.Context(), HashID(ck.Value))
	if err != nil {
		return Session{}, err
	}
	if !c.deps.Now().Before(s.Expires) {
		return Session{}, ErrNoSession
	}
	s.ID = ck.Value
	return s, nil
}

func (c *Console) getLogin(w http.ResponseWriter, r *http.Request) {
	if _, err := c.session(r); err == nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	p := c.newPage(r, nil, "login")
	p.Next = safeNext(r.FormValue("next"))
	c.render(w, r, http.StatusOK, "login", p)
}

func (c *Console) postLogin(w http.ResponseWriter, r *http.Request) {
	l := langOf(r)
	p := c.newPage(r, nil, "login")
	p.Next = safeNext(r.PostFormValue("next"))
	if !sameOrigin(r) {
		c.errorPage(w, r, nil, http.StatusForbidden, T(l, "csrf"))
		return
	}
	user := strings.TrimSpace(r.PostFormValue("user"))
	p.User = user
	now := c.deps.Now()
	ip := clientIP(r)
	for _, key := range []string{"user:" + user, "ip:" + ip} {
		if wait := c.logins.locked(key, now); wait > 0 {
			c.deps.Log.Warn("console: log-in refused, locked out", "user", user, "from", ip, "for", wait)
			p.Error = fmt.Sprintf(T(l, "login.locked"), int((wait+time.Minute-1)/time.Minute))
			c.render(w, r, http.StatusTooManyRequests, "login", p)
			return
		}
	}
	role, err := c.deps.Accounts.CheckPassword(r.Context(), user, r.PostFormValue("password"))
	if errors.Is(err, ErrBadPassword) {
		c.logins.fail("user:"+user, now)
		c.logins.fail("ip:"+ip, now)
		c.deps.Log.Warn("console: failed log-in", "user", user, "from", ip)
		p.Error = T(l, "login.failed")
		c.render(w, r, http.StatusUnauthorized, "login", p)
		return
	}
	if err != nil {
		c.deps.Log.Error("console log-in", "user", user, "err", err)
		c.errorPage(w, r, nil, http.StatusInternalServerError, T(l, "error.internal"))
		return
	}
	c.logins.clear("user:" + user)
	s := newSession(user, role, now)
	if err := c.deps.Sessions.Create(r.Context(), HashID(s.ID), s); err != nil {
		c.deps.Log.Error("console session", "user", user, "err", err)
		c.errorPage(w, r, nil, http.StatusInternalServerError, T(l, "error.internal"))
		return
	}
	c.deps.Log.Info("console: logged in", "user", user, "role", role, "from", ip)
	c.record(r, user, "console.login", "", "")
	setSessionCookie(w, r, s)
	http.Redirect(w, r, p.Next, http.StatusSeeOther)
}

func (c *Console) postLogout(w http.ResponseWriter, r *http.Request, s *Session) {
	if err := c.deps.Sessions.Delete(r.Context(), HashID(s.ID)); err != nil {
		c.deps.Log.Error("console log-out", "user", s.User, "err", err)
	}
	clearSessionCookie(w, r)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

func (c *Console) postLogoutAll(w http.ResponseWriter, r *http.Request, s *Session) {
	if err := c.deps.Sessions.DeleteUser(r.Context(), s.User); err != nil {
		c.deps.Log.Error("console log-out everywhere", "user", s.User, "err", err)
		c.errorPage(w, r, s, http.StatusInternalServerError, T(langOf(r), "error.internal"))
		return
	}
	c.deps.Log.Info("console: logged out everywhere", "user", s.User, "from", clientIP(r))
	clearSessionCookie(w, r)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// safeNext keeps a redirect after log-in on this site.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/"
	}
	return next
}

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
