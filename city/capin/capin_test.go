package capin

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"loa/alert"
	"loa/cap"
	"loa/city/alerting"
	"loa/city/api"
	"loa/sqlite"
)

// Fakes: the alerting entry point, the library and the store.

type fakeAlerting struct {
	mu      sync.Mutex
	n       int
	sent    []api.NewAlert
	ids     []string
	stopped map[string]string
	now     func() time.Time
	rows    map[string]sqlite.CityAlert
	// hold: the two-person rule holds every alert (nothing sent).
	hold bool
}

func (f *fakeAlerting) Send(ctx context.Context, req api.NewAlert, by string) (api.Alert, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.hold {
		return api.Alert{}, false, &alerting.PendingError{Request: api.AlertRequest{ID: "yc-1", State: "pending", Targets: req.To}}
	}
	if req.Update != "" && f.stopped[req.Update] != "" {
		return api.Alert{}, false, fmt.Errorf("%w: alert %s was already stopped", alerting.ErrAlertConflict, req.Update)
	}
	f.n++
	id := fmt.Sprintf("cb-%d", f.n)
	f.sent = append(f.sent, req)
	f.ids = append(f.ids, id)
	if req.Update != "" {
		f.stopped[req.Update] = id
	}
	return api.Alert{ID: id}, false, nil
}

func (f *fakeAlerting) Cancel(ctx context.Context, id, by string) (api.Alert, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.stopped[id] != "" {
		return api.Alert{}, false, fmt.Errorf("%w: alert %s was already stopped", alerting.ErrAlertConflict, id)
	}
	f.n++
	f.stopped[id] = fmt.Sprintf("cb-%d", f.n)
	return api.Alert{ID: f.stopped[id]}, false, nil
}

type fakeLibrary struct{ added map[string][]byte }

func (l *fakeLibrary) AddAudio(ctx context.Context, name string, data []byte, by string) (string, error) {
	sum := sha256.Sum256(data)
	sha := hex.EncodeToString(sum[:])
	l.added[sha] = data
	return sha, nil
}

type fakeStore struct {
	mu     sync.Mutex
	msgs   []sqlite.CAPMessage
	places []cap.WardPlace
	alerts []sqlite.CityAlert
}

func (s *fakeStore) AddCAPMessage(ctx context.Context, m sqlite.CAPMessage) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m.Seq = int64(len(s.msgs) + 1)
	s.msgs = append(s.msgs, m)
	return m.Seq, nil
}

func (s *fakeStore) CAPMessages(ctx context.Context, limit int) ([]sqlite.CAPMessage, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []sqlite.CAPMessage
	for i := len(s.msgs) - 1; i >= 0 && len(out) < limit; i-- {
		out = append(out, s.msgs[i])
	}
	return out, nil
}

func (s *fakeStore) CAPMessageFor(ctx context.Context, sender, id string) (sqlite.CAPMessage, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.msgs) - 1; i >= 0; i-- {
		if m := s.msgs[i]; m.Sender == sender && m.Identifier == id && m.Outcome != Refused {
			return m, nil
		}
	}
	return sqlite.CAPMessage{}, sqlite.ErrNotFound
}

func (s *fakeStore) WardPlaces(ctx context.Context) ([]cap.WardPlace, error) { return s.places, nil }

func (s *fakeStore) Alert(ctx context.Context, id string) (sqlite.CityAlert, error) {
	for _, a := range s.alerts {
		if a.ID == id {
			return a, nil
		}
	}
	return sqlite.CityAlert{}, sqlite.ErrNotFound
}

func (s *fakeStore) Alerts(ctx context.Context, limit int) ([]sqlite.CityAlert, error) {
	return s.alerts, nil
}

func readSample(t *testing.T, name string) []byte {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join("..", "..", "cap", "testdata", name+"_*.xml"))
	if len(m) != 1 {
		t.Fatalf("sample %s: %v", name, m)
	}
	b, err := os.ReadFile(m[0])
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func sentAt(t *testing.T, doc []byte) time.Time {
	t.Helper()
	a, err := cap.Parse(doc)
	if err != nil {
		t.Fatal(err)
	}
	ts, _ := cap.ParseTime(a.Sent)
	return ts
}

func fp(v float64) *float64 { return &v }

// centre is the mean of a sample's first polygon: a point inside it.
func centre(t *testing.T, doc []byte) (float64, float64) {
	a, _ := cap.Parse(doc)
	pts, err := cap.ParsePolygon(a.Info[0].Area[0].Polygon[0])
	if err != nil {
		t.Fatal(err)
	}
	var la, lo float64
	for _, p := range pts[:len(pts)-1] {
		la += p.Lat
		lo += p.Lon
	}
	n := float64(len(pts) - 1)
	if !cap.InPolygon(cap.Point{Lat: la / n, Lon: lo / n}, pts) {
		t.Fatal("centre outside")
	}
	return la / n, lo / n
}

type rig struct {
	svc   *Service
	al    *fakeAlerting
	lib   *fakeLibrary
	store *fakeStore
	now   time.Time
}

func newRig(t *testing.T, pol cap.Policy) *rig {
	r := &rig{al: &fakeAlerting{stopped: map[string]string{}}, lib: &fakeLibrary{added: map[string][]byte{}}, store: &fakeStore{}}
	la7, lo7 := centre(t, readSample(t, "07"))
	la9, lo9 := centre(t, readSample(t, "09"))
	// Test wards standing where the samples' areas are: the samples are
	// not for Vietnam, so the test configuration puts wards there.
	r.store.places = []cap.WardPlace{
		{ID: "phuong-1", Lat: fp(la7), Lon: fp(lo7)},
		{ID: "phuong-2", Lat: fp(32.9525), Lon: fp(-115.5527)},
		{ID: "phuong-3", Lat: fp(la9), Lon: fp(lo9)},
		{ID: "phuong-4"},
	}
	cfg := Config{Policy: pol, MaxExpires: 24 * time.Hour, Rules: []cap.Rule{
		{ValueName: "SAME", Value: "006109", To: "phuong-4"},
		{ValueName: "SAME", Value: "006037", To: "group:xa-b"},
		{ValueName: "UGC", Value: "AKZ185", To: "phuong-3"},
		{ValueName: "SAME", Value: "072115", To: "phuong-2"},
		{AreaDesc: "U.S. nationwide and interests worldwide", To: "all"},
	}}
	r.svc = New(Options{Config: cfg, Alerting: r.al, Library: r.lib, Store: r.store, Now: func() time.Time { return r.now }})
	return r
}

func signer(t *testing.T, name string) string {
	doc := readSample(t, name)
	a, err := cap.Read(doc, sentAt(t, doc))
	if err != nil {
		t.Fatal(err)
	}
	return a.Signer
}

func samplePolicy(t *testing.T) cap.Policy {
	return cap.Policy{
		TrustedSenders: []string{"hsas@dhs.gov", "KSTO@NWS.NOAA.GOV", "trinet@caltech.edu", "KARO@CLETS.DOJ.CA.GOV",
			"bbrundage@dps.state.nv.us", "cap@ec.gc.ca", "http://newwcatwc.arh.noaa.gov/tsuPortal/", "wcatwc@noaa.gov"},
		TrustedCerts:   []string{signer(t, "05"), signer(t, "06"), signer(t, "07")},
		AcceptUnsigned: true,
	}
}

// unsigned builds a CAP message for the table.
func unsigned(id, sender, sent, msgType, refs, status, area string) []byte {
	r := ""
	if refs != "" {
		r = "<references>" + refs + "</references>"
	}
	return []byte(`<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>` + id + `</identifier><sender>` + sender + `</sender><sent>` + sent +
		`</sent><status>` + status + `</status><msgType>` + msgType + `</msgType><scope>Public</scope>` + r + `<info><language>vi-VN</language><category>Met</category>
<event>Bão</event><urgency>Immediate</urgency><severity>Extreme</severity><certainty>Observed</certainty>
<headline>Bão số 5</headline><description>Bão số 5 đổ bộ.</description><area><areaDesc>x</areaDesc>` + area + `</area></info></alert>`)
}

// Every sample ingested with its expected outcome, in order, so that
// the Update and the Cancel find what they reference.
func TestSamples(t *testing.T) {
	r := newRig(t, samplePolicy(t))
	ctx := context.Background()
	type row struct {
		name     string
		doc      []byte
		outcome  string
		to, prio string
		reason   string // in the refusal or note
		audio    bool
	}
	rows := []row{
		{name: "01 nationwide advisory", doc: readSample(t, "01"), outcome: Played, to: "all", prio: "emergency"},
		{name: "02 thunderstorm by SAME geocode", doc: readSample(t, "02"), outcome: Played, to: "phuong-4", prio: "emergency"},
		{name: "02's update", doc: unsigned("KSTO1055887204", "KSTO@NWS.NOAA.GOV", "2003-06-17T15:10:00-07:00", "Update",
			"KSTO@NWS.NOAA.GOV,KSTO1055887203,2003-06-17T14:57:00-07:00", "Actual", "<geocode><valueName>SAME</valueName><value>006109</value></geocode>"),
			outcome: Updated, to: "phuong-4", prio: "emergency"},
		{name: "03 earthquake circle, update of a message not received", doc: readSample(t, "03"), outcome: Played, to: "phuong-2", prio: "urgent", reason: "played as a new alert"},
		{name: "04 amber alert, English info first", doc: readSample(t, "04"), outcome: Played, to: "group:xa-b", prio: "emergency"},
		{name: "alert that 05 cancels", doc: unsigned("AS-NV-e18921c7-1b35-4a81-9705-42d25c265ddd", "bbrundage@dps.state.nv.us", "2019-04-18T12:02:32-06:00", "Alert", "", "Actual",
			"<geocode><valueName>loa-ward</valueName><value>phuong-1</value></geocode>"), outcome: Played, to: "phuong-1", prio: "emergency"},
		{name: "05 IPAWS signed cancel", doc: readSample(t, "05"), outcome: Cancelled},
		{name: "06 IPAWS audio, digest does not match", doc: readSample(t, "06"), outcome: Refused, reason: "does not match its digest"},
		{name: "07 IPAWS extreme polygon", doc: readSample(t, "07"), outcome: Played, to: "phuong-1", prio: "emergency"},
		{name: "08 tsunami cancellation, placeholder signature", doc: readSample(t, "08"), outcome: Refused, reason: "signature"},
		{name: "09 Canada polygons", doc: readSample(t, "09"), outcome: Played, to: "phuong-3", prio: "urgent"},
		{name: "10 tsunami warning by UGC", doc: readSample(t, "10"), outcome: Played, to: "phuong-3", prio: "emergency"},
		{name: "test status off", doc: unsigned("t-1", "KSTO@NWS.NOAA.GOV", "2026-09-15T08:00:00+07:00", "Alert", "", "Test", "<geocode><valueName>loa-ward</valueName><value>phuong-1</value></geocode>"),
			outcome: Refused, reason: "status Test is not played"},
		{name: "untrusted sender", doc: unsigned("u-1", "someone@example.org", "2026-09-15T08:00:00+07:00", "Alert", "", "Actual", "<geocode><valueName>loa-ward</valueName><value>phuong-1</value></geocode>"),
			outcome: Refused, reason: "is not trusted"},
		{name: "area of no ward", doc: unsigned("n-1", "KSTO@NWS.NOAA.GOV", "2026-09-15T08:00:00+07:00", "Alert", "", "Actual", "<circle>10.0,100.0 5</circle>"),
			outcome: Refused, reason: "matches no ward"},
		{name: "cancel of nothing received", doc: unsigned("c-1", "KSTO@NWS.NOAA.GOV", "2026-09-15T08:00:00+07:00", "Cancel", "KSTO@NWS.NOAA.GOV,zzz,2026-09-15T07:00:00+07:00", "Actual", ""),
			outcome: Refused, reason: "no alert playing here to cancel"},
	}
	for _, c := range rows {
		r.now = sentAt(t, c.doc).Add(time.Minute)
		sends := len(r.al.sent)
		stops := len(r.al.stopped)
		res, err := r.svc.Ingest(ctx, c.doc, "user:test", "tester")
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		m := res.Message
		if m.Outcome != c.outcome || m.Seq == 0 || res.Duplicate {
			t.Errorf("%s: outcome %s (%s), want %s", c.name, m.Outcome, m.Reason, c.outcome)
			continue
		}
		if c.reason != "" && !strings.Contains(m.Reason, c.reason) {
			t.Errorf("%s: reason %q, want %q", c.name, m.Reason, c.reason)
		}
		switch c.outcome {
		case Refused:
			if len(r.al.sent) != sends || len(r.al.stopped) != stops {
				t.Errorf("%s: refused but something was sent or stopped", c.name)
			}
			if !strings.Contains(m.Reason, " / ") {
				t.Errorf("%s: reason not in Vietnamese and English: %q", c.name, m.Reason)
			}
		case Cancelled:
			if len(r.al.stopped) != stops+1 || len(r.al.sent) != sends {
				t.Errorf("%s: not one alert stopped", c.name)
			}
		default:
			if len(r.al.sent) != sends+1 {
				t.Fatalf("%s: nothing sent", c.name)
			}
			req := r.al.sent[len(r.al.sent)-1]
			if req.To != c.to || req.Priority != c.prio || m.Alert != r.al.ids[len(r.al.ids)-1] {
				t.Errorf("%s: sent to %q at %s, want %q at %s", c.name, req.To, req.Priority, c.to, c.prio)
			}
			if (req.Media != "") != c.audio || (req.Text == "") != c.audio {
				t.Errorf("%s: media %q text %q", c.name, req.Media, req.Text)
			}
			if c.outcome == Updated && req.Update == "" {
				t.Errorf("%s: no update", c.name)
			}
		}
	}
	// 02's update replaced the alert 02 became.
	if upd := r.al.sent[2]; upd.Update != r.al.ids[1] {
		t.Errorf("update replaces %q, want %q", upd.Update, r.al.ids[1])
	}
	// 05 stopped the alert it references.
	if r.al.stopped[r.al.ids[5]] == "" {
		t.Errorf("05 did not stop %s", r.al.ids[5])
	}
	// 04: the first info (en-US) was chosen, there being no Vietnamese.
	if got := r.al.sent[4].Headline; !strings.Contains(got, "Amber Alert") && !strings.Contains(got, "AMBER") {
		t.Errorf("04 headline %q", got)
	}
	// The same message again is a duplicate: nothing sent, nothing recorded.
	n := len(r.store.msgs)
	r.now = sentAt(t, readSample(t, "02"))
	res, err := r.svc.Ingest(ctx, readSample(t, "02"), "user:test", "tester")
	if err != nil || !res.Duplicate || res.Message.Alert != r.al.ids[1] || len(r.store.msgs) != n {
		t.Fatalf("duplicate: %v %+v", err, res)
	}
	list, _ := r.svc.Messages(ctx, 0)
	if len(list) != n || list[0].Identifier != "c-1" {
		t.Fatalf("messages: %d", len(list))
	}
}

// Audio: a resource with a matching digest becomes the alert's media; a
// bad digest, a too-big file or a failed fetch refuses the message and
// plays nothing.
func TestAudio(t *testing.T) {
	pol := cap.Policy{TrustedSenders: []string{"kttv@vn"}, AcceptUnsigned: true}
	audio := []byte("ID3 not really an mp3 but the fake library takes it")
	sum := sha256.Sum256(audio)
	mk := func(id, res string) []byte {
		return []byte(strings.Replace(string(unsigned(id, "kttv@vn", "2026-09-15T08:00:00+07:00", "Alert", "", "Actual",
			"<geocode><valueName>loa-ward</valueName><value>phuong-1</value></geocode>")), "<area>", res+"<area>", 1))
	}
	fetched := &fakeFetcher{docs: map[string][]byte{"http://kttv/a.mp3": audio}}
	for _, c := range []struct {
		name, res, outcome, reason string
	}{
		{"inline, sha-256", "<resource><resourceDesc>audio</resourceDesc><mimeType>audio/mpeg</mimeType><derefUri>" + b64(audio) + "</derefUri><digest>" + hex.EncodeToString(sum[:]) + "</digest></resource>", Played, ""},
		{"by uri", "<resource><resourceDesc>audio</resourceDesc><mimeType>audio/mpeg</mimeType><uri>http://kttv/a.mp3</uri><digest>" + hex.EncodeToString(sum[:]) + "</digest></resource>", Played, ""},
		{"bad digest", "<resource><resourceDesc>audio</resourceDesc><mimeType>audio/mpeg</mimeType><derefUri>" + b64(audio) + "</derefUri><digest>" + strings.Repeat("0", 64) + "</digest></resource>", Refused, "does not match its digest"},
		{"fetch fails", "<resource><resourceDesc>audio</resourceDesc><mimeType>audio/mpeg</mimeType><uri>http://kttv/none.mp3</uri></resource>", Refused, "could not be fetched"},
	} {
		r := newRig(t, pol)
		r.svc.fetch = fetched
		r.now = time.Date(2026, 9, 15, 8, 1, 0, 0, time.FixedZone("", 7*3600))
		res, err := r.svc.Ingest(context.Background(), mk(fmt.Sprintf("a-%d", len(c.name)), c.res), "user:test", "tester")
		if err != nil {
			t.Fatal(err)
		}
		if res.Message.Outcome != c.outcome || !strings.Contains(res.Message.Reason, c.reason) {
			t.Errorf("%s: %s %q", c.name, res.Message.Outcome, res.Message.Reason)
			continue
		}
		if c.outcome == Played {
			if req := r.al.sent[0]; req.Media != hex.EncodeToString(sum[:]) || req.Text != "" {
				t.Errorf("%s: media %q text %q", c.name, req.Media, req.Text)
			}
		} else if len(r.al.sent) != 0 || len(r.lib.added) != 0 {
			t.Errorf("%s: something was played or added", c.name)
		}
	}
}

// A CAP alert the two-person rule holds is recorded as pending with its
// request, and nothing is sent: CAP obeys the approval like any alert.
func TestHeldForApproval(t *testing.T) {
	r := newRig(t, cap.Policy{TrustedSenders: []string{"kttv@vn"}, AcceptUnsigned: true})
	r.al.hold = true
	r.now = time.Date(2026, 9, 15, 8, 1, 0, 0, time.FixedZone("", 7*3600))
	res, err := r.svc.Ingest(context.Background(), unsigned("h-1", "kttv@vn", "2026-09-15T08:00:00+07:00", "Alert", "", "Actual",
		"<geocode><valueName>SAME</valueName><value>006109</value></geocode>"), "user:test", "tester")
	if err != nil {
		t.Fatal(err)
	}
	if m := res.Message; m.Outcome != Pending || m.Alert != "yc-1" || !strings.Contains(m.Reason, "NOT sent") {
		t.Fatalf("held CAP alert: %+v", m)
	}
	if len(r.al.sent) != 0 {
		t.Fatalf("a held alert was sent: %+v", r.al.sent)
	}
	if len(r.store.msgs) != 1 || r.store.msgs[0].Outcome != Pending {
		t.Fatalf("recorded: %+v", r.store.msgs)
	}
}

type fakeFetcher struct{ docs map[string][]byte }

func (f *fakeFetcher) Fetch(ctx context.Context, url string, max int64) ([]byte, error) {
	b, ok := f.docs[url]
	if !ok {
		return nil, fmt.Errorf("GET %s: 404 Not Found", url)
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("over %d bytes", max)
	}
	return b, nil
}

func b64(b []byte) string {
	const enc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	var sb strings.Builder
	for i := 0; i < len(b); i += 3 {
		var n uint32
		k := min(3, len(b)-i)
		for j := 0; j < 3; j++ {
			n <<= 8
			if j < k {
				n |= uint32(b[i+j])
			}
		}
		for j := 0; j < 4; j++ {
			if j <= k {
				sb.WriteByte(enc[(n>>(18-6*j))&63])
			} else {
				sb.WriteByte('=')
			}
		}
	}
	return sb.String()
}

// The city's feed, polled by the city itself (as a second city would):
// each alert is ingested once, mapped back onto its wards.
func TestFeedRoundTrip(t *testing.T) {
	loc := time.FixedZone("ICT", 7*3600)
	now := time.Date(2026, 9, 15, 8, 0, 0, 0, loc)
	a := &alert.Alert{ID: "cb-20260915-080000-abcdef", MsgType: alert.MsgAlert, Status: alert.StatusActual, Sender: "ops@ha-noi",
		Issued: now, Expires: now.Add(time.Hour), Priority: alert.Emergency, Targets: alert.Targets{Wards: []string{"phuong-2"}}, Recipients: []string{"phuong-2"}, Repeat: 1, Volume: 100,
		Headline: "Lũ quét", Content: alert.Content{Text: "Lũ quét ở thượng nguồn, sơ tán ngay.",
			Media: &alert.Media{SHA256: strings.Repeat("a", 64), Size: 1000}}}
	payload, _ := a.Encode()
	test := *a
	test.ID, test.Status = "cb-test", alert.StatusTest
	tp, _ := test.Encode()
	r := newRig(t, cap.Policy{TrustedSenders: []string{"ops@ha-noi"}, AcceptUnsigned: true})
	r.svc.cfg.BaseURL, r.svc.cfg.Sender = "http://city.test", "ha-noi"
	r.svc.loc = loc
	r.store.alerts = []sqlite.CityAlert{{ID: a.ID, MsgType: "Alert", Status: "Actual", Issued: now, Headline: a.Headline, Payload: payload},
		{ID: test.ID, MsgType: "Alert", Status: "Test", Issued: now, Payload: tp}}
	feed, err := r.svc.Feed(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(feed), "cb-test") {
		t.Fatal("a Test alert is in the public feed")
	}
	r.svc.fetch = &fakeFetcher{docs: map[string][]byte{"http://city.test/cap/alerts.atom": feed}}
	r.now = now.Add(time.Minute)
	p := &poller{}
	n, err := r.svc.PollOnce(context.Background(), Feed{URL: "http://city.test/cap/alerts.atom"}, p)
	if err != nil || n != 1 {
		t.Fatalf("poll: %d %v", n, err)
	}
	req := r.al.sent[0]
	if req.To != "phuong-2" || req.Priority != "emergency" || req.Text != "Lũ quét. Lũ quét ở thượng nguồn, sơ tán ngay." || req.ExpiresS != 59*60 {
		t.Fatalf("round trip: %+v", req)
	}
	// Polled again: nothing new.
	if n, err := r.svc.PollOnce(context.Background(), Feed{URL: "http://city.test/cap/alerts.atom"}, p); err != nil || n != 0 || len(r.al.sent) != 1 {
		t.Fatalf("second poll: %d %v", n, err)
	}
	if doc, err := r.svc.CAPAlert(context.Background(), test.ID); err == nil {
		t.Fatalf("Test alert served as CAP: %s", doc)
	}
}

func TestBackoff(t *testing.T) {
	every := time.Minute
	w := Backoff(every, 0, true)
	var got []time.Duration
	for i := 0; i < 6; i++ {
		got = append(got, w)
		w = Backoff(every, w, true)
	}
	want := []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute, 10 * time.Minute, 10 * time.Minute}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("backoff %v, want %v", got, want)
		}
	}
	if Backoff(every, w, false) != every {
		t.Fatal("no reset after success")
	}
}
