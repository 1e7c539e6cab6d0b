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
