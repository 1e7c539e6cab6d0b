package console

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"loa/city/api"
)

// fakeSessions is an in-memory session store (the city's is SQLite; its
// own tests cover it).
type fakeSessions struct {
	mu sync.Mutex
	m  map[string]Session
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

type fakePasswords map[string]string // user -> password; "ky-thuat" is a technician, the others operators

func (f fakePasswords) CheckPassword(_ context.Context, user, pw string) (string, error) {
	if want, ok := f[user]; ok && want == pw {
		if user == "ky-thuat" {
			return "technician", nil
		}
		return "operator", nil
	}
	return "", ErrBadPassword
}

type testConsole struct {
	srv      *httptest.Server
	sessions *fakeSessions
	library  *fakeLibrary
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
		wards: []api.Ward{{ID: "phuong-ben-nghe"}}, files: map[string][]byte{},
		media: map[string]time.Duration{"ban-tin-sang.mp3": 2 * time.Minute, "thong-bao.mp3": time.Minute}}
	c, err := New(Deps{Passwords: fakePasswords{"lan": "mật-khẩu-dài-1", "ky-thuat": "mật-khẩu-dài-2"}, Sessions: tc.sessions, Station: "Phường Bến Nghé",
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
	if code != 200 || !strings.Contains(home, "lan · Vai trò: operator") || !strings.Contains(home, "Phường Bến Nghé") {
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
