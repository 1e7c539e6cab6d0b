package console

import (
	"bufio"
	"context"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"loa/city/api"
	"loa/internal/testwait"
	"loa/schedule"
)

// fakeFleet is the board as the fleet pages see it.
type fakeFleet struct {
	mu       sync.Mutex
	wards    []api.Ward
	changed  chan struct{}
	watchers int
	tiles    string
	calls    int // Wards calls
}

func (f *fakeFleet) Wards(context.Context) ([]api.Ward, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	return append([]api.Ward(nil), f.wards...), nil
}

func (f *fakeFleet) Ward(_ context.Context, id string) (api.Ward, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, w := range f.wards {
		if w.ID == id {
			return w, nil
		}
	}
	return api.Ward{}, ErrNoWard
}

func (f *fakeFleet) Heartbeats(string) []api.WardBeat {
	return []api.WardBeat{{At: time.Date(2026, 12, 6, 7, 59, 50, 0, time.UTC), State: "silent!", LevelDBFS: -150, SilentS: 12, DiskFree: 2e9,
		NowPlaying: &api.NowPlaying{Kind: "program", ID: "ban-tin", Title: "Bản tin sáng", Item: strings.Repeat("ab", 23) + "…"}}}
}

func (f *fakeFleet) AsRunDay(_ context.Context, ward string, d schedule.Date) (api.AsRunDay, error) {
	return api.AsRunDay{Ward: ward}, nil
}

func (f *fakeFleet) Watch() (<-chan struct{}, func()) {
	f.mu.Lock()
	f.watchers++
	f.mu.Unlock()
	return f.changed, func() { f.mu.Lock(); f.watchers--; f.mu.Unlock() }
}

func (f *fakeFleet) MapTiles() (string, string) { return f.tiles, "© OpenStreetMap" }

func (f *fakeFleet) set(id string, h *api.WardHealth) {
	f.mu.Lock()
	for i := range f.wards {
		if f.wards[i].ID == id {
			f.wards[i].Health = h
		}
	}
	f.mu.Unlock()
}

func startFleetConsole(t *testing.T) (*testConsole, *fakeFleet) {
	t.Helper()
	tc := &testConsole{sessions: &fakeSessions{}, now: time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)}
	ict := time.FixedZone("ICT", 7*3600)
	now := func() time.Time { tc.mu.Lock(); defer tc.mu.Unlock(); return tc.now }
	tc.programs = &fakePrograms{loc: ict, now: now, files: map[string][]byte{}}
	tc.accounts = newFakeAccounts()
	tc.sessions.accounts = tc.accounts
	seen := tc.now.Add(-12 * time.Second)
	lat, lon := 16.46, 107.59
	lvl := -14.0
	f := &fakeFleet{changed: make(chan struct{}, 1), tiles: "https://{s}.tile.openstreetmap.org/{z}/{x}/{y}.png", wards: []api.Ward{
		{ID: "phuong-tot", DisplayName: "Phường Tốt", Groups: []string{"xa-a"}, Lat: &lat, Lon: &lon, Health: &api.WardHealth{State: "on air", Problems: []api.WardProblem{},
			LastHeartbeat: &seen, LevelDBFS: &lvl, Version: "1.4.0",
			NowPlaying: &api.NowPlaying{Kind: "live", ID: "live-1", Title: "Thông báo UBND"}}},
		{ID: "phuong-im", DisplayName: "Phường Im", Groups: []string{"xa-b"}, Health: &api.WardHealth{State: "silent!",
			Problems:      []api.WardProblem{{State: "silent!", Detail: "silent on air for 12s"}, {State: "disk!", Detail: "disk full or unreadable: 0 bytes free"}},
			LastHeartbeat: &seen, LevelDBFS: &lvl, NowPlaying: &api.NowPlaying{Kind: "program", ID: "ban-tin", Title: "Bản tin sáng", Item: strings.Repeat("ab", 23) + "…"}}},
		{ID: "phuong-moi", Groups: []string{"xa-b"}},
	}}
	c, err := New(Deps{Accounts: tc.accounts, Sessions: tc.sessions, Schedules: tc.programs, Fleet: f, Location: ict, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	tc.srv = httptest.NewServer(c.Handler())
	t.Cleanup(tc.srv.Close)
	return tc, f
}

// The fleet page without JavaScript: every ward, problems first, states
// in Vietnamese (live as live), titles not hashes, the group filter; the
// map's tile host allowed on this page only.
func TestFleetPage(t *testing.T) {
	tc, _ := startFleetConsole(t)
	b := browser(t)
	login(t, tc, b, "ky-thuat", "mật-khẩu-dài-2")
	code, hdr, page := do(t, b, "GET", tc.srv.URL+"/fleet", nil, nil)
	if code != 200 {
		t.Fatalf("%d\n%s", code, page)
	}
	im, moi, tot := strings.Index(page, `data-ward="phuong-im"`), strings.Index(page, `data-ward="phuong-moi"`), strings.Index(page, `data-ward="phuong-tot"`)
	if !(moi > 0 && moi < im && im < tot) {
		t.Errorf("order: offline %d, silent %d, live %d; want problems first, worst first", moi, im, tot)
	}
	for _, want := range []string{"Đang phát trực tiếp", "Trực tiếp: Thông báo UBND", "Im lặng bất thường", "Mất kết nối", "silent on air for 12s (+1)",
		"12 giây trước", "-14.0 dBFS", "1.4.0", "Bản tin sáng", `id="fleet-map"`, "/static/leaflet/leaflet.js",
		`id="fleet-points">[{"id":"phuong-tot","name":"Phường Tốt","lat":16.46,"lon":107.59`} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(page, "ababab") {
		t.Error("a hash is shown")
	}
	if csp := hdr.Get("Content-Security-Policy"); !strings.Contains(csp, "img-src 'self' data: https://*.tile.openstreetmap.org;") {
		t.Errorf("CSP %q", csp)
	}
	_, hdr, page = do(t, b, "GET", tc.srv.URL+"/fleet?group=xa-b", nil, nil)
	if strings.Contains(page, `data-ward="phuong-tot"`) || !strings.Contains(page, `data-ward="phuong-im"`) || strings.Contains(page, "leaflet.js") {
		t.Errorf("group xa-b (no located ward, no map script):\n%s", page)
	}
	if strings.Contains(hdr.Get("Content-Security-Policy"), "openstreetmap") {
		t.Error("tile host allowed without a map")
	}
	_, hdr, _ = do(t, b, "GET", tc.srv.URL+"/", nil, nil)
	if strings.Contains(hdr.Get("Content-Security-Policy"), "openstreetmap") {
		t.Error("tile host allowed on another page")
	}
	if code, _, page := do(t, b, "GET", tc.srv.URL+"/fleet/phuong-im", nil, nil); code != 200 || !strings.Contains(page, "Sắp đầy đĩa") ||
		!strings.Contains(page, "kiểm tra tệp phát") || !strings.Contains(page, "12 s") || strings.Contains(page, "ababab") ||
		!strings.Contains(page, "đã đồng bộ") || regexp.MustCompile(`[ >]fleet\.[a-z]`).MatchString(page) {
		t.Errorf("ward page %d:\n%s", code, page)
	}
	if code, _, page := do(t, b, "GET", tc.srv.URL+"/fleet/khong-co", nil, nil); code != 404 || !strings.Contains(page, "Không có trạm khong-co") {
		t.Errorf("unknown ward %d", code)
	}
	if code, hdr, _ := do(t, browser(t), "GET", tc.srv.URL+"/fleet", nil, nil); code != http.StatusSeeOther || !strings.HasPrefix(hdr.Get("Location"), "/login") {
		t.Errorf("without a session: %d %v", code, hdr)
	}
}

// The live feed: a board event at once, another when the board changes;
// the viewer's watch ends when it goes.
func TestFleetEvents(t *testing.T) {
	tc, f := startFleetConsole(t)
	b := browser(t)
	login(t, tc, b, "ky-thuat", "mật-khẩu-dài-2")
	ctx, cancel := context.WithCancel(t.Context())
	req, _ := http.NewRequestWithContext(ctx, "GET", tc.srv.URL+"/fleet/events?group=xa-b", nil)
	resp, err := b.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	events := make(chan string, 10)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				events <- d
			}
		}
		close(events)
	}()
	next := func() string {
		select {
		case e := <-events:
			return e
		case <-time.After(10 * time.Second):
			t.Fatal("no event in 10 s")
		}
		return ""
	}
	if e := next(); !strings.Contains(e, `"id":"phuong-im"`) || strings.Contains(e, "phuong-tot") || !strings.Contains(e, `"slug":"silent"`) {
		t.Errorf("first event %s", e)
	}
	now := tc.now
	f.set("phuong-im", &api.WardHealth{State: "offline", Problems: []api.WardProblem{{State: "offline", Detail: "no heartbeat for 53s"}}, LastHeartbeat: &now})
	f.changed <- struct{}{}
	if e := next(); !strings.Contains(e, `"slug":"offline"`) || !strings.Contains(e, "Mất kết nối") {
		t.Errorf("after the change %s", e)
	}
	cancel()
	resp.Body.Close()
	for range events {
	}
	testwait.For(t, "the viewer's watch to end", 10*time.Second, func() bool { f.mu.Lock(); defer f.mu.Unlock(); return f.watchers == 0 })
}

// A technician scoped to one ward sees only that ward on the fleet page,
// and another ward's page is refused.
func TestFleetKeepsToTheScope(t *testing.T) {
	tc, _ := startFleetConsole(t)
	tc.accounts.SetScope(context.Background(), "ky-thuat", []string{"phuong-tot"}, nil, "admin")
	b := browser(t)
	login(t, tc, b, "ky-thuat", "mật-khẩu-dài-2")
	code, _, page := do(t, b, "GET", tc.srv.URL+"/fleet", nil, nil)
	if code != 200 || !strings.Contains(page, `data-ward="phuong-tot"`) || strings.Contains(page, `data-ward="phuong-im"`) || strings.Contains(page, `data-ward="phuong-moi"`) {
		t.Fatalf("scoped fleet page: %d\n%s", code, page)
	}
	if code, _, page := do(t, b, "GET", tc.srv.URL+"/fleet/phuong-im", nil, nil); code != http.StatusForbidden || !strings.Contains(page, "ngoài phạm vi") {
		t.Errorf("another ward's page: %d", code)
	}
	if code, _, _ := do(t, b, "GET", tc.srv.URL+"/fleet/phuong-tot", nil, nil); code != 200 {
		t.Errorf("her ward's page: %d", code)
	}
}
