package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"loa/city/notify"
	"loa/internal/smtptest"
)

// hookReceiver is a webhook receiver on loopback that keeps every POST
// whose signature is valid, and counts the others.
type hookReceiver struct {
	srv    *httptest.Server
	secret []byte
	mu     sync.Mutex
	got    map[string][]notify.Message // by path
	bad    int
}

func startHookReceiver(t *testing.T, secret string) *hookReceiver {
	h := &hookReceiver{secret: []byte(secret), got: map[string][]notify.Message{}}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var m notify.Message
		h.mu.Lock()
		defer h.mu.Unlock()
		if !notify.Verify(h.secret, body, r.Header.Get(notify.SignatureHeader)) || json.Unmarshal(body, &m) != nil {
			h.bad++
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		h.got[r.URL.Path] = append(h.got[r.URL.Path], m)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hookReceiver) messages(path string) []notify.Message {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]notify.Message(nil), h.got[path]...)
}

// Notifications against a real city and a real ward agent: the agent
// killed, the technician whose scope holds the ward gets exactly one
// "offline" e-mail (a local SMTP server) and one signed webhook POST (a
// local receiver checking the HMAC); the agent back, one "resolved" each.
// A technician scoped to another ward gets nothing. Heartbeats every 1 s,
// offline after 2 missed, a quiet period of 3 s keep it short
// (production: 15 s, 3, 5 min).
func TestNotifyOfflineAndResolved(t *testing.T) {
	t.Parallel()
	mail := smtptest.Start(t)
	const secret = "e2e-webhook-secret-0123456789"
	hooks := startHookReceiver(t, secret)
	c := newAlertCity(t, "fleet:\n  offline_after: 2\nnotify:\n  quiet: 3s\n  retry_min: 1s\n  retry_max: 2s\n  smtp:\n    addr: "+mail.Addr+
		"\n    from: loa@ubnd-hue.example\n    require_tls: false\n  webhook:\n    secret: "+secret+"\n    allow_private: true\n",
		"phuong-mot:xa-a", "phuong-hai:xa-b")
	c.agentExtra = "fleet:\n  heartbeat: 1s\n"
	cfg := []string{"--config", c.config}
	run(t, nil, "loa-city", append([]string{"user", "add", "ky-thuat", "--role", "technician", "--groups", "xa-a"}, cfg...)...)
	run(t, nil, "loa-city", append([]string{"notify", "set", "ky-thuat", "--email", "ky-thuat@ubnd-hue.example",
		"--webhook", hooks.srv.URL + "/ky-thuat", "--rules", "offline"}, cfg...)...)
	run(t, nil, "loa-city", append([]string{"user", "add", "xa-khac", "--role", "technician", "--wards", "phuong-hai"}, cfg...)...)
	run(t, nil, "loa-city", append([]string{"notify", "set", "xa-khac", "--webhook", hooks.srv.URL + "/xa-khac", "--rules", "all"}, cfg...)...)

	openIncidents := func() int {
		for _, l := range strings.Split(c.adminGet("/metrics"), "\n") {
			if v, ok := strings.CutPrefix(l, "loa_notify_incidents_open "); ok {
				n, _ := strconv.Atoi(strings.TrimSpace(v))
				return n
			}
		}
		return -1
	}
	a := c.startWard("phuong-mot", "null")
	waitUntil(t, "phuong-mot heard", 60*time.Second, func() bool {
		s := wardStates(t, c.adminCtl)["phuong-mot"]
		return s != "" && s != "offline"
	})
	// What was wrong when the city started (both wards never heard) is not
	// announced; phuong-mot's is forgotten after the quiet period,
	// phuong-hai stays offline.
	wantOpen := 0
	if wardStates(t, c.adminCtl)["phuong-hai"] == "offline" {
		wantOpen = 1
	}
	waitUntil(t, "only phuong-hai's incident open", 30*time.Second, func() bool { return openIncidents() == wantOpen })

	a.cmd.Process.Signal(syscall.SIGKILL)
	a.wait()
	killed := time.Now()
	waitUntil(t, "the offline e-mail and webhook", 60*time.Second, func() bool {
		return len(mail.Mail()) >= 1 && len(hooks.messages("/ky-thuat")) >= 1
	})
	t.Logf("told %.1f s after the agent was killed (1 s heartbeats, offline after 2)", time.Since(killed).Seconds())
	m := mail.Mail()[0]
	if m.To[0] != "ky-thuat@ubnd-hue.example" || !strings.Contains(m.Data, "X-Loa-Kind: problem") || !strings.Contains(m.Data, "Mất kết nối") ||
		!strings.Contains(m.Data, "Offline") || !strings.Contains(m.Data, "phuong-mot") {
		t.Errorf("offline e-mail:\n%s", m.Data)
	}
	if h := hooks.messages("/ky-thuat")[0]; h.Kind != notify.KindProblem || h.Rule != notify.RuleOffline || h.Ward != "phuong-mot" {
		t.Errorf("offline webhook %+v", h)
	}

	b := a.restart()
	defer b.stop()
	back := time.Now()
	waitUntil(t, "the resolved e-mail and webhook", 60*time.Second, func() bool {
		return len(mail.Mail()) >= 2 && len(hooks.messages("/ky-thuat")) >= 2
	})
	t.Logf("resolved told %.1f s after the agent restarted (quiet period 3 s)", time.Since(back).Seconds())
	if m := mail.Mail()[1]; !strings.Contains(m.Data, "X-Loa-Kind: resolved") || !strings.Contains(m.Data, "Đã khắc phục") || !strings.Contains(m.Data, "Resolved") {
		t.Errorf("resolved e-mail:\n%s", m.Data)
	}
	if h := hooks.messages("/ky-thuat")[1]; h.Kind != notify.KindResolved || h.Ward != "phuong-mot" {
		t.Errorf("resolved webhook %+v", h)
	}
	// Nothing more comes: every incident closed, the queues empty.
	waitUntil(t, "incidents closed", 30*time.Second, func() bool { return openIncidents() == wantOpen })
	metrics := c.adminGet("/metrics")
	for _, want := range []string{`loa_notify_sent_total{channel="email"} 2`, `loa_notify_sent_total{channel="webhook"} 2`, `loa_notify_channel_up{channel="email"} 1`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if n := len(mail.Mail()); n != 2 {
		t.Errorf("%d e-mails, want 2", n)
	}
	if n := len(hooks.messages("/ky-thuat")); n != 2 {
		t.Errorf("%d webhook POSTs, want 2", n)
	}
	hooks.mu.Lock()
	bad := hooks.bad
	hooks.mu.Unlock()
	if got := hooks.messages("/xa-khac"); len(got) != 0 || bad != 0 {
		t.Errorf("the technician of another ward was told %+v (bad signatures %d)", got, bad)
	}
}

// The notifications page in a real browser on a real city: a technician
// ticks rules (labelled checkboxes) and gives an e-mail address; what
// was saved is what `loa-city notify show` reads from the database.
// Screenshots at 390×844 and 1280×900.
func TestConsoleNotifyPage(t *testing.T) {
	t.Parallel()
	ctx := consoleBrowser(t)
	c := newAlertCity(t, "notify:\n  smtp:\n    addr: 127.0.0.1:25\n    from: loa@ubnd-hue.example\n  webhook:\n    secret: e2e-webhook-secret-0123456789\n", "phuong-mot:xa-a")
	cfg := []string{"--config", c.config}
	out := run(t, nil, "loa-city", append([]string{"user", "add", "ky-thuat", "--role", "technician", "--json"}, cfg...)...)
	var u struct{ Password string }
	json.Unmarshal([]byte(out), &u)
	if u.Password == "" {
		t.Fatalf("user add:\n%s", out)
	}
	consoleLogin(t, ctx, c.proc.url, "ky-thuat", u.Password)
	changeOneTimePassword(t, ctx, u.Password, "kỹ thuật viên trạm phát")
	browse(t, ctx, "open the notifications page", chromedp.Navigate(c.proc.url+"/me/notifications"), chromedp.WaitVisible(chromedp.CSS("#notify-form")))
	if got := pageText(t, ctx, "h1"); got != "Thông báo của tôi" {
		t.Errorf("title %q", got)
	}
	// every control has a label
	if n := eval[int](t, ctx, `Array.from(document.querySelectorAll('#notify-form input:not([type=hidden])')).filter(i => !i.closest('label') && !document.querySelector('label[for="'+i.id+'"]')).length`); n != 0 {
		t.Errorf("%d controls without a label", n)
	}
	if !eval[bool](t, ctx, `document.getElementById('telegram').disabled`) {
		t.Error("telegram is not configured: its field must be disabled")
	}
	screenshots(t, ctx, "notify")
	browse(t, ctx, "tick and save",
		chromedp.Click(chromedp.CSS("#rule-offline")),
		chromedp.Click(chromedp.CSS("#rule-silent")),
		chromedp.SetValue(chromedp.CSS("#email"), "ky-thuat@ubnd-hue.example"),
		chromedp.Submit(chromedp.CSS("#email")),
		chromedp.WaitVisible(chromedp.CSS(".ok")),
	)
	if got := pageText(t, ctx, ".ok"); got != "Đã lưu." {
		t.Errorf("after save: %q", got)
	}
	screenshots(t, ctx, "notify-saved")
	show := run(t, nil, "loa-city", append([]string{"notify", "show", "ky-thuat", "--json"}, cfg...)...)
	if !strings.Contains(show, `"ky-thuat@ubnd-hue.example"`) || !strings.Contains(show, `"offline"`) || !strings.Contains(show, `"silent"`) || strings.Contains(show, `"disk"`) {
		t.Errorf("notify show after the page's save:\n%s", show)
	}
}
