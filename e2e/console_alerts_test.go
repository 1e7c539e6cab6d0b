package e2e

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// consoleUser adds a user to the alert city and returns their one-time
// password.
func (c *alertCity) consoleUser(t *testing.T, name, role string) string {
	t.Helper()
	out := run(t, nil, "loa-city", "user", "add", name, "--role", role, "--json", "--config", c.config)
	var u struct {
		Password string `json:"password"`
	}
	if err := json.Unmarshal([]byte(out), &u); err != nil || u.Password == "" {
		t.Fatalf("user add --json: %v\n%s", err, out)
	}
	return u.Password
}

// An alert composed in the console by one person waits until a second
// approves it in the console; the follow-up page then shows the wards'
// receipts as they come, without being reloaded.
func TestConsoleAlertComposeApproveFollow(t *testing.T) {
	t.Parallel()
	ctx := consoleBrowser(t)
	// The city's default two-person rule (stated, so the helper keeps it).
	c := newAlertCity(t, "alert_rules:\n  training: false\n", "phuong-1:quan-1", "phuong-2:quan-1")
	tone(t, filepath.Join(c.dir, "coi.wav"), 700, 2)
	run(t, c.adminCtl, "loactl", "media", "upload", filepath.Join(c.dir, "coi.wav"))
	a1, a2 := c.startWard("phuong-1", "null"), c.startWard("phuong-2", "null")
	a1.waitLinked()
	a2.waitLinked()
	passA := c.consoleUser(t, "an", "alerter")
	passB := c.consoleUser(t, "binh", "approver")
	base := "http://" + c.addr

	// A composes an emergency to the group: text, previewed as it will
	// play, with every ward named.
	consoleLogin(t, ctx, base, "an", passA)
	changeOneTimePassword(t, ctx, passA, "an soạn cảnh báo 2026")
	browse(t, ctx, "compose",
		chromedp.Navigate(base+"/alerts/new"),
		chromedp.WaitVisible(chromedp.CSS("#text")),
		chromedp.SetValue(chromedp.CSS("#text"), "Bão số 5 đổ bộ lúc 14h. Người dân vào nhà, tránh xa bờ sông."),
		chromedp.Click(chromedp.CSS(`input[name=to][value="group:quan-1"]`)),
		chromedp.Click(chromedp.CSS(`input[name=priority][value=emergency]`)),
		chromedp.SetValue(chromedp.CSS("#headline"), "Bão số 5"),
		chromedp.SetValue(chromedp.CSS("#repeat"), "2"),
		chromedp.SetValue(chromedp.CSS("#severity"), "Extreme"))
	screenshots(t, ctx, "alert-compose")
	browse(t, ctx, "check", chromedp.Click(chromedp.CSS(`button[value=preview]`)), chromedp.WaitVisible(chromedp.CSS("#play")))
	if s := pageText(t, ctx, ".confirm"); !strings.Contains(s, "phuong-1") || !strings.Contains(s, "phuong-2") || !strings.Contains(s, "mười bốn giờ") ||
		!strings.Contains(s, "cần người thứ hai") {
		t.Fatalf("confirmation: %q", s)
	}
	peak := eval[float64](t, ctx, `(async () => {
		const b = await (await fetch(document.getElementById('play').src)).arrayBuffer();
		const v = new DataView(b); let peak = 0;
		for (let i = 44; i + 1 < b.byteLength; i += 2) peak = Math.max(peak, Math.abs(v.getInt16(i, true)));
		return peak / 32768; })()`, chromedp.EvalAwaitPromise)
	if peak < 0.05 {
		t.Fatalf("the confirmation's audio is silent (peak %.3f)", peak)
	}
	screenshots(t, ctx, "alert-confirm")
	browse(t, ctx, "send for approval", chromedp.Click(chromedp.CSS(`button[value=send]`)), chromedp.WaitVisible(chromedp.CSS("#req-state")))
	reqURL := eval[string](t, ctx, `location.pathname`)
	if !strings.HasPrefix(reqURL, "/alerts/yc-") || !strings.Contains(pageText(t, ctx, "main"), "Đang chờ người duyệt") {
		t.Fatalf("after send: %s %q", reqURL, pageText(t, ctx, "main"))
	}
	if list := c.alertList(); len(list) != 0 {
		t.Fatalf("sent before approval: %+v", list)
	}
	browse(t, ctx, "log out", chromedp.Click(chromedp.CSS(`form[action="/logout"] button`)), chromedp.WaitVisible(chromedp.CSS("#password")))

	// B hears it and approves it.
	consoleLogin(t, ctx, base, "binh", passB)
	changeOneTimePassword(t, ctx, passB, "binh duyệt cảnh báo 2026")
	browse(t, ctx, "the request", chromedp.Navigate(base+reqURL), chromedp.WaitVisible(chromedp.CSS("#approve")))
	if s := pageText(t, ctx, "main"); !strings.Contains(s, "an") || !strings.Contains(s, "group:quan-1") {
		t.Fatalf("approver's view: %q", s)
	}
	screenshots(t, ctx, "alert-approval")
	browse(t, ctx, "approve", chromedp.Click(chromedp.CSS("#approve")), chromedp.WaitVisible(chromedp.CSS("#receipts")))
	// The page is not reloaded from here on: a marker set now must still
	// be there when every ward has finished.
	eval[bool](t, ctx, `window.followMarker = true`)
	first := pageText(t, ctx, "#receipts tbody")
	waitUntil(t, "both wards finished on the page", 90*time.Second, func() bool {
		n, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('#receipts tr.st-finished').length`))
		return n == 2
	})
	if !eval[bool](t, ctx, `window.followMarker === true`) {
		t.Fatal("the page was reloaded: the receipts did not come live")
	}
	if strings.Count(first, "Đã phát xong") == 2 {
		t.Fatalf("both wards had finished before the page was shown; nothing was followed live: %q", first)
	}
	if s := pageText(t, ctx, "#receipts tbody"); strings.Count(s, "Đã phát xong") != 2 {
		t.Fatalf("receipts: %q", s)
	}
	screenshots(t, ctx, "alert-follow")
	if list := c.alertList(); len(list) != 1 || list[0].SentBy != "an" || list[0].Priority != "emergency" {
		t.Fatalf("alerts: %+v", list)
	}
}
