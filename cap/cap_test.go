package cap

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"loa/alert"
)

func sample(t *testing.T, name string) []byte {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join("testdata", name+"*.xml"))
	if len(m) != 1 {
		t.Fatalf("sample %s: %v", name, m)
	}
	b, err := os.ReadFile(m[0])
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func sentOf(t *testing.T, data []byte) time.Time {
	t.Helper()
	a, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	ts, _ := ParseTime(a.Sent)
	return ts
}

// Every sample reads; the three IPAWS ones carry a signature that
// verifies (at their time: the certificates have expired since); the
// tsunami cancellation's signature is an empty placeholder and is refused.
func TestReadSamples(t *testing.T) {
	for _, c := range []struct {
		name   string
		signed bool
		err    string
	}{
		{"01", false, ""}, {"02", false, ""}, {"03", false, ""}, {"04", false, ""},
		{"05", true, ""}, {"06", true, ""}, {"07", true, ""},
		{"08", false, "signature"},
		{"09", false, ""}, {"10", false, ""},
	} {
		data := sample(t, c.name)
		a, err := Read(data, sentOf(t, data))
		if c.err != "" {
			var e *Error
			if !errors.As(err, &e) || e.Field != c.err {
				t.Errorf("%s: err %v, want one on %s", c.name, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if a.Signed != c.signed {
			t.Errorf("%s: signed %v, want %v", c.name, a.Signed, c.signed)
		}
		if c.signed && !strings.Contains(a.SignerName, "FEMA IPAWS") {
			t.Errorf("%s: signer %q", c.name, a.SignerName)
		}
	}
}

// A signed message altered after signing is refused, however small the
// change; so is one whose certificate is out of its validity.
func TestTamperedSignature(t *testing.T) {
	data := sample(t, "05")
	when := sentOf(t, data)
	bad := bytes.Replace(data, []byte("<source>AlertSense</source>"), []byte("<source>AlertSensf</source>"), 1)
	if bytes.Equal(bad, data) {
		t.Fatal("no change made")
	}
	_, err := Read(bad, when)
	var e *Error
	if !errors.As(err, &e) || e.Field != "signature" || !strings.Contains(e.En, "does not verify") {
		t.Fatalf("tampered: %v", err)
	}
	if _, err := Read(data, when.AddDate(10, 0, 0)); !errors.As(err, &e) || e.Field != "signature" {
		t.Fatalf("expired certificate: %v", err)
	}
	// A second element slipped in beside the signed content.
	wrapped := bytes.Replace(data, []byte("<status>Actual</status>"), []byte("<status>Actual</status><note>x</note>"), 1)
	if _, err := Read(wrapped, when); err == nil {
		t.Fatal("added element accepted")
	}
}

func TestRefused(t *testing.T) {
	good := sample(t, "02")
	laughs := `<?xml version="1.0"?>
<!DOCTYPE alert [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&lol3;</identifier></alert>`
	for _, c := range []struct {
		name, doc, field, en string
	}{
		{"malformed", "<alert xmlns=\"urn:oasis:names:tc:emergency:cap:1.2\"><identifier>x</alert>", "xml", "malformed"},
		{"billion laughs", laughs, "xml", "DTD"},
		{"wrong namespace", strings.Replace(string(good), "cap:1.2", "cap:1.1", 1), "alert", "namespace"},
		{"no namespace", strings.Replace(string(good), ` xmlns = "urn:oasis:names:tc:emergency:cap:1.2"`, "", 1), "alert", "namespace"},
		{"oversized", string(good) + "<!--" + strings.Repeat("x", MaxMessage) + "-->", "size", "at most"},
		{"no sender", strings.Replace(string(good), "<sender>KSTO@NWS.NOAA.GOV</sender>", "", 1), "alert/sender", "missing"},
		{"bad status", strings.Replace(string(good), "<status>Actual</status>", "<status>Real</status>", 1), "alert/status", "Actual"},
		{"bad urgency", strings.Replace(string(good), "<urgency>Immediate</urgency>", "<urgency>Now</urgency>", 1), "alert/info[1]/urgency", "Immediate"},
		{"bad severity", strings.Replace(string(good), "<severity>Severe</severity>", "<severity>Bad</severity>", 1), "alert/info[1]/severity", "Extreme"},
		{"bad certainty", strings.Replace(string(good), "<certainty>Observed</certainty>", "<certainty>Sure</certainty>", 1), "alert/info[1]/certainty", "Likely"},
		{"bad category", strings.Replace(string(good), "<category>Met</category>", "<category>Weather</category>", 1), "alert/info[1]/category", "Met"},
		{"no time zone", strings.Replace(string(good), "2003-06-17T14:57:00-07:00", "2003-06-17T14:57:00", 1), "alert/sent", "time zone"},
		{"open polygon", strings.Replace(string(good), "38.62,-119.89 38.47,-120.14", "38.62,-119.89", 1), "alert/info[1]/area[1]/polygon", "closed"},
		{"update without references", strings.Replace(string(good), "<msgType>Alert</msgType>", "<msgType>Update</msgType>", 1), "alert/references", "reference"},
		{"bad references", strings.Replace(string(good), "<scope>", "<references>a,b</references><scope>", 1), "alert/references", "sender,identifier,sent"},
	} {
		_, err := Read([]byte(c.doc), time.Now())
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("%s: err %v, want *Error", c.name, err)
			continue
		}
		if e.Field != c.field || !strings.Contains(e.En, c.en) || e.Vi == "" {
			t.Errorf("%s: %v, want field %s and %q", c.name, e, c.field, c.en)
		}
	}
}

func TestPolicy(t *testing.T) {
	base := Alert{Sender: "kttv@vn", Status: "Actual", MsgType: "Alert", Scope: "Public"}
	with := func(f func(a *Alert)) *Alert { a := base; f(&a); return &a }
	p := Policy{TrustedSenders: []string{"kttv@vn"}, TrustedCerts: []string{"abc"}}
	for _, c := range []struct {
		name  string
		p     Policy
		a     *Alert
		field string
	}{
		{"unsigned refused", p, &base, "signature"},
		{"unsigned accepted", Policy{TrustedSenders: []string{"kttv@vn"}, AcceptUnsigned: true}, &base, ""},
		{"signed by trusted cert", p, with(func(a *Alert) { a.Signed, a.Signer, a.Sender = true, "abc", "other@x" }), ""},
		{"signed by other cert", p, with(func(a *Alert) { a.Signed, a.Signer = true, "def" }), "signature"},
		{"untrusted sender", Policy{TrustedSenders: []string{"x@y"}, AcceptUnsigned: true}, &base, "alert/sender"},
		{"test off", Policy{TrustedSenders: []string{"kttv@vn"}, AcceptUnsigned: true}, with(func(a *Alert) { a.Status = "Test" }), "alert/status"},
		{"test on", Policy{TrustedSenders: []string{"kttv@vn"}, AcceptUnsigned: true, PlayTest: true}, with(func(a *Alert) { a.Status = "Test" }), ""},
		{"exercise off", Policy{TrustedSenders: []string{"kttv@vn"}, AcceptUnsigned: true}, with(func(a *Alert) { a.Status = "Exercise" }), "alert/status"},
		{"system never", Policy{TrustedSenders: []string{"kttv@vn"}, AcceptUnsigned: true, PlayTest: true, PlayExercise: true}, with(func(a *Alert) { a.Status = "System" }), "alert/status"},
		{"draft never", Policy{TrustedSenders: []string{"kttv@vn"}, AcceptUnsigned: true, PlayTest: true, PlayExercise: true}, with(func(a *Alert) { a.Status = "Draft" }), "alert/status"},
		{"ack not played", Policy{TrustedSenders: []string{"kttv@vn"}, AcceptUnsigned: true}, with(func(a *Alert) { a.MsgType = "Ack" }), "alert/msgType"},
	} {
		err := c.p.Admit(c.a)
		var e *Error
		switch {
		case c.field == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.field != "" && (!errors.As(err, &e) || e.Field != c.field):
			t.Errorf("%s: %v, want a refusal on %s", c.name, err, c.field)
		}
	}
}

func TestPriorityTable(t *testing.T) {
	for _, c := range []struct{ u, s, c, want string }{
		{"Immediate", "Extreme", "Observed", "emergency"},
		{"Expected", "Extreme", "Possible", "emergency"},
		{"Future", "Extreme", "Likely", "urgent"},
		{"Immediate", "Severe", "Observed", "emergency"},
		{"Immediate", "Severe", "Likely", "emergency"},
		{"Immediate", "Severe", "Possible", "urgent"},
		{"Expected", "Severe", "Observed", "urgent"},
		{"Immediate", "Moderate", "Observed", "urgent"},
		{"Past", "Minor", "Observed", "urgent"},
		{"Unknown", "Unknown", "Unknown", "urgent"},
	} {
		if got := Priority(c.u, c.s, c.c); got != c.want {
			t.Errorf("%s/%s/%s: %s, want %s", c.u, c.s, c.c, got, c.want)
		}
	}
}

func f(v float64) *float64 { return &v }

func TestMapArea(t *testing.T) {
	data := sample(t, "02") // polygon around 38.5,-119.9; SAME 006109, 006009, 006003
	a, _ := Parse(data)
	now := sentOf(t, data)
	wards := []WardPlace{{ID: "inside", Lat: f(38.5), Lon: f(-119.9)}, {ID: "outside", Lat: f(21.03), Lon: f(105.85)}, {ID: "nowhere"}}
	p, err := Map(a, AreaConfig{Wards: wards}, now)
	if err != nil || p.To != "inside" {
		t.Fatalf("polygon: %q %v", p.To, err)
	}
	p, err = Map(a, AreaConfig{Rules: []Rule{{ValueName: "SAME", Value: "006009", To: "group:xa-a"}}, Wards: wards}, now)
	if err != nil || p.To != "group:xa-a,inside" {
		t.Fatalf("geocode: %q %v", p.To, err)
	}
	if p.Priority != "emergency" || p.Audio != nil || !strings.HasPrefix(p.Text, "SEVERE THUNDERSTORM WARNING. AT 254 PM PDT") {
		t.Fatalf("plan: %+v", p)
	}
	if _, err := Map(a, AreaConfig{Wards: wards[1:]}, now); err == nil || !strings.Contains(err.Error(), "matches no ward") {
		t.Fatalf("no ward: %v", err)
	}
	if _, err := Map(a, AreaConfig{Wards: wards}, now.Add(2*time.Hour)); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("expired: %v", err)
	}
	// A circle: the earthquake's (radius 0 km) catches a ward at its
	// centre only; a wider one catches the ward 10 km away.
	eq, _ := Parse(sample(t, "03"))
	eqNow := sentOf(t, sample(t, "03"))
	at := []WardPlace{{ID: "centre", Lat: f(32.9525), Lon: f(-115.5527)}, {ID: "ten-km", Lat: f(33.0425), Lon: f(-115.5527)}}
	if p, err := Map(eq, AreaConfig{Wards: at}, eqNow); err != nil || p.To != "centre" {
		t.Fatalf("circle 0: %q %v", p.To, err)
	}
	eq.Info[0].Area[0].Circle = []string{"32.9525,-115.5527 12"}
	if p, err := Map(eq, AreaConfig{Wards: at}, eqNow); err != nil || p.To != "centre,ten-km" {
		t.Fatalf("circle 12: %q %v", p.To, err)
	}
}

// Vietnamese is preferred among the infos; else the first.
func TestChooseInfo(t *testing.T) {
	infos := []Info{{Language: "en-US"}, {Language: "vi-VN"}}
	if ChooseInfo(infos).Language != "vi-VN" {
		t.Fatal("vi not chosen")
	}
	if ChooseInfo(infos[:1]).Language != "en-US" {
		t.Fatal("first not chosen")
	}
	a, _ := Parse(sample(t, "04"))
	if ChooseInfo(a.Info).Language != "en-US" {
		t.Fatal("amber: first")
	}
}

// The real IPAWS message's audio does not match its own digest (nor its
// size: 98865 declared, 72932 inline; its signature verifies, so this is
// how FEMA sent it): a receiver that checks digests refuses it.
func TestDigest(t *testing.T) {
	a, _ := Parse(sample(t, "06"))
	r := a.Info[0].Resource[0]
	b, err := Inline(&r)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != 72932 || r.Size != 98865 {
		t.Fatalf("size %d, declared %d", len(b), r.Size)
	}
	if err := CheckDigest(b, r.Digest); err == nil || !strings.Contains(err.Error(), "does not match") {
		t.Fatalf("IPAWS digest: %v", err)
	}
	for _, d := range []string{"fe6b63b0a357d091ca88ecdbd7c100ed16c517d4", "FE6B63B0A357D091CA88ECDBD7C100ED16C517D4", ""} {
		if err := CheckDigest(b, d); err != nil {
			t.Errorf("sha-1 %q: %v", d, err)
		}
	}
	b[100] ^= 1
	if err := CheckDigest(b, "fe6b63b0a357d091ca88ecdbd7c100ed16c517d4"); err == nil {
		t.Fatal("altered audio accepted")
	}
}

// loa's alert written as CAP reads back, maps back onto the same wards,
// and travels in the Atom feed.
func TestRoundTrip(t *testing.T) {
	loc := time.FixedZone("ICT", 7*3600)
	now := time.Date(2026, 9, 15, 8, 0, 0, 0, loc)
	la := &alert.Alert{ID: "cb-20260915-080000-abcdef", MsgType: alert.MsgAlert, Status: alert.StatusActual, Sender: "ops@loa-city",
		Issued: now, Expires: now.Add(time.Hour), Priority: alert.Emergency,
		Targets: alert.Targets{Wards: []string{"phuong-1"}, Groups: []string{"xa-a"}}, Headline: "Bão số 5",
		Severity: "Extreme", Urgency: "Immediate", Certainty: "Observed", Content: alert.Content{Text: "Bão số 5 đổ bộ lúc 14 giờ."}}
	doc, err := FromLoa(la, nil, loc).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	feed, err := WriteFeed("urn:loa:test", "Cảnh báo", "http://city/cap/alerts.atom", "loa", now, []FeedEntry{{ID: la.ID, Title: la.Headline, Updated: now, Link: "http://city/cap/alerts/" + la.ID + ".xml", CAP: doc}})
	if err != nil {
		t.Fatal(err)
	}
	items, err := ReadFeed(feed)
	if err != nil || len(items) != 1 || items[0].Link == "" {
		t.Fatalf("feed: %v %+v", err, items)
	}
	back, err := Read(items[0].CAP, now)
	if err != nil {
		t.Fatalf("%v\n%s", err, items[0].CAP)
	}
	p, err := Map(back, AreaConfig{}, now)
	if err != nil {
		t.Fatal(err)
	}
	if p.To != "group:xa-a,phuong-1" || p.Priority != "emergency" || p.Text != "Bão số 5. Bão số 5 đổ bộ lúc 14 giờ." || !p.Expires.Equal(la.Expires) {
		t.Fatalf("plan %+v", p)
	}
	cancel := &alert.Alert{ID: "cb-2", MsgType: alert.MsgCancel, Status: alert.StatusActual, Sender: "ops@loa-city", Issued: now.Add(time.Minute)}
	doc, _ = FromLoa(cancel, []Reference{{"ops@loa-city", la.ID, FormatTime(now)}}, loc).Marshal()
	back, err = Read(doc, now)
	if err != nil || back.References != "ops@loa-city,"+la.ID+",2026-09-15T08:00:00+07:00" {
		t.Fatalf("cancel: %v %+v", err, back)
	}
}
