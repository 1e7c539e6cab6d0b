package alertrx

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"loa/alert"
	"loa/internal/testwait"
	"loa/player"
	"loa/signing"
	"loa/sqlite"
)

// recPlayer records what the receiver asks of the player.
type recPlayer struct {
	mu        sync.Mutex
	played    []player.Alert
	cancelled []string
}

func (p *recPlayer) PlayAlert(a player.Alert) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.played = append(p.played, a)
}

func (p *recPlayer) CancelAlert(id string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cancelled = append(p.cancelled, id)
}

func (p *recPlayer) ids() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, a := range p.played {
		out = append(out, a.ID)
	}
	return out
}

// shelf is a media store: keys present, and what a fetch brings.
type shelf struct {
	mu      sync.Mutex
	have    map[string]bool
	fetched []string
	fail    error
}

func (s *shelf) HasMedia(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.have[key]
}

func (s *shelf) FetchMedia(ctx context.Context, m alert.Media) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return s.fail
	}
	s.fetched = append(s.fetched, m.SHA256)
	s.have[m.SHA256] = true
	return nil
}

const (
	chimeKey   = "1111111111111111111111111111111111111111111111111111111111111111"
	contentKey = "2222222222222222222222222222222222222222222222222222222222222222"
)

type rxEnv struct {
	t        *testing.T
	priv     ed25519.PrivateKey
	db       *sqlite.AgentDB
	path     string
	pl       *recPlayer
	media    *shelf
	rejected *prometheus.CounterVec
	rx       *Receiver
	now      time.Time
}

func newRxEnv(t *testing.T) *rxEnv {
	t.Helper()
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	e := &rxEnv{t: t, priv: priv, path: filepath.Join(t.TempDir(), "loa.db"), now: time.Date(2026, 9, 1, 8, 0, 0, 0, time.UTC),
		media: &shelf{have: map[string]bool{chimeKey: true, contentKey: true}}}
	e.open(pub)
	return e
}

func (e *rxEnv) open(pub ed25519.PublicKey) {
	e.t.Helper()
	if e.db != nil {
		e.db.Close()
	}
	db, err := sqlite.OpenAgent(context.Background(), e.path)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { db.Close() })
	e.db, e.pl = db, &recPlayer{}
	e.rejected = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "loa_alerts_rejected_total"}, []string{"reason"})
	e.rx, err = New(Config{Ward: "phuong-1", PublicKeys: []ed25519.PublicKey{pub}, DB: db, Media: e.media, Player: e.pl,
		Now: func() time.Time { return e.now }, Rejected: e.rejected})
	if err != nil {
		e.t.Fatal(err)
	}
}

func (e *rxEnv) alert(id string) *alert.Alert {
	return &alert.Alert{ID: id, MsgType: alert.MsgAlert, Status: alert.StatusActual, Sender: "u@city", Issued: e.now.Add(-time.Second),
		Expires: e.now.Add(30 * time.Minute), Priority: alert.Emergency, Targets: alert.Targets{Wards: []string{"phuong-1"}},
		Recipients: []string{"phuong-1"}, Repeat: 2, GapMS: 5000, Volume: 80,
		Chime:   &alert.Media{SHA256: chimeKey, Size: 10},
		Content: alert.Content{Media: &alert.Media{SHA256: contentKey, Size: 10}}, Headline: "Bão số 5"}
}

func (e *rxEnv) sign(a *alert.Alert) []byte {
	e.t.Helper()
	_, raw, err := alert.Sign(e.priv, a)
	if err != nil {
		e.t.Fatal(err)
	}
	return raw
}

func (e *rxEnv) handle(data []byte, seq uint64) {
	e.t.Helper()
	if err := e.rx.Handle(context.Background(), data, seq, e.now); err != nil {
		e.t.Fatal(err)
	}
}

// reports are the receipts queued for the city, in order.
func (e *rxEnv) reports() []alert.Report {
	e.t.Helper()
	q, err := e.db.QueuedReports(context.Background(), 1000)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []alert.Report
	for _, r := range q {
		rep, err := alert.DecodeReport(r.Body)
		if err != nil {
			e.t.Fatal(err)
		}
		out = append(out, rep)
	}
	return out
}

func (e *rxEnv) lastReport() alert.Report {
	r := e.reports()
	if len(r) == 0 {
		e.t.Fatal("no report")
	}
	return r[len(r)-1]
}

// Every kind of bad message is refused, counted, logged and reported,
// and none reaches the player.
func TestAlertReceiverRefuses(t *testing.T) {
	e := newRxEnv(t)
	_, otherPriv, _ := ed25519.GenerateKey(rand.Reader)

	good := e.alert("cb-good")
	goodRaw := e.sign(good)
	e.handle(goodRaw, 1)
	if got := e.pl.ids(); len(got) != 1 || got[0] != "cb-good" {
		t.Fatalf("the good alert did not play: %v", got)
	}

	tampered := func() []byte {
		env, _, _ := alert.Sign(e.priv, e.alert("cb-tampered"))
		env.Payload = []byte(strings.Replace(string(env.Payload), `"volume":80`, `"volume":100`, 1))
		b, _ := json.Marshal(env)
		return b
	}
	otherKey := func() []byte {
		_, raw, _ := alert.Sign(otherPriv, e.alert("cb-other-key"))
		return raw
	}
	forgedKeyID := func() []byte {
		env, _, _ := alert.Sign(otherPriv, e.alert("cb-forged-id"))
		env.KeyID = signing.KeyID(e.priv.Public().(ed25519.PublicKey))
		b, _ := json.Marshal(env)
		return b
	}
	unsigned, _ := json.Marshal(e.alert("cb-unsigned"))
	invalid := func() []byte {
		a := e.alert("cb-invalid")
		a.Repeat = 0
		b, _ := json.Marshal(a)
		raw, _ := json.Marshal(signing.Sign(e.priv, b))
		return raw
	}
	elsewhere := e.alert("cb-elsewhere")
	elsewhere.Targets, elsewhere.Recipients = alert.Targets{Groups: []string{"quan-2"}}, []string{"phuong-2", "phuong-3"}
	expired := e.alert("cb-expired")
	expired.Issued, expired.Expires = e.now.Add(-time.Hour), e.now.Add(-time.Minute)

	cases := []struct {
		name     string
		data     []byte
		id       string
		verified bool
		reason   string
	}{
		{"garbage", []byte("\x00\x01 not json"), "", false, alert.ReasonUnsigned},
		{"unsigned alert", unsigned, "", false, alert.ReasonUnsigned},
		{"no signature", []byte(`{"payload":"e30=","key_id":"abc"}`), "", false, alert.ReasonUnsigned},
		{"tampered", tampered(), "cb-tampered", false, alert.ReasonBadSignature},
		{"unknown key", otherKey(), "cb-other-key", false, alert.ReasonUnknownKey},
		{"forged key id", forgedKeyID(), "cb-forged-id", false, alert.ReasonBadSignature},
		{"signed but invalid", invalid(), "cb-invalid", true, alert.ReasonInvalid},
		{"misaddressed", e.sign(elsewhere), "cb-elsewhere", true, alert.ReasonNotAddressed},
		{"expired", e.sign(expired), "cb-expired", true, alert.ReasonExpired},
		{"replayed", goodRaw, "cb-good", true, alert.ReasonReplay},
		{"too large", make([]byte, alert.MaxEnvelope+1), "", false, alert.ReasonInvalid},
	}
	for i, c := range cases {
		before := alertCounter(e.rejected.WithLabelValues(c.reason))
		e.handle(c.data, uint64(10+i))
		if got := alertCounter(e.rejected.WithLabelValues(c.reason)); got != before+1 {
			t.Errorf("%s: loa_alerts_rejected_total{reason=%q} %v, want %v", c.name, c.reason, got, before+1)
		}
		r := e.lastReport()
		if r.State != alert.Rejected || r.Reason != c.reason || r.Alert != c.id || r.Verified != c.verified || r.Ward != "phuong-1" {
			t.Errorf("%s: report %+v", c.name, r)
		}
	}
	if got := e.pl.ids(); len(got) != 1 {
		t.Fatalf("played %v: a refused alert reached the player", got)
	}
	// The same copy delivered again (a lost ack, a city server restarted)
	// is not a replay: nothing happens, nothing is reported; the same for
	// an expired alert already refused.
	n := len(e.reports())
	e.handle(goodRaw, 1)
	for i, c := range cases {
		if c.reason == alert.ReasonExpired {
			e.handle(c.data, uint64(10+i))
		}
	}
	if len(e.reports()) != n || len(e.pl.ids()) != 1 {
		t.Fatal("a redelivery was reported or played")
	}

	// The replay guard survives a restart.
	e.open(e.priv.Public().(ed25519.PublicKey))
	e.handle(goodRaw, 99)
	if r := e.lastReport(); r.Reason != alert.ReasonReplay || len(e.pl.ids()) != 0 {
		t.Fatalf("after a restart: %+v, played %v", r, e.pl.ids())
	}
}

// An accepted alert plays with the fields the city signed; an alert for
// one of the ward's groups plays; Test alerts and stream alerts are
// received and reported, not played; missing media are fetched first; a
// cancel stops what it names.
func TestAlertReceiverPlays(t *testing.T) {
	e := newRxEnv(t)
	a := e.alert("cb-1")
	e.handle(e.sign(a), 1)
	e.pl.mu.Lock()
	pa := e.pl.played[0]
	e.pl.mu.Unlock()
	if pa.Priority != player.Emergency || pa.Chime != chimeKey || pa.Content != contentKey || pa.Repeat != 2 || pa.Gap != 5*time.Second ||
		pa.Volume != 80 || !pa.At.Equal(e.now) || !pa.Expires.Equal(a.Expires) || pa.Title != "Bão số 5" {
		t.Fatalf("handed to the player: %+v", pa)
	}
	if r := e.lastReport(); r.State != alert.Received || r.Alert != "cb-1" || !r.Verified {
		t.Fatalf("report %+v", r)
	}
	// The player's reports become receipts.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go e.rx.playerEvents(ctx)
	pa.Report(player.AlertOutcome{ID: "cb-1", State: player.AlertFinished, At: e.now.Add(9 * time.Second)})
	testwait.For(t, "finished", 2*time.Second, func() bool { return e.lastReport().State == alert.Finished })
	if rs := e.reports(); rs[len(rs)-2].State != alert.Started {
		t.Fatalf("no started before finished: %+v", rs)
	}
	if s, _ := e.db.SeenAlert(ctx, "cb-1"); s.State != "finished" {
		t.Fatalf("recorded state %q", s.State)
	}

	// For all: plays; urgent.
	all := e.alert("cb-all")
	all.Targets, all.Recipients, all.Priority, all.Chime = alert.Targets{All: true}, nil, alert.Urgent, nil
	e.handle(e.sign(all), 2)
	if got := e.pl.ids(); len(got) != 2 || e.pl.played[1].Priority != player.Urgent || e.pl.played[1].Chime != "" {
		t.Fatalf("alert for all: %v", got)
	}

	// A Test alert: received, skipped.
	test := e.alert("cb-test")
	test.Status = alert.StatusTest
	e.handle(e.sign(test), 3)
	if r := e.lastReport(); r.State != alert.Skipped || !strings.Contains(r.Reason, "status Test") || len(e.pl.ids()) != 2 {
		t.Fatalf("test alert: %+v", r)
	}
	// A stream alert: failed, said why.
	st := e.alert("cb-stream")
	st.Content = alert.Content{Stream: "http://127.0.0.1:8000/vov1.mp3", DurationMS: 60000}
	e.handle(e.sign(st), 4)
	if r := e.lastReport(); r.State != alert.Failed || r.Reason != "stream alerts not supported yet" {
		t.Fatalf("stream alert: %+v", r)
	}

	// Media not here: fetched, then played.
	const newKey = "3333333333333333333333333333333333333333333333333333333333333333"
	fetch := e.alert("cb-fetch")
	fetch.Content.Media = &alert.Media{SHA256: newKey, Size: 10}
	e.handle(e.sign(fetch), 5)
	testwait.For(t, "the fetched alert played", 2*time.Second, func() bool { return len(e.pl.ids()) == 3 })
	if e.media.fetched[0] != newKey {
		t.Fatalf("fetched %v", e.media.fetched)
	}

	// A cancel stops the alert it names.
	c := &alert.Alert{ID: "cb-cancel", MsgType: alert.MsgCancel, References: []string{"cb-fetch"}, Status: alert.StatusActual, Sender: "u@city",
		Issued: e.now, Expires: fetch.Expires, Priority: alert.Emergency, Targets: fetch.Targets, Recipients: fetch.Recipients}
	e.handle(e.sign(c), 6)
	if len(e.pl.cancelled) != 1 || e.pl.cancelled[0] != "cb-fetch" {
		t.Fatalf("cancelled %v", e.pl.cancelled)
	}
	if r := e.lastReport(); r.Alert != "cb-cancel" || r.State != alert.Finished {
		t.Fatalf("cancel report %+v", r)
	}

	// Media that cannot be fetched before the alert expires: failed.
	e.media.mu.Lock()
	e.media.fail = errors.New("city unreachable")
	e.media.mu.Unlock()
	short := e.alert("cb-short")
	short.Content.Media = &alert.Media{SHA256: strings.Repeat("4", 64), Size: 10}
	short.Expires = e.now.Add(500 * time.Millisecond)
	e.handle(e.sign(short), 7)
	testwait.For(t, "the unfetchable alert failed", 3*time.Second, func() bool {
		r := e.lastReport()
		return r.Alert == "cb-short" && r.State == alert.Failed
	})
}

// Alerts cut by a restart play again, whole, when the agent is back; those
// that ended or expired do not.
func TestAlertReceiverResumes(t *testing.T) {
	e := newRxEnv(t)
	e.handle(e.sign(e.alert("cb-open")), 1)
	e.handle(e.sign(e.alert("cb-done")), 2)
	e.db.SetSeenAlertState(context.Background(), "cb-done", "finished")
	e.open(e.priv.Public().(ed25519.PublicKey))
	e.rx.resume(context.Background())
	if got := e.pl.ids(); len(got) != 1 || got[0] != "cb-open" {
		t.Fatalf("resumed %v", got)
	}
	e.open(e.priv.Public().(ed25519.PublicKey))
	e.now = e.now.Add(time.Hour)
	e.rx.resume(context.Background())
	if got := e.pl.ids(); len(got) != 0 {
		t.Fatalf("resumed an expired alert: %v", got)
	}
}

func alertCounter(c prometheus.Counter) float64 {
	var m dto.Metric
	c.Write(&m)
	return m.GetCounter().GetValue()
}

// A flood of forged messages is counted in full but reported and logged
// at most maxRejectReports a minute.
func TestAlertReceiverFloodReportedSparingly(t *testing.T) {
	e := newRxEnv(t)
	for i := 0; i < 200; i++ {
		e.handle([]byte("forged"), uint64(i+1))
	}
	if got := alertCounter(e.rejected.WithLabelValues(alert.ReasonUnsigned)); got != 200 {
		t.Fatalf("counted %v", got)
	}
	if n := len(e.reports()); n != maxRejectReports {
		t.Fatalf("%d reports queued", n)
	}
}

// With the ward's key, every receipt queued for the city is signed by it:
// it opens under the ward's public key and under no other.
func TestAlertReceiverSignsReceipts(t *testing.T) {
	e := newRxEnv(t)
	_, wardKey, _ := ed25519.GenerateKey(rand.Reader)
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	var err error
	e.rx, err = New(Config{Ward: "phuong-1", PublicKeys: []ed25519.PublicKey{e.priv.Public().(ed25519.PublicKey)},
		DB: e.db, Media: e.media, Player: e.pl, Now: func() time.Time { return e.now }, Rejected: e.rejected, ReceiptKey: wardKey})
	if err != nil {
		t.Fatal(err)
	}
	a := e.alert("cb-khac")
	a.Targets.Wards, a.Recipients = []string{"phuong-2"}, []string{"phuong-2"}
	e.handle(e.sign(a), 1)
	q, err := e.db.QueuedReports(context.Background(), 10)
	if err != nil || len(q) != 1 {
		t.Fatalf("queued %d receipts: %v", len(q), err)
	}
	r, signed, err := alert.OpenReport(q[0].Body, wardKey.Public().(ed25519.PublicKey))
	if err != nil || !signed || r.Alert != "cb-khac" || r.State != alert.Rejected || r.Reason != alert.ReasonNotAddressed {
		t.Fatalf("receipt %+v, signed %v: %v", r, signed, err)
	}
	if _, _, err := alert.OpenReport(q[0].Body, other.Public().(ed25519.PublicKey)); !errors.Is(err, signing.ErrUnknownKey) {
		t.Fatalf("opened under another key: %v", err)
	}
}

// The player's outcomes arrive typed and become receipts as they are: a
// failure keeps its reason word for word (one that reads like the old
// "failed: …" strings included), an outcome with no time takes the
// station's clock, and a started one is reported once.
func TestAlertReceiverTakesTypedOutcomes(t *testing.T) {
	cases := []struct {
		name   string
		out    player.AlertOutcome
		state  alert.State
		reason string
	}{
		{"finished", player.AlertOutcome{State: player.AlertFinished}, alert.Finished, ""},
		{"cancelled", player.AlertOutcome{State: player.AlertCancelled}, alert.Cancelled, ""},
		{"expired", player.AlertOutcome{State: player.AlertFailed, Err: player.ErrAlertExpired}, alert.Failed, "expired before it could play"},
		{"cut", player.AlertOutcome{State: player.AlertFailed, Err: player.ErrAlertCut}, alert.Failed, "cut"},
		{"media", player.AlertOutcome{State: player.AlertFailed, Err: errors.New("failed: decode: bad frame")}, alert.Failed, "failed: decode: bad frame"},
		{"no reason", player.AlertOutcome{State: player.AlertFailed}, alert.Failed, "failed"},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newRxEnv(t)
			id := "cb-" + strings.ReplaceAll(c.name, " ", "-")
			e.handle(e.sign(e.alert(id)), uint64(i+1))
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			go e.rx.playerEvents(ctx)
			at := e.now.Add(3 * time.Second)
			e.pl.mu.Lock()
			pa := e.pl.played[0]
			e.pl.mu.Unlock()
			pa.Report(player.AlertOutcome{ID: id, State: player.AlertStarted, At: at})
			pa.Report(player.AlertOutcome{ID: id, State: player.AlertStarted, At: at})
			c.out.ID = id
			pa.Report(c.out)
			testwait.For(t, c.name+" reported", 2*time.Second, func() bool { return e.lastReport().State == c.state })
			r := e.lastReport()
			if r.Alert != id || r.Reason != c.reason || !r.At.Equal(e.now) {
				t.Fatalf("receipt %+v, want reason %q at the station's clock %s", r, c.reason, e.now)
			}
			started := 0
			for _, r := range e.reports() {
				if r.State == alert.Started {
					started++
					if !r.At.Equal(at) {
						t.Fatalf("started at %s, want %s", r.At, at)
					}
				}
			}
			if started != 1 {
				t.Fatalf("started reported %d times: %+v", started, e.reports())
			}
			if s, _ := e.db.SeenAlert(ctx, id); s.State != string(c.state) {
				t.Fatalf("recorded state %q, want %q", s.State, c.state)
			}
		})
	}
}
