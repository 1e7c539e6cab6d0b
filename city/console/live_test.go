package console

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"loa/city/api"
)

type fakeStudio struct {
	mu     sync.Mutex
	begins []api.NewLive
	last   *fakeBroadcast
}

func (f *fakeStudio) Begin(_ context.Context, base string, req api.NewLive, by string) (LiveBroadcast, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.begins = append(f.begins, req)
	f.last = &fakeBroadcast{done: make(chan struct{}), ended: make(chan struct{}), base: base}
	return f.last, nil
}

func (f *fakeStudio) broadcast() *fakeBroadcast {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.last
}

type fakeBroadcast struct {
	mu      sync.Mutex
	base    string
	written int
	done    chan struct{}
	ended   chan struct{}
	once    sync.Once
}

func (b *fakeBroadcast) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.written += len(p)
	return len(p), nil
}
func (b *fakeBroadcast) Announce(context.Context) (api.Live, error) {
	return api.Live{ID: "live-1", Wards: 2, Mode: "duck"}, nil
}
func (b *fakeBroadcast) Relays() int           { return 2 }
func (b *fakeBroadcast) Done() <-chan struct{} { return b.done }
func (b *fakeBroadcast) End(context.Context)   { b.once.Do(func() { close(b.ended) }) }

// auditLog collects what the console records.
type auditLog struct {
	mu   sync.Mutex
	rows []string
}

func (a *auditLog) record(_ context.Context, actor, action, target, detail string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.rows = append(a.rows, strings.Join([]string{actor, action, target, detail}, " | "))
}

func (a *auditLog) all() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return strings.Join(a.rows, "\n")
}

func startLiveConsole(t *testing.T, studio *fakeStudio, audit ...*auditLog) *testConsole {
	t.Helper()
	tc := &testConsole{sessions: &fakeSessions{}, now: time.Now()}
	tc.programs = &fakePrograms{loc: time.UTC, now: time.Now, wards: []api.Ward{{ID: "phuong-1", Groups: []string{"quan-1"}}, {ID: "phuong-2"}}}
	tc.accounts = newFakeAccounts()
	tc.sessions.accounts = tc.accounts
	d := Deps{Accounts: tc.accounts, Sessions: tc.sessions, Schedules: tc.programs, Live: studio}
	if len(audit) > 0 {
		d.Record = audit[0].record
	}
	c, err := New(d)
	if err != nil {
		t.Fatal(err)
	}
	tc.srv = httptest.NewServer(c.Handler())
	t.Cleanup(tc.srv.Close)
	return tc
}

// wsClient is the browser's end of the socket, as little as the tests need.
type wsClient struct {
	nc net.Conn
	br *bufio.Reader
}

// dialLive opens /live/socket with c's cookies and origin; it returns the
// HTTP status and, on 101, the socket.
func dialLive(t *testing.T, tc *testConsole, c *http.Client, origin string) (int, *wsClient) {
	t.Helper()
	u, _ := url.Parse(tc.srv.URL)
	nc, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	var cookies []string
	for _, ck := range c.Jar.Cookies(u) {
		cookies = append(cookies, ck.Name+"="+ck.Value)
	}
	fmt.Fprintf(nc, "GET /live/socket HTTP/1.1\r\nHost: %s\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nCookie: %s\r\n", u.Host, strings.Join(cookies, "; "))
	if origin != "" {
		fmt.Fprintf(nc, "Origin: %s\r\n", origin)
	}
	fmt.Fprintf(nc, "\r\n")
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		nc.Close()
		return resp.StatusCode, nil
	}
	if resp.Header.Get("Sec-WebSocket-Accept") != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Fatalf("accept: %q", resp.Header.Get("Sec-WebSocket-Accept"))
	}
	t.Cleanup(func() { nc.Close() })
	return resp.StatusCode, &wsClient{nc: nc, br: br}
}

func (w *wsClient) send(op byte, p []byte) error {
	h := []byte{0x80 | op}
	switch {
	case len(p) < 126:
		h = append(h, 0x80|byte(len(p)))
	default:
		h = append(h, 0x80|126, byte(len(p)>>8), byte(len(p)))
	}
	var mask [4]byte
	rand.Read(mask[:])
	h = append(h, mask[:]...)
	m := make([]byte, len(p))
	for i := range p {
		m[i] = p[i] ^ mask[i%4]
	}
	_, err := w.nc.Write(append(h, m...))
	return err
}

// next reads the city's next text message as a liveEvent.
func (w *wsClient) next(t *testing.T) (liveEvent, bool) {
	t.Helper()
	w.nc.SetReadDeadline(time.Now().Add(15 * time.Second))
	for {
		var h [2]byte
		if _, err := io.ReadFull(w.br, h[:]); err != nil {
			return liveEvent{}, false
		}
		n := int(h[1] & 0x7f)
		if n == 126 {
			var b [2]byte
			io.ReadFull(w.br, b[:])
			n = int(binary.BigEndian.Uint16(b[:]))
		}
		p := make([]byte, n)
		if _, err := io.ReadFull(w.br, p); err != nil {
			return liveEvent{}, false
		}
		switch h[0] & 0x0f {
		case 8:
			return liveEvent{}, false
		case 1:
			var e liveEvent
			if err := json.Unmarshal(p, &e); err != nil {
				t.Fatalf("event %q: %v", p, err)
			}
			return e, true
		}
	}
}

func loggedIn(t *testing.T, tc *testConsole, user, pw string) (*http.Client, string) {
	t.Helper()
	c := browser(t)
	if code, _, _ := login(t, tc, c, user, pw); code != http.StatusSeeOther {
		t.Fatalf("log in %s: %d", user, code)
	}
	code, _, page := do(t, c, "GET", tc.srv.URL+"/live", nil, nil)
	if code != 200 {
		t.Fatalf("/live: %d", code)
	}
	return c, page
}

func dataCSRF(t *testing.T, page string) string {
	_, rest, ok := strings.Cut(page, `data-csrf="`)
	tok, _, _ := strings.Cut(rest, `"`)
	if !ok || tok == "" {
		t.Fatalf("no data-csrf on /live")
	}
	return tok
}

// The socket is refused to another site's page (with the official's
// cookie), to a request without Origin, to a role that may not broadcast,
// and to nobody logged in; none of them opens a broadcast.
func TestLiveSocketRefusals(t *testing.T) {
	studio := &fakeStudio{}
	tc := startLiveConsole(t, studio)
	op, page := loggedIn(t, tc, "lan", "mật-khẩu-dài-1")
	if !strings.Contains(page, `value="phuong-1"`) || !strings.Contains(page, `value="group:quan-1"`) || !strings.Contains(page, "Bắt đầu phát") {
		t.Fatalf("/live does not offer the wards and groups:\n%s", page)
	}
	if code, _ := dialLive(t, tc, op, "http://evil.example"); code != http.StatusForbidden {
		t.Errorf("cross-site: %d, want 403", code)
	}
	if code, _ := dialLive(t, tc, op, ""); code != http.StatusForbidden {
		t.Errorf("no Origin: %d, want 403", code)
	}
	tech, page := loggedIn(t, tc, "ky-thuat", "mật-khẩu-dài-2")
	if strings.Contains(page, "live-start") || !strings.Contains(page, "không được phát trực tiếp") {
		t.Error("/live offers a technician to broadcast")
	}
	if code, _ := dialLive(t, tc, tech, tc.srv.URL); code != http.StatusForbidden {
		t.Errorf("technician: %d, want 403", code)
	}
	if code, _ := dialLive(t, tc, browser(t), tc.srv.URL); code != http.StatusSeeOther {
		t.Errorf("nobody logged in: %d, want 303 to the log-in", code)
	}
	if len(studio.begins) != 0 {
		t.Fatalf("a refused socket opened a broadcast: %v", studio.begins)
	}
}

// A bad first message gets an error naming the field and opens nothing.
func TestLiveSocketBadStart(t *testing.T) {
	studio := &fakeStudio{}
	tc := startLiveConsole(t, studio)
	c, page := loggedIn(t, tc, "lan", "mật-khẩu-dài-1")
	csrf := dataCSRF(t, page)
	for _, tt := range []struct {
		start liveStart
		want  string
	}{
		{liveStart{CSRF: "sai", To: "phuong-1", Mode: "duck", DuckDB: -15}, "Yêu cầu không hợp lệ"},
		{liveStart{CSRF: csrf, To: "", Mode: "duck", DuckDB: -15}, "Trường to"},
		{liveStart{CSRF: csrf, To: "Phường 1!", Mode: "duck", DuckDB: -15}, "Trường to"},
		{liveStart{CSRF: csrf, To: "phuong-1", Mode: "to", DuckDB: -15}, "Trường mode"},
		{liveStart{CSRF: csrf, To: "phuong-1", Mode: "duck", DuckDB: 3}, "Trường duck_db"},
		{liveStart{CSRF: csrf, To: "phuong-1", Mode: "duck", DuckDB: -90}, "Trường duck_db"},
	} {
		code, ws := dialLive(t, tc, c, tc.srv.URL)
		if code != http.StatusSwitchingProtocols {
			t.Fatalf("dial: %d", code)
		}
		b, _ := json.Marshal(tt.start)
		ws.send(1, b)
		e, ok := ws.next(t)
		if !ok || e.State != "error" || !strings.Contains(e.Error, tt.want) {
			t.Errorf("%+v: %+v, want an error with %q", tt.start, e, tt.want)
		}
	}
	if len(studio.begins) != 0 {
		t.Fatalf("a bad start opened a broadcast: %v", studio.begins)
	}
}

// A phone that stops sending without closing (out of coverage) ends the
// broadcast after liveIdle; "stop" from the page ends it at once.
func TestLiveSocketEndsWhenTheBrowserGoesQuiet(t *testing.T) {
	studio := &fakeStudio{}
	audit := &auditLog{}
	tc := startLiveConsole(t, studio, audit)
	c, page := loggedIn(t, tc, "lan", "mật-khẩu-dài-1")
	csrf := dataCSRF(t, page)
	start := func() (*wsClient, *fakeBroadcast) {
		_, ws := dialLive(t, tc, c, tc.srv.URL)
		b, _ := json.Marshal(liveStart{CSRF: csrf, To: "phuong-1,group:quan-1", Mode: "duck", DuckDB: -12})
		ws.send(1, b)
		for {
			e, ok := ws.next(t)
			if !ok || e.State == "error" {
				t.Fatalf("start: %+v", e)
			}
			if e.State == "live" {
				if e.Relays != 2 || e.ID != "live-1" {
					t.Fatalf("live event %+v", e)
				}
				return ws, studio.broadcast()
			}
		}
	}
	ws, b := start()
	if got := studio.begins[0]; got.To != "phuong-1,group:quan-1" || got.DuckDB != -12 || got.Mode != "duck" {
		t.Errorf("begin %+v", got)
	}
	if !strings.HasPrefix(b.base, "http://127.0.0.1:") {
		t.Errorf("the mount's base %q", b.base)
	}
	ws.send(2, make([]byte, 500))
	quiet := time.Now()
	select {
	case <-b.ended:
	case <-time.After(liveIdle + 5*time.Second):
		t.Fatal("a quiet browser did not end the broadcast")
	}
	if d := time.Since(quiet); d < liveIdle-100*time.Millisecond {
		t.Errorf("ended after %s of quiet, before liveIdle (%s)", d, liveIdle)
	}
	b.mu.Lock()
	if b.written != 500 {
		t.Errorf("transcoder got %d bytes, want 500", b.written)
	}
	b.mu.Unlock()

	ws, b = start()
	ws.send(1, []byte("stop"))
	select {
	case <-b.ended:
	case <-time.After(5 * time.Second):
		t.Fatal("stop did not end the broadcast")
	}
	for {
		e, ok := ws.next(t)
		if !ok {
			t.Fatal("no ended event")
		}
		if e.State == "ended" {
			break
		}
	}
	// Who spoke to whom, and how each broadcast ended, in the audit log.
	for _, want := range []string{"lan | console live start | live-1 | to=", "lan | console live stop | live-1 | connection lost", "lan | console live stop | live-1 | stopped"} {
		if !strings.Contains(audit.all(), want) {
			t.Errorf("audit log without %q:\n%s", want, audit.all())
		}
	}
}

// A user scoped to group quan-1 is offered only its wards on /live, and a
// start to a ward outside the scope is refused on the socket, with no
// broadcast opened.
func TestLiveSocketKeepsToTheScope(t *testing.T) {
	studio := &fakeStudio{}
	tc := startLiveConsole(t, studio)
	tc.accounts.SetScope(context.Background(), "lan", nil, []string{"quan-1"}, "admin")
	c, page := loggedIn(t, tc, "lan", "mật-khẩu-dài-1")
	if !strings.Contains(page, `value="phuong-1"`) || !strings.Contains(page, `value="group:quan-1"`) {
		t.Fatalf("/live does not offer lan her ward and group:\n%s", page)
	}
	if strings.Contains(page, `value="phuong-2"`) {
		t.Errorf("/live offers lan a ward outside her scope:\n%s", page)
	}
	csrf := dataCSRF(t, page)
	for _, to := range []string{"phuong-2", "phuong-1,phuong-2", "all"} {
		code, ws := dialLive(t, tc, c, tc.srv.URL)
		if code != http.StatusSwitchingProtocols {
			t.Fatalf("dial: %d", code)
		}
		b, _ := json.Marshal(liveStart{CSRF: csrf, To: to, Mode: "duck", DuckDB: -15})
		ws.send(1, b)
		e, ok := ws.next(t)
		if !ok || e.State != "error" || !strings.Contains(e.Error, "ngoài phạm vi") {
			t.Errorf("to %q: %+v, want the scope's refusal", to, e)
		}
	}
	if len(studio.begins) != 0 {
		t.Fatalf("a start outside the scope opened a broadcast: %v", studio.begins)
	}
}
