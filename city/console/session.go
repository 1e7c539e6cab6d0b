package console

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"loa/city/accounts"
)

// Session is one logged-in browser.
type Session struct {
	// ID is what the cookie carries; stores keep only IDHash.
	ID   string
	User string
	Role string
	CSRF string // the token every form and fetch of this session sends back
	// MustChange: the user logged in with a one-time password and must
	// choose their own before anything else.
	MustChange bool
	Created    time.Time
	Expires    time.Time
	// Scope is the user's now (accounts.Scope; empty: the whole city).
	Scope accounts.Scope
}

// ErrNoSession: the cookie names no live session.
var ErrNoSession = errors.New("no such session")

// Sessions keeps the logged-in browsers. The city's implementation stores
// them in SQLite so that they outlive a restart and "log out everywhere"
// reaches every browser; stores keep a hash of the id, never the id.
type Sessions interface {
	// Create stores s under idHash (s.ID is not stored).
	Create(ctx context.Context, idHash string, s Session) error
	Lookup(ctx context.Context, idHash string) (Session, error)
	Delete(ctx context.Context, idHash string) error
	DeleteUser(ctx context.Context, user string) error
}

// sessionCookie names the session cookie. HttpOnly: no script reads it;
// SameSite=Strict: no other site's page sends it; Secure under TLS.
const sessionCookie = "loa_session"

// SessionLifetime: an official logs in once a working day.
const SessionLifetime = 12 * time.Hour

// HashID is the form in which a session id is stored.
func HashID(id string) string {
	h := sha256.Sum256([]byte(id))
	return hex.EncodeToString(h[:])
}

func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// newSession starts a session for user.
func newSession(user, role string, now time.Time) Session {
	return Session{ID: randomToken(), User: user, Role: role, CSRF: randomToken(),
		Created: now, Expires: now.Add(SessionLifetime)}
}

func setSessionCookie(w http.ResponseWriter, r *http.Request, s Session) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: s.ID, Path: "/", Expires: s.Expires,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
}

func clearSessionCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
}

// sameOrigin refuses a request another site made the browser send. A
// browser says where a request comes from in Sec-Fetch-Site and, on every
// POST, in Origin; a request with neither is not a browser's cross-site
// form (and still needs the session's CSRF token).
func sameOrigin(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
	default:
		return false
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	return err == nil && u.Host == r.Host
}

// csrfOK checks the token of a state-changing request against the session's.
func csrfOK(r *http.Request, s Session) bool {
	tok := r.Header.Get("X-CSRF-Token")
	if tok == "" && strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		// An upload's body is streamed, not parsed here: its form carries
		// the token in its action's query.
		tok = r.URL.Query().Get("csrf")
	} else if tok == "" {
		tok = r.PostFormValue("csrf")
	}
	return tok != "" && subtle.ConstantTimeCompare([]byte(tok), []byte(s.CSRF)) == 1
}
