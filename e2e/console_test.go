package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// consoleCity is a real loa-city with a ward and people to log in.
type consoleCity struct {
	*cityProc
	dir  string
	cfg  []string
	key  string
	ward wardCredentials
	// adminToken reads the JSON API to check what the pages did.
	adminToken string
}

func startConsoleCity(t *testing.T) *consoleCity {
	t.Helper()
	dir := t.TempDir()
	c := &consoleCity{dir: dir, cityProc: startCity(t, dir, freePort(t))}
	c.cfg = []string{"--config", c.config}
	c.key = strings.Fields(run(t, nil, "loa-city", append([]string{"key"}, c.cfg...)...))[2]
	c.ward = wardAdd(t, c.cfg, "phuong-1", "--group", "quan-1")
	return c
}

// addUser runs `loa-city user add --json` and returns the one-time
// password it prints.
func (c *consoleCity) addUser(t *testing.T, name, role string) (password, token string) {
	t.Helper()
	out := run(t, nil, "loa-city", append([]string{"user", "add", name, "--role", role, "--json"}, c.cfg...)...)
	var u struct {
		Password string `json:"password"`
		Token    string `json:"token"`
	}
	if err := json.Unmarshal([]byte(out), &u); err != nil || u.Password == "" || u.Token == "" {
		t.Fatalf("user add --json: %v\n%s", err, out)
	}
	return u.Password, u.Token
}

// consoleBrowser starts a headless Chromium for the test, at a phone's
// size. The browser lives as long as the context of its first action, so
// it is started here, without a time limit.
func consoleBrowser(t *testing.T) context.Context {
	t.Helper()
	ctx := chromium(t)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("browser: %v", err)
	}
	return ctx
}

// browse runs actions with a time limit (the browser itself lives as long
// as ctx).
func browse(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 45*time.Second)
	defer cancel()
	if err := chromedp.Do(tctx, actions...); err != nil {
		loc, _ := chromedp.Run(ctx, chromedp.Location())
		body, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
		t.Fatalf("%s: %v (at %s)\n%s", what, err, loc, body)
	}
}

// eval runs JavaScript in the page and returns its value.
func eval[T any](t *testing.T, ctx context.Context, expr string, opts ...chromedp.EvaluateOption) T {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 45*time.Second)
	defer cancel()
	parsed(t, tctx)
	v, err := chromedp.Run(tctx, chromedp.Evaluate[T](expr, opts...))
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	return v
}

// parsed waits until the browser has parsed the whole page. A selector
// that is visible is not enough: the browser shows a page as it parses
// it, and a test that read the page on a loaded machine once had the
// message at its top and not yet the list below it.
func parsed(t *testing.T, ctx context.Context) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.readyState !== "loading"`)); err != nil {
		t.Fatalf("the page still loading: %v", err)
	}
}

func pageText(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 45*time.Second)
	defer cancel()
	parsed(t, tctx)
	s, err := chromedp.Run(tctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("read %s: %v", sel, err)
	}
	return s
}

// screenshots writes the page at a phone's and a desktop's size into the
// test artifacts folder, for a reviewer to look at.
func screenshots(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	for _, size := range [][2]int64{{390, 844}, {1280, 900}} {
		browse(t, ctx, "viewport for "+name, chromedp.EmulateViewport(size[0], size[1]))
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		path := filepath.Join(artifactDir(t), fmt.Sprintf("console-%s-%dx%d.png", name, size[0], size[1]))
		if err := os.WriteFile(path, png, 0o644); err != nil {
			t.Fatal(err)
		}
		// Nothing wider than the screen: no horizontal scrolling on a phone.
		if eval[bool](t, ctx, `document.documentElement.scrollWidth > window.innerWidth + 1`) {
			t.Errorf("%s at %dx%d scrolls sideways", name, size[0], size[1])
		}
	}
	browse(t, ctx, "viewport back", chromedp.EmulateViewport(390, 844))
}

func consoleLogin(t *testing.T, ctx context.Context, base, user, password string) {
	t.Helper()
	browse(t, ctx, "log in as "+user,
		chromedp.Navigate(base+"/login"),
		chromedp.WaitVisible(chromedp.CSS("#user")),
		chromedp.SetValue(chromedp.CSS("#user"), user),
		chromedp.SetValue(chromedp.CSS("#password"), password),
		chromedp.Submit(chromedp.CSS("#password")),
		chromedp.WaitNotPresent(chromedp.CSS("#password")),
	)
}

// changeOneTimePassword answers the page a one-time password leads to.
func changeOneTimePassword(t *testing.T, ctx context.Context, oneTime, chosen string) {
	t.Helper()
	browse(t, ctx, "change the one-time password",
		chromedp.WaitVisible(chromedp.CSS("#old")),
		chromedp.SetValue(chromedp.CSS("#old"), oneTime),
		chromedp.SetValue(chromedp.CSS("#new"), chosen),
		chromedp.SetValue(chromedp.CSS("#again"), chosen),
		chromedp.Submit(chromedp.CSS("#again")),
		chromedp.WaitVisible(chromedp.CSS("p.ok")))
}

// An operator runs the station from a phone: first log-in with the
// one-time password, uploads, text to speech, a weekly program made by
// clicking and refused when it clashes, and a program the ward then plays.
func TestConsoleOperatorDay(t *testing.T) {
	t.Parallel()
	ctx := consoleBrowser(t)
	c := startConsoleCity(t)
	password, _ := c.addUser(t, "lan", "operator")

	// Not logged in: the console asks to, in Vietnamese.
	browse(t, ctx, "open the console", chromedp.Navigate(c.url+"/"), chromedp.WaitVisible(chromedp.CSS("#password")))
	if h := pageText(t, ctx, "h1"); h != "Đăng nhập" {
		t.Fatalf("login page heading %q", h)
	}
	screenshots(t, ctx, "login")

	// The one-time password leads to the password change first.
	consoleLogin(t, ctx, c.url, "lan", password)
	changeOneTimePassword(t, ctx, password, "loa phường một 2026")
	screenshots(t, ctx, "password")
	browse(t, ctx, "overview", chromedp.Navigate(c.url+"/"), chromedp.WaitVisible(chromedp.CSS("ul.wards")))
	if s := pageText(t, ctx, "ul.wards"); !strings.Contains(s, "phuong-1") {
		t.Fatalf("overview: %q", s)
	}
	screenshots(t, ctx, "home")

	// Two files at once; the progress bars move, both end in the library.
	a, b := filepath.Join(c.dir, "ban-tin-sang.wav"), filepath.Join(c.dir, "thong-bao.wav")
	tone(t, a, 880, 40) // 3.5 MB: fourteen pieces of 256 KiB
	tone(t, b, 660, 20)
	browse(t, ctx, "pick two files",
		chromedp.Navigate(c.url+"/library"),
		chromedp.WaitVisible(chromedp.CSS("#upload")),
		chromedp.SetUploadFiles(chromedp.CSS("#file"), []string{a, b}))
	var mu sync.Mutex
	var seen []float64
	browse(t, ctx, "upload", chromedp.Click(chromedp.CSS("#upload button[type=submit]")))
	defer func() {
		if t.Failed() {
			s, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
			t.Logf("upload progress on the page: %q", s)
		}
	}()
	waitUntil(t, "both files in the library", 90*time.Second, func() bool {
		vals, _ := chromedp.Run(ctx, chromedp.Evaluate[[]float64](`Array.from(document.querySelectorAll('#progress progress')).map(p => p.value / p.max)`))
		mu.Lock()
		seen = append(seen, vals...)
		mu.Unlock()
		names, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`Array.from(document.querySelectorAll('ul.media li')).filter(li => li.querySelector('audio')).map(li => li.innerText).join('|')`))
		return strings.Contains(names, "ban-tin-sang.wav") && strings.Contains(names, "thong-bao.wav")
	})
	partial := false
	for _, v := range seen {
		partial = partial || v > 0 && v < 1
	}
	if !partial {
		t.Errorf("the progress bar never showed a part of an upload: %v", seen)
	}
	screenshots(t, ctx, "library")

	// Text to speech: the preview is sound, and the page says what was expanded.
	browse(t, ctx, "speak a bulletin",
		chromedp.Navigate(c.url+"/library/speak"),
		chromedp.WaitVisible(chromedp.CSS("#text")),
		chromedp.SetValue(chromedp.CSS("#text"), "UBND P. Bến Nghé thông báo: lúc 5h30 ngày 14/9 cắt điện."),
		chromedp.SetValue(chromedp.CSS("#voice"), "vi-vn-x-south"),
		chromedp.Click(chromedp.CSS(`button[value=preview]`)),
		chromedp.WaitVisible(chromedp.CSS("#preview")))
	if s := pageText(t, ctx, ".spoken"); !strings.Contains(s, "năm giờ ba mươi") || !strings.Contains(s, "mười bốn tháng chín") || !strings.Contains(s, "Ủy ban nhân dân phường Bến Nghé") {
		t.Fatalf("spoken text: %q", s)
	}
	peak := eval[float64](t, ctx, `(async () => {
		const b = await (await fetch(document.getElementById('preview').src)).arrayBuffer();
		const v = new DataView(b); let peak = 0;
		for (let i = 44; i + 1 < b.byteLength; i += 2) peak = Math.max(peak, Math.abs(v.getInt16(i, true)));
		return peak / 32768; })()`, chromedp.EvalAwaitPromise)
	if peak < 0.05 {
		t.Fatalf("the preview is silent (peak %.3f)", peak)
	}
	screenshots(t, ctx, "speak")

	// A Monday-to-Saturday program at 05:30, by clicking.
	fillProgram(t, ctx, c.url+"/schedule/phuong-1/program", "Bản tin sáng", "05:30", "ban-tin-sang.wav")
	screenshots(t, ctx, "program")
	browse(t, ctx, "save the program", chromedp.Click(chromedp.CSS(`form.card button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS(".week")))
	blocks := eval[int](t, ctx, `Array.from(document.querySelectorAll('.week .block')).filter(b => b.textContent.includes('05:30') && b.textContent.includes('Bản tin sáng')).length`)
	if blocks != 6 {
		t.Fatalf("%d blocks of the program in the week, want 6 (Monday to Saturday)", blocks)
	}
	screenshots(t, ctx, "week")

	// An overlapping program: the error beside the time, nothing saved.
	fillProgram(t, ctx, c.url+"/schedule/phuong-1/program", "Thông báo trùng giờ", "05:30", "thong-bao.wav")
	browse(t, ctx, "save the overlapping program", chromedp.Click(chromedp.CSS(`form.card button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS("#at-err")))
	if s := pageText(t, ctx, "#at-err"); !strings.HasPrefix(s, "Trùng giờ với chương trình khác; không lưu gì.") {
		t.Fatalf("overlap message: %q", s)
	}
	screenshots(t, ctx, "program-error")
	resp := getWithToken(t, c, "/api/v1/programs/ward:phuong-1")
	if strings.Contains(resp, "trung-gio") || !strings.Contains(resp, "ban-tin-sang") {
		t.Fatalf("the refused program was saved: %s", resp)
	}

	// The ward syncs a program made in the console and plays it.
	start, offset := shiftedMinute(40 * time.Second) // on the ward's clock
	onAir := start.Add(-offset)                      // on the system clock
	data := filepath.Join(c.dir, "ward-data")
	addr := freePort(t)
	extra := fmt.Sprintf("ward: phuong-1\ncity:\n  url: %s\n  token: %s\n  public_key: %s\n  poll: 2s\n  max_backoff: 3s\n", c.url, c.ward.Token, c.key)
	startAgent(t, writeAgentConfig(t, c.dir, data, addr, "null", extra), addr, data, nil, clockOffset(offset))
	fillProgram(t, ctx, c.url+"/schedule/phuong-1/program", "Thông báo chiều", start.Format("15:04"), "thong-bao.wav",
		chromedp.Click(chromedp.CSS(`input[name=kind][value=once]`)),
		chromedp.SetValue(chromedp.CSS("#date"), start.Format("2006-01-02")),
		chromedp.Click(chromedp.CSS(`form.card button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(".week")))
	waitUntil(t, "the as-run row of the console's program", time.Until(onAir)+40*time.Second, func() bool {
		for _, r := range asrun(t, data) {
			if r.Program == "thong-bao-chieu" && r.Result == "completed" {
				return true
			}
		}
		return false
	})
}

// fillProgram opens the new-program form and fills its title, time and
// items (Monday to Saturday are ticked by default); more actions follow.
func fillProgram(t *testing.T, ctx context.Context, form, title, at, items string, more ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	browse(t, ctx, "new program "+title, append([]chromedp.Action[chromedp.Void]{
		chromedp.Navigate(form),
		chromedp.WaitVisible(chromedp.CSS("#title")),
		chromedp.SetValue(chromedp.CSS("#title"), title),
		chromedp.SetValue(chromedp.CSS("#at"), at),
		chromedp.SetValue(chromedp.CSS("#items"), items)}, more...)...)
}

// getWithToken reads the JSON API as an admin made for the purpose.
func getWithToken(t *testing.T, c *consoleCity, path string) string {
	t.Helper()
	if c.adminToken == "" {
		_, c.adminToken = c.addUser(t, "kiem-tra", "admin")
	}
	req, _ := http.NewRequest("GET", c.url+path, nil)
	req.Header.Set("Authorization", "Bearer "+c.adminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return b.String()
}

// A page on another site that posts a form to the console: the browser
// does not send the session (SameSite=Strict) and the console refuses it;
// the operator stays logged in and nothing changes. Repeated wrong
// passwords lock the name out.
func TestConsoleRefusesCrossSiteAndLocksOut(t *testing.T) {
	t.Parallel()
	ctx := consoleBrowser(t)
	c := startConsoleCity(t)
	password, _ := c.addUser(t, "admin-1", "admin")
	consoleLogin(t, ctx, c.url, "admin-1", password)
	changeOneTimePassword(t, ctx, password, "một câu đủ dài 2026")
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<!doctype html><form id=f method=post action="%s/users"><input name=action value=add><input name=name value=ke-gian><input name=role value=admin></form><script>document.getElementById('f').submit()</script>`, c.url)
	}))
	defer evil.Close()
	// localhost and 127.0.0.1 are two sites to the browser.
	evilURL := strings.Replace(evil.URL, "127.0.0.1", "localhost", 1)
	browse(t, ctx, "visit the other site", chromedp.Navigate(evilURL), chromedp.WaitVisible(chromedp.CSS("p.error")))
	if s := pageText(t, ctx, "p.error"); !strings.Contains(s, "Yêu cầu không hợp lệ") {
		t.Fatalf("cross-site post answered: %q", s)
	}
	if s := getWithToken(t, c, "/api/v1/users"); strings.Contains(s, "ke-gian") {
		t.Fatalf("the cross-site form added a user: %s", s)
	}
	browse(t, ctx, "still logged in", chromedp.Navigate(c.url+"/users"), chromedp.WaitVisible(chromedp.CSS("#name")))
	screenshots(t, ctx, "users")
	browse(t, ctx, "audit log", chromedp.Navigate(c.url+"/audit"), chromedp.WaitVisible(chromedp.CSS("ul.audit")))
	screenshots(t, ctx, "audit")

	// Five wrong passwords, then even the right one is refused for a while.
	browse(t, ctx, "log out", chromedp.Click(chromedp.CSS(`form[action="/logout"] button`)), chromedp.WaitVisible(chromedp.CSS("#user")))
	for i := 0; i < 5; i++ {
		browse(t, ctx, "wrong password",
			chromedp.SetValue(chromedp.CSS("#user"), "admin-1"),
			chromedp.SetValue(chromedp.CSS("#password"), "sai mật khẩu"),
			chromedp.Submit(chromedp.CSS("#password")),
			chromedp.WaitVisible(chromedp.CSS("p.error")))
	}
	browse(t, ctx, "right password, locked",
		chromedp.SetValue(chromedp.CSS("#user"), "admin-1"),
		chromedp.SetValue(chromedp.CSS("#password"), "một câu đủ dài 2026"),
		chromedp.Submit(chromedp.CSS("#password")),
		chromedp.WaitVisible(chromedp.CSS("p.error")))
	if s := pageText(t, ctx, "p.error"); !strings.Contains(s, "Đăng nhập sai quá nhiều lần") {
		t.Fatalf("after five failures: %q", s)
	}
	screenshots(t, ctx, "locked")
}

// Each page of the console, first load on a throttled 3G link (1.6 Mbps
// down, 750 kbps up, 150 ms round trip): at most 150 KB transferred and
// usable (DOMContentLoaded with its stylesheet) within 2 s.
func TestConsolePagesOn3G(t *testing.T) {
	t.Parallel()
	ctx := consoleBrowser(t)
	c := startConsoleCity(t)
	password, _ := c.addUser(t, "admin-3g", "admin")
	consoleLogin(t, ctx, c.url, "admin-3g", password)
	changeOneTimePassword(t, ctx, password, "mạng 3G chậm lắm")

	measureOn3G(t, ctx, c.url, "console-3g.json", "/", "/library", "/library/speak", "/schedule/phuong-1", "/schedule/phuong-1/program",
		"/schedule/phuong-1/month", "/alerts", "/alerts/new", "/live", "/reports", "/fleet", "/fleet/phuong-1", "/users", "/audit", "/password", "/login?x=1")
}
