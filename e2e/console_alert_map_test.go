package e2e

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// The compose page's map, in a real browser against a real city: the
// located wards are points, clicking one ticks its ward's checkbox (and
// again unticks it), a ward without a location is a checkbox alone. The
// city is in training mode: every page, the library too, says so.
func TestConsoleAlertMapAndTrainingBanner(t *testing.T) {
	t.Parallel()
	ctx := consoleBrowser(t)
	c := newAlertCity(t, "alert_rules:\n  training: true\n", "phuong-1:quan-1", "phuong-2:quan-1", "phuong-3:quan-2")
	cfg := []string{"--config", c.config}
	run(t, nil, "loa-city", append([]string{"ward", "set", "phuong-1", "--name", "Phường Vĩnh Ninh", "--lat", "16.4637", "--lon", "107.5909"}, cfg...)...)
	run(t, nil, "loa-city", append([]string{"ward", "set", "phuong-2", "--name", "Phường Phú Hội", "--lat", "16.4700", "--lon", "107.6000"}, cfg...)...)
	pass := c.consoleUser(t, "an", "alerter")
	base := "http://" + c.addr
	consoleLogin(t, ctx, base, "an", pass)
	changeOneTimePassword(t, ctx, pass, "an soạn cảnh báo 2026")

	browse(t, ctx, "compose with a map",
		chromedp.Navigate(base+"/alerts/new"),
		chromedp.WaitVisible(chromedp.CSS(`#alert-map[data-points="2"]`)))
	ticked := func(w string) bool {
		return eval[bool](t, ctx, `document.querySelector('input[name=to][value="`+w+`"]').checked`)
	}
	if ticked("phuong-2") {
		t.Fatal("phuong-2 ticked before any click")
	}
	browse(t, ctx, "click phuong-2 on the map", chromedp.Click(chromedp.CSS(`#alert-map path[data-ward="phuong-2"]`)))
	if !ticked("phuong-2") || ticked("phuong-1") {
		t.Fatalf("after a click on phuong-2's point: phuong-2 %v, phuong-1 %v", ticked("phuong-2"), ticked("phuong-1"))
	}
	if eval[string](t, ctx, `document.querySelector('#alert-map path[data-ward="phuong-2"]').getAttribute('data-ticked')`) != "1" {
		t.Fatal("the ticked ward's point is not filled")
	}
	// The list ticks the map too, and a ward without a location is there.
	browse(t, ctx, "tick phuong-1 in the list", chromedp.Click(chromedp.CSS(`input[name=to][value="phuong-1"]`)))
	if eval[string](t, ctx, `document.querySelector('#alert-map path[data-ward="phuong-1"]').getAttribute('data-ticked')`) != "1" {
		t.Fatal("a ward ticked in the list is not filled on the map")
	}
	if eval[int](t, ctx, `document.querySelectorAll('input[name=to][value="phuong-3"]').length`) != 1 {
		t.Fatal("the ward without a location is not offered")
	}
	browse(t, ctx, "repeat fields",
		chromedp.SetValue(chromedp.CSS("#every_h"), "2"),
		chromedp.SetValue(chromedp.CSS("#text"), "Bão số 5: tàu thuyền không ra khơi."))
	if s := pageText(t, ctx, ".training-banner"); !strings.Contains(s, "Chế độ tập huấn") {
		t.Fatalf("banner on compose: %q", s)
	}
	screenshots(t, ctx, "alert-compose-map")
	browse(t, ctx, "untick phuong-2 on the map", chromedp.Click(chromedp.CSS(`#alert-map path[data-ward="phuong-2"]`)))
	if ticked("phuong-2") {
		t.Fatal("a second click did not untick phuong-2")
	}

	// A page that has nothing to do with alerts.
	browse(t, ctx, "library", chromedp.Navigate(base+"/library"), chromedp.WaitVisible(chromedp.CSS(".training-banner")))
	if s := pageText(t, ctx, ".training-banner"); !strings.Contains(s, "Chế độ tập huấn — cảnh báo mặc định là thử nghiệm") {
		t.Fatalf("banner on the library: %q", s)
	}
	screenshots(t, ctx, "training-banner-library")
}
