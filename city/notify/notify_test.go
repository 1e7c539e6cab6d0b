package notify

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"loa/city/accounts"
	"loa/internal/smtptest"
	"loa/internal/testcert"
	"loa/internal/testwait"
)

type fakeSource struct {
	mu     sync.Mutex
	wards  []Ward
	alerts []OpenAlert
}

func (f *fakeSource) Watch() (<-chan struct{}, func()) { return make(chan struct{}), func() {} }
func (f *fakeSource) Wards() []Ward {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Ward(nil), f.wards...)
}
func (f *fakeSource) OpenAlerts() []OpenAlert {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]OpenAlert(nil), f.alerts...)
}

func (f *fakeSource) set(id string, rules ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.wards {
		if f.wards[i].ID == id {
			f.wards[i].Problems = nil
			for _, r := range rules {
				f.wards[i].Problems = append(f.wards[i].Problems, Problem{Rule: r})
			}
		}
	}
}

type fakeSubs []Subscription

func (f fakeSubs) Subscriptions(context.Context) ([]Subscription, error) { return f, nil }

// recorder is a channel that keeps what it was asked to send.
type recorder struct {
	name string
	mu   sync.Mutex
	got  []Message
	to   []string
	fail int // fail this many attempts first
}

func (r *recorder) Name() string { return r.name }
func (r *recorder) Send(_ context.Context, to string, m Message) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail > 0 {
		r.fail--
		return errors.New("refused")
	}
	r.got = append(r.got, m)
	r.to = append(r.to, to)
	return nil
}
func (r *recorder) messages() []Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Message(nil), r.got...)
}

type clock struct{ t time.Time }

func (c *clock) now() time.Time      { return c.t }
func (c *clock) add(d time.Duration) { c.t = c.t.Add(d) }
func kinds(ms []Message) (out []string) {
	for _, m := range ms {
		out = append(out, m.Kind+" "+m.Rule+" "+m.Ward+m.Alert+" "+m.User)
	}
	return out
}

func setup(t *testing.T, subs fakeSubs, wards ...Ward) (*Service, *fakeSource, *clock, *recorder) {
	t.Helper()
	src := &fakeSource{wards: wards}
	clk := &clock{t: time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)}
	rec := &recorder{name: "webhook"}
	out := NewOutbox(OutboxConfig{}, nil, rec)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); out.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	s := New(src, subs, out, Config{Quiet: 5 * time.Minute, AlertLate: 10 * time.Minute}, clk.now, nil)
	s.Evaluate(context.Background()) // learns the start
	return s, src, clk, rec
}

func waitCount(t *testing.T, rec *recorder, n int) []Message {
	t.Helper()
	testwait.For(t, "messages delivered", 5*time.Second, func() bool { return len(rec.messages()) >= n })
	ms := rec.messages()
	if len(ms) != n {
		t.Fatalf("got %d messages, want %d: %q", len(ms), n, kinds(ms))
	}
	return ms
}

func TestFlappingWardSendsOneMessageThenOneResolve(t *testing.T) {
	ctx := context.Background()
	sub := Subscription{User: "lan", Webhook: "http://hook", Rules: []string{RuleOffline}}
	s, src, clk, rec := setup(t, fakeSubs{sub}, Ward{ID: "phu-hoi", Name: "Phú Hội"})

	src.set("phu-hoi", RuleOffline)
	s.Evaluate(ctx)
	for range 6 { // flaps every 30 s for 3 minutes: inside the quiet period
		clk.add(30 * time.Second)
		src.set("phu-hoi")
		s.Evaluate(ctx)
		clk.add(30 * time.Second)
		src.set("phu-hoi", RuleOffline)
		s.Evaluate(ctx)
	}
	ms := waitCount(t, rec, 1)
	if ms[0].Kind != KindProblem || ms[0].Ward != "phu-hoi" || !strings.Contains(ms[0].Subject, "Mất kết nối") ||
		!strings.Contains(ms[0].Text, "Offline") || !strings.Contains(ms[0].Subject, "Phú Hội") {
		t.Fatalf("first message: %+v", ms[0])
	}
	// clear, but not yet for the quiet period: no resolve
	src.set("phu-hoi")
	s.Evaluate(ctx)
	clk.add(4 * time.Minute)
	s.Evaluate(ctx)
	if s.Open() != 1 {
		t.Fatalf("incident closed before the quiet period ended")
	}
	clk.add(time.Minute)
	s.Evaluate(ctx)
	s.Evaluate(ctx)
	ms = waitCount(t, rec, 2)
	if ms[1].Kind != KindResolved || ms[1].Rule != RuleOffline || !strings.Contains(ms[1].Subject, "Đã khắc phục") || !strings.Contains(ms[1].Subject, "Resolved") {
		t.Fatalf("resolve: %+v", ms[1])
	}
	// a new incident after the resolve is a new message
	src.set("phu-hoi", RuleOffline)
	s.Evaluate(ctx)
	waitCount(t, rec, 3)
}

func TestScopeAndRules(t *testing.T) {
	ctx := context.Background()
	subs := fakeSubs{
		{User: "admin", Webhook: "http://a", Rules: Rules},
		{User: "hoa", Webhook: "http://h", Rules: Rules, Scope: accounts.Scope{Groups: []string{"bac"}}},
		{User: "minh", Webhook: "http://m", Rules: Rules, Scope: accounts.Scope{Wards: []string{"an-cuu"}}},
		{User: "tam", Webhook: "http://t", Rules: []string{RuleDisk}}, // not offline
	}
	s, src, clk, rec := setup(t, subs,
		Ward{ID: "phu-hoi", Groups: []string{"bac"}}, Ward{ID: "an-cuu", Groups: []string{"nam"}})
	src.set("phu-hoi", RuleOffline)
	s.Evaluate(ctx)
	ms := waitCount(t, rec, 2)
	got := strings.Join(kinds(ms), ";")
	if !strings.Contains(got, "problem offline phu-hoi admin") || !strings.Contains(got, "problem offline phu-hoi hoa") {
		t.Fatalf("messages %q: want admin and hoa only", got)
	}
	// an alert to group nam not finished in 10 minutes: admin and minh
	src.mu.Lock()
	src.alerts = []OpenAlert{{ID: "a-1", Target: "group:nam", Title: "Bão số 9", Since: clk.t}}
	src.mu.Unlock()
	clk.add(9 * time.Minute)
	s.Evaluate(ctx)
	clk.add(time.Minute)
	s.Evaluate(ctx)
	ms = waitCount(t, rec, 4)
	got = strings.Join(kinds(ms[2:]), ";")
	if !strings.Contains(got, "problem alert_late a-1 admin") || !strings.Contains(got, "problem alert_late a-1 minh") {
		t.Fatalf("alert messages %q: want admin and minh", got)
	}
}

func TestProblemsAtStartAreNotAnnounced(t *testing.T) {
	ctx := context.Background()
	src := &fakeSource{wards: []Ward{{ID: "x", Problems: []Problem{{Rule: RuleOffline}}}}}
	clk := &clock{t: time.Unix(1e9, 0)}
	rec := &recorder{name: "webhook"}
	out := NewOutbox(OutboxConfig{}, nil, rec)
	s := New(src, fakeSubs{{User: "u", Webhook: "h", Rules: Rules}}, out, Config{Quiet: time.Minute}, clk.now, nil)
	s.Evaluate(ctx)
	src.set("x")
	s.Evaluate(ctx)
	clk.add(time.Minute)
	s.Evaluate(ctx)
	if n := len(out.lanes["webhook"].queue); n != 0 || s.Open() != 0 {
		t.Fatalf("queued %d, open %d: a problem open at start was announced or resolved", n, s.Open())
	}
}

func TestOutboxRetriesAndShowsFailingChannel(t *testing.T) {
	bad := &recorder{name: "email", fail: 2}
	good := &recorder{name: "webhook"}
	out := NewOutbox(OutboxConfig{Attempts: 3}, nil, bad, good)
	release := make(chan struct{})
	var waits []time.Duration
	var mu sync.Mutex
	out.Sleep = func(ctx context.Context, d time.Duration) error {
		mu.Lock()
		waits = append(waits, d)
		mu.Unlock()
		<-release
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); out.Run(ctx) }()
	defer func() { cancel(); <-done }()
	out.Send(Subscription{User: "u", Email: "u@x", Webhook: "http://h"}, Message{Kind: KindProblem})
	// the failing e-mail waits in its backoff; the webhook is not held up
	testwait.For(t, "webhook delivered", 5*time.Second, func() bool { return len(good.messages()) == 1 })
	testwait.For(t, "email failing", 5*time.Second, func() bool { return !out.Status()["email"].Up })
	close(release)
	testwait.For(t, "email delivered on the third attempt", 5*time.Second, func() bool { return len(bad.messages()) == 1 })
	st := out.Status()["email"]
	if st.Failed != 2 || st.Sent != 1 || !st.Up {
		t.Fatalf("email status %+v", st)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(waits) != 2 || waits[1] < waits[0]/2 {
		t.Fatalf("waits %v", waits)
	}
}

func TestChannels(t *testing.T) {
	ctx := context.Background()
	m := compose(KindProblem, &incident{ward: Ward{ID: "phu-hoi", Name: "Phú Hội"}, rule: RuleSilent, since: time.Unix(1e9, 0)}, "lan", time.Unix(1e9, 0))

	t.Run("smtp", func(t *testing.T) {
		srv := smtptest.Start(t)
		c := &SMTP{Addr: srv.Addr, From: "loa@ubnd.example"}
		if err := c.Send(ctx, "lan@example.vn", m); err != nil {
			t.Fatal(err)
		}
		mail := srv.Mail()
		if len(mail) != 1 || mail[0].To[0] != "lan@example.vn" || !strings.Contains(mail[0].Data, "Im lặng bất thường") ||
			!strings.Contains(mail[0].Data, "Subject: =?utf-8?q?") {
			t.Fatalf("mail %+v", mail)
		}
		c.RequireTLS = true
		if err := c.Send(ctx, "lan@example.vn", m); err == nil || !strings.Contains(err.Error(), "STARTTLS") {
			t.Fatalf("relay without STARTTLS under require_tls: %v", err)
		}
	})
	t.Run("smtp starttls", func(t *testing.T) {
		dir := t.TempDir()
		certFile, keyFile := testcert.SelfSigned(t, dir, "smtp")
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			t.Fatal(err)
		}
		srv := smtptest.StartTLS(t, &tls.Config{Certificates: []tls.Certificate{cert}})
		pool := x509.NewCertPool()
		pool.AddCert(cert.Leaf)
		c := &SMTP{Addr: srv.Addr, From: "loa@ubnd.example", RequireTLS: true, TLS: &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}}
		if err := c.Send(ctx, "lan@example.vn", m); err != nil {
			t.Fatal(err)
		}
		if mail := srv.Mail(); len(mail) != 1 || !mail[0].TLS {
			t.Fatalf("mail %+v: want one, over TLS", mail)
		}
		// a certificate the city does not trust: refused, nothing sent
		c.TLS = &tls.Config{ServerName: "127.0.0.1"}
		if err := c.Send(ctx, "lan@example.vn", m); err == nil || !strings.Contains(err.Error(), "STARTTLS") || len(srv.Mail()) != 1 {
			t.Fatalf("untrusted certificate: %v", err)
		}
	})
	t.Run("telegram", func(t *testing.T) {
		var got map[string]any
		var path string
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			path = r.URL.Path
			json.NewDecoder(r.Body).Decode(&got)
			if got["chat_id"] == "bad" {
				w.WriteHeader(400)
				io.WriteString(w, `{"ok":false,"description":"chat not found"}`)
				return
			}
			io.WriteString(w, `{"ok":true}`)
		}))
		defer srv.Close()
		c := &Telegram{BaseURL: srv.URL, Token: "123:abc"}
		if err := c.Send(ctx, "-1001", m); err != nil {
			t.Fatal(err)
		}
		if path != "/bot123:abc/sendMessage" || got["chat_id"] != "-1001" || !strings.Contains(got["text"].(string), "Silent on air") {
			t.Fatalf("path %s body %v", path, got)
		}
		if err := c.Send(ctx, "bad", m); err == nil || !strings.Contains(err.Error(), "chat not found") {
			t.Fatalf("bad chat: %v", err)
		}
	})
	t.Run("webhook", func(t *testing.T) {
		secret := []byte("s3cret")
		var ok bool
		var body Message
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			data, _ := io.ReadAll(r.Body)
			ok = Verify(secret, data, r.Header.Get(SignatureHeader))
			json.Unmarshal(data, &body)
		}))
		defer srv.Close()
		// the receiver is on loopback: refused unless allowed
		if err := (&Webhook{Secret: secret}).Send(ctx, srv.URL, m); !errors.Is(err, ErrPrivateAddress) || ok {
			t.Fatalf("loopback webhook without allow_private: %v", err)
		}
		if err := (&Webhook{Secret: secret, AllowPrivate: true}).Send(ctx, srv.URL, m); err != nil {
			t.Fatal(err)
		}
		if !ok || body.Ward != "phu-hoi" || body.Rule != RuleSilent || body.Kind != KindProblem {
			t.Fatalf("signature ok %v, body %+v", ok, body)
		}
		if err := (&Webhook{Secret: secret, AllowPrivate: true}).Send(ctx, srv.URL+"/x\x00", m); err == nil {
			t.Fatal("bad URL accepted")
		}
	})
}
