package console

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"loa/city/accounts"
	"loa/city/api"
)

// fakeSessions is an in-memory session store (the city's is SQLite; its
// own tests cover it).
type fakeSessions struct {
	mu       sync.Mutex
	m        map[string]Session
	accounts *fakeAccounts
}

func (f *fakeSessions) Create(_ context.Context, h string, s Session) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.m == nil {
		f.m = map[string]Session{}
	}
	s.ID = ""
	f.m[h] = s
	return nil
}

func (f *fakeSessions) Lookup(_ context.Context, h string) (Session, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.m[h]
	if !ok {
		return Session{}, ErrNoSession
	}
	s.MustChange = f.accounts.mustChange(s.User)
	s.Scope = f.accounts.scopeOf(s.User)
	return s, nil
}

func (f *fakeSessions) Delete(_ context.Context, h string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.m, h)
	return nil
}

func (f *fakeSessions) DeleteUser(_ context.Context, user string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for h, s := range f.m {
		if s.User == user {
			delete(f.m, h)
		}
	}
	return nil
}

func (f *fakeSessions) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.m)
}

// fakeAccounts stands in for the city's accounts service (whose own tests
// use the real SQLite file and argon2id).
type fakeAccounts struct {
	mu    sync.Mutex
	users map[string]*fakeUser
	audit []AuditEntry
	next  int
	// scopes are the users' (scope_test.go).
	scopes map[string]accounts.Scope
}

type fakeUser struct {
	password, role    string
	disabled, changed bool
	created           time.Time
}

func newFakeAccounts() *fakeAccounts {
	return &fakeAccounts{users: map[string]*fakeUser{
		"lan":      {password: "mật-khẩu-dài-1", role: "operator", changed: true},
		"ky-thuat": {password: "mật-khẩu-dài-2", role: "technician", changed: true},
		"admin":    {password: "mật-khẩu-dài-3", role: "admin", changed: true},
	}}
}

func (f *fakeAccounts) CheckPassword(_ context.Context, user, pw string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if u, ok := f.users[user]; ok && u.password == pw && !u.disabled {
		return u.role, nil
	}
	return "", ErrBadPassword
}

func (f *fakeAccounts) mustChange(user string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	u, ok := f.users[user]
	return ok && !u.changed
}

func (f *fakeAccounts) Users(context.Context) ([]UserInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []UserInfo
	for _, name := range []string{"admin", "ky-thuat", "lan", "moi"} {
		if u, ok := f.users[name]; ok {
			out = append(out, UserInfo{Name: name, Role: u.role, Disabled: u.disabled, Password: true, CreatedAt: u.created, Scope: f.scopes[name]})
		}
	}
	return out, nil
}

func (f *fakeAccounts) record(by, action, target string) {
	f.next++
	f.audit = append([]AuditEntry{{ID: int64(f.next), Actor: by, Action: action, Target: target}}, f.audit...)
}

func (f *fakeAccounts) AddUser(_ context.Context, name, role, by string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.users[name]; ok || name == "" {
		return "", errors.New("tên đã dùng / name taken")
	}
	f.users[name] = &fakeUser{password: "abcd-efgh-jkmn-pqrs", role: role}
	f.record(by, "user.add", name)
	return "abcd-efgh-jkmn-pqrs", nil
}

func (f *fakeAccounts) ResetPassword(_ context.Context, name, by string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	u, ok := f.users[name]
	if !ok {
		return "", errors.New("no such user")
	}
	u.password, u.changed = "tuvw-xyz2-3456-789a", false
	f.record(by, "user.reset", name)
	return u.password, nil
}

func (f *fakeAccounts) SetDisabled(_ context.Context, name string, disabled bool, by string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	u, ok := f.users[name]
	if !ok {
		return errors.New("no such user")
	}
	u.disabled = disabled
	f.record(by, "user.disable", name)
	return nil
}

func (f *fakeAccounts) ChangePassword(_ context.Context, name, old, new string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	u := f.users[name]
	if u == nil || u.password != old {
		return ErrBadPassword
	}
	if len(new) < 10 {
		return errors.New("mật khẩu quá ngắn / password too short")
	}
	u.password, u.changed = new, true
	return nil
}

func (f *fakeAccounts) Audit(_ context.Context, af AuditFilter) ([]AuditEntry, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []AuditEntry
	for _, e := range f.audit {
		if (af.Actor == "" || e.Actor == af.Actor) && strings.HasPrefix(e.Action, af.Action) {
			out = append(out, e)
		}
	}
	return out, nil
}

type testConsole struct {
	srv      *httptest.Server
	sessions *fakeSessions
	library  *fakeLibrary
	accounts *fakeAccounts
	speaker  *fakeSpeaker
	programs *fakePrograms
	now      time.Time
	mu       sync.Mutex
}

func startConsole(t *testing.T) *testConsole {
	t.Helper()
	tc := &testConsole{sessions: &fakeSessions{}, now: time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)}
	tc.library = &fakeLibrary{dir: t.TempDir()}
	tc.speaker = &fakeSpeaker{}
	ict := time.FixedZone("ICT", 7*3600)
	tc.programs = &fakePrograms{loc: ict, now: func() time.Time { tc.mu.Lock(); defer tc.mu.Unlock(); return tc.now },
		wards: []api.Ward{{ID: "phuong-ben-nghe"}, {ID: "phuong-2", DisplayName: "Phường Đa Kao"}}, files: map[string][]byte{},
		media: map[string]time.Duration{"ban-tin-sang.mp3": 2 * time.Minute, "thong-bao.mp3": time.Minute}}
	tc.accounts = newFakeAccounts()
	tc.sessions.accounts = tc.accounts
	c, err := New(Deps{Accounts: tc.accounts, Sessions: tc.sessions, Station: "Phường Bến Nghé",
		Library: tc.library, Speaker: tc.speaker, Schedules: tc.programs, Location: ict,
		Now: func() time.Time { tc.mu.Lock(); defer tc.mu.Unlock(); return tc.now }})
	if err != nil {
		t.Fatal(err)
	}
	tc.srv = httptest.NewServer(c.Handler())
	t.Cleanup(tc.srv.Close)
	return tc
}

func (tc *testConsole) advance(d time.Duration) { tc.mu.Lock(); tc.now = tc.now.Add(d); tc.mu.Unlock() }

// browser is a client that keeps cookies and does not follow redirects.
func browser(t *testing.T) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func do(t *testing.T, c *http.Client, method, u string, form url.Values, hdr map[string]string) (int, http.Header, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, u, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func login(t *testing.T, tc *testConsole, c *http.Client, user, pw string) (int, http.Header, string) {
	return do(t, c, "POST", tc.srv.URL+"/login", url.Values{"user": {user}, "password": {pw}, "next": {"/"}}, nil)
}

func csrfOf(t *testing.T, page string) string {
	t.Helper()
	_, rest, ok := strings.Cut(page, `name="csrf" value="`)
	tok, _, _ := strings.Cut(rest, `"`)
	if !ok || tok == "" {
		t.Fatalf("no CSRF token in the page:\n%s", page)
	}
	return tok
}

func TestLoginSessionLogout(t *testing.T) {
	tc := startConsole(t)
	b := browser(t)
	// Not logged in: the console asks to log in, in Vietnamese first.
	code, hdr, _ := do(t, b, "GET", tc.srv.URL+"/", nil, nil)
	if code != http.StatusSeeOther || hdr.Get("Location") != "/login?next=/" {
		t.Fatalf("GET / without a session: %d %v", code, hdr)
	}
	code, hdr, body := do(t, b, "GET", tc.srv.URL+"/login", nil, nil)
	if code != 200 || !strings.Contains(body, `<html lang="vi">`) || !strings.Contains(body, "Đăng nhập") ||
		!strings.Contains(body, `<label for="password">Mật khẩu</label>`) || hdr.Get("X-Frame-Options") != "DENY" {
		t.Fatalf("login page: %d %v\n%s", code, hdr, body)
	}
	// A wrong password: the page says so and no session is made.
	code, _, body = login(t, tc, b, "lan", "sai")
	if code != http.StatusUnauthorized || !strings.Contains(body, "Sai tên đăng nhập hoặc mật khẩu.") || tc.sessions.count() != 0 {
		t.Fatalf("wrong password: %d, %d sessions\n%s", code, tc.sessions.count(), body)
	}
	code, hdr, _ = login(t, tc, b, "lan", "mật-khẩu-dài-1")
	if code != http.StatusSeeOther || hdr.Get("Location") != "/" {
		t.Fatalf("log in: %d %v", code, hdr)
	}
	ck := hdr.Get("Set-Cookie")
	if !strings.Contains(ck, "loa_session=") || !strings.Contains(ck, "HttpOnly") || !strings.Contains(ck, "SameSite=Strict") {
		t.Fatalf("session cookie: %s", ck)
	}
	// The store keeps a hash, never the cookie's value.
	id := strings.TrimPrefix(strings.Split(ck, ";")[0], "loa_session=")
	if _, err := tc.sessions.Lookup(context.Background(), id); err == nil {
		t.Fatal("the session store holds the cookie's value itself")
	}
	code, _, home := do(t, b, "GET", tc.srv.URL+"/", nil, nil)
	if code != 200 || !strings.Contains(home, "Đăng xuất (lan)") || !strings.Contains(home, `<strong>phuong-ben-nghe</strong> <span class="badge warn">Chưa có tín hiệu</span>`) ||
		!strings.Contains(home, `<strong>Phường Đa Kao</strong> <span class="hint">phuong-2</span>`) || !strings.Contains(home, "Phường Bến Nghé") {
		t.Fatalf("home: %d\n%s", code, home)
	}
	// Log out without the CSRF token, or from another site: refused.
	if code, _, body := do(t, b, "POST", tc.srv.URL+"/logout", url.Values{}, nil); code != http.StatusForbidden || !strings.Contains(body, "Yêu cầu không hợp lệ") {
		t.Fatalf("log out without a token: %d\n%s", code, body)
	}
	tok := csrfOf(t, home)
	if code, _, _ := do(t, b, "POST", tc.srv.URL+"/logout", url.Values{"csrf": {tok}}, map[string]string{"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"}); code != http.StatusForbidden {
		t.Fatalf("cross-site log out: %d", code)
	}
	if tc.sessions.count() != 1 {
		t.Fatal("a refused request ended the session")
	}
	code, hdr, _ = do(t, b, "POST", tc.srv.URL+"/logout", url.Values{"csrf": {tok}}, map[string]string{"Origin": tc.srv.URL})
	if code != http.StatusSeeOther || hdr.Get("Location") != "/login" || tc.sessions.count() != 0 {
		t.Fatalf("log out: %d %v, %d sessions", code, hdr, tc.sessions.count())
	}
	if code, _, _ := do(t, b, "GET", tc.srv.URL+"/", nil, nil); code != http.StatusSeeOther {
		t.Fatalf("after log out: %d", code)
	}
}

func TestLogoutEverywhereAndExpiry(t *testing.T) {
	tc := startConsole(t)
	phone, desk := browser(t), browser(t)
	login(t, tc, phone, "lan", "mật-khẩu-dài-1")
	login(t, tc, desk, "lan", "mật-khẩu-dài-1")
	_, _, home := do(t, phone, "GET", tc.srv.URL+"/", nil, nil)
	if code, _, _ := do(t, phone, "POST", tc.srv.URL+"/logout/all", url.Values{"csrf": {csrfOf(t, home)}}, nil); code != http.StatusSeeOther {
		t.Fatalf("log out everywhere: %d", code)
	}
	if code, _, _ := do(t, desk, "GET", tc.srv.URL+"/", nil, nil); code != http.StatusSeeOther {
		t.Fatalf("the other browser is still logged in: %d", code)
	}
	login(t, tc, desk, "lan", "mật-khẩu-dài-1")
	tc.advance(SessionLifetime)
	if code, _, _ := do(t, desk, "GET", tc.srv.URL+"/", nil, nil); code != http.StatusSeeOther {
		t.Fatalf("an expired session still works: %d", code)
	}
}

func TestLoginLockout(t *testing.T) {
	tc := startConsole(t)
	b := browser(t)
	for i := 0; i < maxFailures; i++ {
		if code, _, _ := login(t, tc, b, "lan", "đoán"); code != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d", i, code)
		}
	}
	// Locked: even the right password is refused, with the wait named.
	code, _, body := login(t, tc, b, "lan", "mật-khẩu-dài-1")
	if code != http.StatusTooManyRequests || !strings.Contains(body, "Thử lại sau 15 phút.") || tc.sessions.count() != 0 {
		t.Fatalf("locked out: %d %d\n%s", code, tc.sessions.count(), body)
	}
	tc.advance(lockout)
	if code, _, _ := login(t, tc, b, "lan", "mật-khẩu-dài-1"); code != http.StatusSeeOther {
		t.Fatalf("after the lockout: %d", code)
	}
}

func TestLoginRefusesCrossSiteAndOpenRedirect(t *testing.T) {
	tc := startConsole(t)
	b := browser(t)
	code, _, _ := do(t, b, "POST", tc.srv.URL+"/login", url.Values{"user": {"lan"}, "password": {"mật-khẩu-dài-1"}},
		map[string]string{"Origin": "http://evil.example"})
	if code != http.StatusForbidden || tc.sessions.count() != 0 {
		t.Fatalf("a log-in form on another site: %d", code)
	}
	for _, next := range []string{"//evil.example/", "https://evil.example/", `/\evil.example`} {
		_, hdr, _ := do(t, b, "POST", tc.srv.URL+"/login", url.Values{"user": {"lan"}, "password": {"mật-khẩu-dài-1"}, "next": {next}}, nil)
		if hdr.Get("Location") != "/" {
			t.Errorf("next=%s sent the browser to %q", next, hdr.Get("Location"))
		}
	}
}

func TestEnglishSwitch(t *testing.T) {
	tc := startConsole(t)
	b := browser(t)
	code, hdr, _ := do(t, b, "GET", tc.srv.URL+"/lang?lang=en&back=/login", nil, nil)
	if code != http.StatusSeeOther || hdr.Get("Location") != "/login" {
		t.Fatalf("switch: %d %v", code, hdr)
	}
	_, _, body := do(t, b, "GET", tc.srv.URL+"/login", nil, nil)
	if !strings.Contains(body, `<html lang="en">`) || !strings.Contains(body, "<label for=\"password\">Password</label>") || !strings.Contains(body, "Tiếng Việt") {
		t.Fatalf("English login page:\n%s", body)
	}
	if _, hdr, _ := do(t, b, "GET", tc.srv.URL+"/lang?lang=vi&back=//evil.example", nil, nil); hdr.Get("Location") != "/" {
		t.Fatalf("open redirect through the switch: %v", hdr)
	}
}

// Every key a template uses has both languages.
func TestEveryTemplateKeyTranslated(t *testing.T) {
	entries, _ := templateFS.ReadDir("templates")
	for _, e := range entries {
		b, _ := templateFS.ReadFile("templates/" + e.Name())
		for _, part := range strings.Split(string(b), `{{t "`)[1:] {
			key, _, _ := strings.Cut(part, `"`)
			m, ok := messages[key]
			if !ok || m.vi == "" || m.en == "" {
				t.Errorf("%s: key %q has no Vietnamese and English text", e.Name(), key)
			}
		}
	}
	for _, n := range nav {
		if _, ok := messages[n.Key]; !ok {
			t.Errorf("nav key %q untranslated", n.Key)
		}
	}
}
