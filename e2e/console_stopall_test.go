package e2e

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Dừng tất cả from the console: an alerter ticks the ward, a mute time and
// the confirmation box, and presses the one red control; the emergency on
// air at the real ward ends cancelled, and the page shows the ward's
// signed answer.
func TestConsoleStopAll(t *testing.T) {
	t.Parallel()
	ctx := consoleBrowser(t)
	c := newAlertCity(t, "", "phuong-1")
	tone(t, filepath.Join(c.dir, "coi.wav"), 700, 30)
	run(t, c.adminCtl, "loactl", "media", "upload", filepath.Join(c.dir, "coi.wav"))
	a := c.startWard("phuong-1", "null")
	a.waitLinked()
	pass := c.consoleUser(t, "thu-ky", "alerter")
	base := "http://" + c.addr

	id := c.alertSend("--media", "coi.wav", "--to", "phuong-1", "--priority", "emergency", "--chime=false", "--expires", "10m")
	c.waitWardState(id, "phuong-1", "started", 30*time.Second)

	consoleLogin(t, ctx, base, "thu-ky", pass)
	changeOneTimePassword(t, ctx, pass, "thư ký dừng tất cả 2026")
	browse(t, ctx, "the alerts page", chromedp.Navigate(base+"/alerts"), chromedp.WaitVisible(chromedp.CSS("#stop-all-link")))
	browse(t, ctx, "the stop page", chromedp.Click(chromedp.CSS("#stop-all-link")), chromedp.WaitVisible(chromedp.CSS("#stopall-go")))
	browse(t, ctx, "choose",
		chromedp.Click(chromedp.CSS(`input[name=to][value="phuong-1"]`)),
		chromedp.SetValue(chromedp.CSS("#stopall-mute"), "15m"))
	// Without the confirmation box nothing is sent.
	browse(t, ctx, "stop unconfirmed", chromedp.Click(chromedp.CSS("#stopall-go")), chromedp.WaitVisible(chromedp.CSS(".error")))
	if s := pageText(t, ctx, ".error"); !strings.Contains(s, "xác nhận") {
		t.Fatalf("unconfirmed: %q", s)
	}
	screenshots(t, ctx, "stopall")
	if !eval[bool](t, ctx, `document.querySelector('input[name=to][value="phuong-1"]').checked && document.getElementById('stopall-mute').value === '15m'`) {
		t.Fatal("the form sent back lost what was chosen")
	}
	browse(t, ctx, "confirm and stop",
		chromedp.Click(chromedp.CSS("#stopall-sure")),
		chromedp.Click(chromedp.CSS("#stopall-go")),
		chromedp.WaitVisible(chromedp.CSS("#stopall-sent")))
	c.waitWardState(id, "phuong-1", "cancelled", 30*time.Second)
	waitUntil(t, "the ward's answer on the page", 30*time.Second, func() bool {
		browse(t, ctx, "refresh", chromedp.Navigate(eval[string](t, ctx, `location.href`)), chromedp.WaitVisible(chromedp.CSS("#stopall-sent")))
		return strings.Contains(pageText(t, ctx, `#stopall-sent tr[data-ward="phuong-1"]`), "Đã dừng")
	})
	screenshots(t, ctx, "stopall-sent")
}
