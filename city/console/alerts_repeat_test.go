package console

import (
	"encoding/json"
	"html"
	"net/http"
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
