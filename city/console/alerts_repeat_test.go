package console

import (
	"context"
	"encoding/json"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"loa/city/api"
)

// The compose page offers "every N hours until" with labels; the check
// carries them to the service in the request it confirms and says them;
// a wrong value is refused naming the field and checks nothing.
func TestAlertComposeRepeatUntil(t *testing.T) {
	tc, fa := startAlertConsole(t)
	an := browser(t)
	login(t, tc, an, "an", "mật-khẩu-dài-4")
	_, _, page := do(t, an, "GET", tc.srv.URL+"/alerts/new", nil, nil)
	for _, want := range []string{`<label for="every_h">Lặp lại mỗi (giờ)</label>`, `<label for="until">Đến (ngày, giờ)</label>`, `type="datetime-local"`} {
		if !strings.Contains(page, want) {
			t.Fatalf("compose lacks %s\n%s", want, page)
		}
	}
	tok := csrfOf(t, page)
	form := url.Values{"csrf": {tok}, "action": {"preview"}, "kind": {"text"}, "text": {"Bão số 5: không ra khơi."}, "voice": {"vi"}, "speed": {"150"},
		"to": {"phuong-ben-nghe"}, "priority": {"urgent"}, "status": {"Actual"}, "expires": {"30m"}, "repeat": {"1"},
		"every_h": {"2"}, "until": {"2026-12-06T20:00"}}
	code, _, page := do(t, an, "POST", tc.srv.URL+"/alerts/new", form, nil)
	if code != 200 || !strings.Contains(page, "Lặp lại mỗi 2 giờ đến 20:00 06/12/2026") {
		t.Fatalf("check: %d\n%s", code, page)
	}
	_, rest, _ := strings.Cut(page, `name="request" value="`)
	reqJSON, _, _ := strings.Cut(rest, `"`)
	var req api.NewAlert
	if err := json.Unmarshal([]byte(html.UnescapeString(reqJSON)), &req); err != nil || req.EveryH != 2 || req.Until == nil ||
		!req.Until.Equal(time.Date(2026, 12, 6, 13, 0, 0, 0, time.UTC)) {
		t.Fatalf("request carried: %v %+v", err, req)
	}
	for field, vals := range map[string][2]string{"Lặp lại mỗi": {"hai", "2026-12-06T20:00"}, "Đến:": {"2", ""}} {
		form.Set("every_h", vals[0])
		form.Set("until", vals[1])
		code, _, page = do(t, an, "POST", tc.srv.URL+"/alerts/new", form, nil)
		if code != http.StatusBadRequest || !strings.Contains(page, field) {
			t.Fatalf("%s wrong: %d\n%s", field, code, page)
		}
	}
	if len(fa.submitted) != 0 {
		t.Fatal("a check sent something")
	}
}

// The map is on the compose page only when some ward has a location: its
// points are the located wards, and Leaflet is loaded with it; without
// one, no map and no Leaflet.
func TestAlertComposeMap(t *testing.T) {
	tc, _ := startAlertConsole(t)
	an := browser(t)
	login(t, tc, an, "an", "mật-khẩu-dài-4")
	_, _, page := do(t, an, "GET", tc.srv.URL+"/alerts/new", nil, nil)
	if strings.Contains(page, `id="alert-map"`) || strings.Contains(page, "leaflet.js") {
		t.Fatalf("a map without located wards\n%s", page)
	}
	lat, lon := 10.7769, 106.7009
	tc.programs.mu.Lock()
	tc.programs.wards[0].Lat, tc.programs.wards[0].Lon = &lat, &lon
	id := tc.programs.wards[0].ID
	tc.programs.mu.Unlock()
	_, _, page = do(t, an, "GET", tc.srv.URL+"/alerts/new", nil, nil)
	if !strings.Contains(page, `id="alert-map"`) || !strings.Contains(page, "/static/leaflet/leaflet.js") || !strings.Contains(page, "/static/alertmap.js") {
		t.Fatalf("no map with a located ward\n%s", page)
	}
	_, rest, _ := strings.Cut(page, `<script type="application/json" id="alert-points">`)
	body, _, _ := strings.Cut(rest, "</script>")
	var pts []mapPoint
	if err := json.Unmarshal([]byte(body), &pts); err != nil || len(pts) != 1 || pts[0].ID != id || pts[0].Lat != lat {
		t.Fatalf("points %s: %v %+v", body, err, pts)
	}
	if code, _, js := do(t, an, "GET", tc.srv.URL+"/static/alertmap.js", nil, nil); code != 200 || !strings.Contains(js, "alert-points") {
		t.Fatalf("alertmap.js: %d", code)
	}
}

// fakeRepeating is the alerting service with a series repeated.
type fakeRepeating struct {
	*fakeAlerts
	list []api.AlertRepeat
}

func (f fakeRepeating) Repeats(ctx context.Context, limit int) ([]api.AlertRepeat, error) {
	return f.list, nil
}

// The alerts page lists the active series with their next send and a
// link to the latest alert (whose cancel stops the series); ended ones
// are not listed.
func TestAlertsListRepeating(t *testing.T) {
	tc := startConsole(t)
	next := time.Date(2026, 12, 6, 3, 0, 0, 0, time.UTC)
	fa := fakeRepeating{fakeAlerts: &fakeAlerts{reqs: map[string]api.AlertRequest{}}, list: []api.AlertRepeat{
		{ID: "cb-20261206-080000-aaaaaa", Last: "cb-20261206-080000-bbbbbb", Targets: "all", SentBy: "an", EveryH: 2, Until: next.Add(8 * time.Hour), Next: &next, Sent: 2, State: "active"},
		{ID: "cb-20261205-080000-cccccc", Last: "cb-20261205-080000-cccccc", Targets: "all", EveryH: 2, State: "ended"},
	}}
	tc.accounts.users["an"] = &fakeUser{password: "mật-khẩu-dài-4", role: "alerter", changed: true}
	c, err := New(Deps{Accounts: tc.accounts, Sessions: tc.sessions, Station: "Phường Bến Nghé", Library: tc.library, Speaker: tc.speaker,
		Schedules: tc.programs, Alerts: fa, Location: time.FixedZone("ICT", 7*3600), Now: func() time.Time { return tc.now }})
	if err != nil {
		t.Fatal(err)
	}
	tc.srv = httptest.NewServer(c.Handler())
	t.Cleanup(tc.srv.Close)
	an := browser(t)
	login(t, tc, an, "an", "mật-khẩu-dài-4")
	_, _, page := do(t, an, "GET", tc.srv.URL+"/alerts", nil, nil)
	if !strings.Contains(page, "Đang lặp lại") || !strings.Contains(page, `href="/alerts/cb-20261206-080000-bbbbbb"`) ||
		!strings.Contains(page, "mỗi 2 h") || !strings.Contains(page, "lần tới 06/12 10:00") || strings.Contains(page, "cb-20261205-080000-cccccc") {
		t.Fatalf("alerts page:\n%s", page)
	}
	// The latest alert's follow-up page names its series; the first's
	// links to the latest; an alert of no series says nothing of one.
	_, _, page = do(t, an, "GET", tc.srv.URL+"/alerts/cb-20261206-080000-bbbbbb", nil, nil)
	if !strings.Contains(page, `Thuộc chuỗi lặp lại <a href="/alerts/cb-20261206-080000-aaaaaa">`) || !strings.Contains(page, "mỗi 2 giờ") ||
		!strings.Contains(page, "đã phát 2 · lần tới 06/12 10:00 · đang lặp lại") || strings.Contains(page, "bản mới nhất") {
		t.Errorf("the latest alert's page:\n%s", page)
	}
	_, _, page = do(t, an, "GET", tc.srv.URL+"/alerts/cb-20261206-080000-aaaaaa", nil, nil)
	if !strings.Contains(page, `bản mới nhất <a href="/alerts/cb-20261206-080000-bbbbbb">`) {
		t.Errorf("the first alert's page:\n%s", page)
	}
	_, _, page = do(t, an, "GET", tc.srv.URL+"/alerts/cb-20261206-090000-dddddd", nil, nil)
	if strings.Contains(page, `id="series"`) {
		t.Errorf("an alert of no series:\n%s", page)
	}
}
