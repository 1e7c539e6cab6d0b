package alert

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"loa/priority"
	"loa/signing"
)

var t0 = time.Date(2026, 5, 12, 8, 30, 0, 0, time.UTC)

const sha = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

func sample() *Alert {
	return &Alert{
		ID: "cb-20260512-083000-1a2b", MsgType: MsgAlert, Status: StatusActual, Sender: "canh-bao@thanh-pho",
		Issued: t0, Expires: t0.Add(30 * time.Minute), Priority: Emergency,
		Targets: Targets{Groups: []string{"quan-1"}, Wards: []string{"phuong-9"}}, Recipients: []string{"phuong-1", "phuong-2", "phuong-9"},
		Repeat: 2, GapMS: 10000, Volume: 100,
		Chime:   &Media{SHA256: sha, Size: 1000, DurationMS: 2000},
		Content: Content{Media: &Media{SHA256: sha, Size: 5000, DurationMS: 6000}, Text: "Bão số 5 đổ bộ.", Voice: "vi-vn-x-south", Speed: 160},
		Urgency: "Immediate", Severity: "Extreme", Certainty: "Observed", Area: "Quận 1", Headline: "Bão số 5",
	}
}

func TestCheck(t *testing.T) {
	if err := sample().Check(); err != nil {
		t.Fatalf("sample: %v", err)
	}
	cases := []struct {
		name  string
		edit  func(a *Alert)
		field string
	}{
		{"bad id", func(a *Alert) { a.ID = "-x" }, "id"},
		{"id with space", func(a *Alert) { a.ID = "a b" }, "id"},
		{"msg type", func(a *Alert) { a.MsgType = "Ack" }, "msg_type"},
		{"alert with refs", func(a *Alert) { a.References = []string{"x"} }, "references"},
		{"update without refs", func(a *Alert) { a.MsgType = MsgUpdate }, "references"},
		{"ref to itself", func(a *Alert) { a.MsgType = MsgUpdate; a.References = []string{a.ID} }, "references"},
		{"status", func(a *Alert) { a.Status = "Draft" }, "status"},
		{"no sender", func(a *Alert) { a.Sender = "" }, "sender"},
		{"no issued", func(a *Alert) { a.Issued = time.Time{} }, "issued"},
		{"expires before", func(a *Alert) { a.Expires = a.Issued }, "expires"},
		{"expires far", func(a *Alert) { a.Expires = a.Issued.Add(8 * 24 * time.Hour) }, "expires"},
		{"priority", func(a *Alert) { a.Priority = "normal" }, "priority"},
		{"no targets", func(a *Alert) { a.Targets = Targets{} }, "targets"},
		{"bad ward", func(a *Alert) { a.Targets.Wards = []string{"Phuong"} }, "targets"},
		{"no recipients", func(a *Alert) { a.Recipients = nil }, "recipients"},
		{"unsorted recipients", func(a *Alert) { a.Recipients = []string{"b", "a"} }, "recipients"},
		{"all with recipients", func(a *Alert) { a.Targets = Targets{All: true} }, "recipients"},
		{"repeat 0", func(a *Alert) { a.Repeat = 0 }, "repeat"},
		{"repeat 11", func(a *Alert) { a.Repeat = 11 }, "repeat"},
		{"gap", func(a *Alert) { a.GapMS = -1 }, "gap"},
		{"volume", func(a *Alert) { a.Volume = 101 }, "volume"},
		{"chime key", func(a *Alert) { a.Chime.SHA256 = "abc" }, "chime"},
		{"no content", func(a *Alert) { a.Content = Content{} }, "content"},
		{"media and stream", func(a *Alert) { a.Content.Stream = "http://x/y" }, "content"},
		{"stream scheme", func(a *Alert) { a.Content = Content{Stream: "file:///etc/passwd", DurationMS: 1000} }, "content.stream"},
		{"stream without duration", func(a *Alert) { a.Content = Content{Stream: "http://vov/1.mp3"} }, "content.duration_ms"},
		{"text control char", func(a *Alert) { a.Content.Text = "bão\x1b[31m" }, "content.text"},
		{"text too long", func(a *Alert) { a.Content.Text = strings.Repeat("a", MaxText+1) }, "content.text"},
		{"voice", func(a *Alert) { a.Content.Voice = "en" }, "content.voice"},
		{"speed", func(a *Alert) { a.Content.Speed = 1000 }, "content.speed"},
		{"severity", func(a *Alert) { a.Severity = "Bad" }, "severity"},
		{"headline control", func(a *Alert) { a.Headline = "a\x00b" }, "headline"},
		{"cancel with content", func(a *Alert) { a.MsgType = MsgCancel; a.References = []string{"x"} }, "content"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := sample()
			c.edit(a)
			err := a.Check()
			var inv *InvalidError
			if !errors.As(err, &inv) || inv.Field != c.field {
				t.Fatalf("got %v, want an error on %s", err, c.field)
			}
		})
	}
	// A cancel and a stream alert are fine.
	c := sample()
	c.MsgType, c.References, c.Content, c.Chime = MsgCancel, []string{"cb-1"}, Content{}, nil
	if err := c.Check(); err != nil {
		t.Fatalf("cancel: %v", err)
	}
	s := sample()
	s.Content = Content{Stream: "http://127.0.0.1:8000/vov1.mp3", DurationMS: 300000}
	if err := s.Check(); err != nil {
		t.Fatalf("stream: %v", err)
	}
}

func TestParseTargets(t *testing.T) {
	cases := []struct {
		in   string
		want string
		err  bool
	}{
		{"all", "all", false},
		{"phuong-1,phuong-2", "phuong-1,phuong-2", false},
		{"phuong-1, group:quan-1 ,phuong-1", "phuong-1,group:quan-1", false},
		{"all,phuong-1", "all", false},
		{"", "", true},
		{"group:", "", true},
		{"Phuong", "", true},
		{"ward:x", "", true},
	}
	for _, c := range cases {
		got, err := ParseTargets(c.in)
		if (err != nil) != c.err || (err == nil && got.String() != c.want) {
			t.Errorf("ParseTargets(%q) = %q, %v; want %q (error %v)", c.in, got.String(), err, c.want, c.err)
		}
	}
}

func TestSignOpen(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	otherPub, otherPriv, _ := ed25519.GenerateKey(rand.Reader)
	a := sample()
	env, raw, err := Sign(priv, a)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ReadEnvelope(raw)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Open(got, pub)
	if err != nil {
		t.Fatal(err)
	}
	if b.ID != a.ID || !b.Issued.Equal(a.Issued) || b.Content.Media.SHA256 != sha || !b.For("phuong-2") || b.For("phuong-3") {
		t.Fatalf("round trip: %+v", b)
	}

	// Tampered: a ward added to the recipients after signing.
	tampered := env
	tampered.Payload = []byte(strings.Replace(string(env.Payload), `"phuong-9"]`, `"phuong-9","phuong-x"]`, 1))
	if _, err := Open(tampered, pub); !errors.Is(err, signing.ErrBadSignature) {
		t.Fatalf("tampered: %v", err)
	}
	// Signed by a key the ward does not trust.
	forged, _, _ := Sign(otherPriv, a)
	if _, err := Open(forged, pub); !errors.Is(err, signing.ErrUnknownKey) {
		t.Fatalf("other key: %v", err)
	}
	// The key id of the trusted key with another key's signature.
	forged.KeyID = signing.KeyID(pub)
	if _, err := Open(forged, pub, otherPub); !errors.Is(err, signing.ErrBadSignature) {
		t.Fatalf("forged key id: %v", err)
	}
	// Not an envelope: a bare alert.
	bare, _ := json.Marshal(a)
	if _, err := ReadEnvelope(bare); !errors.Is(err, ErrUnsigned) {
		t.Fatalf("bare alert: %v", err)
	}
	if _, err := ReadEnvelope([]byte(`{"payload":"e30=","key_id":"x"}`)); !errors.Is(err, ErrUnsigned) {
		t.Fatalf("no signature: %v", err)
	}
	if _, err := ReadEnvelope(make([]byte, MaxEnvelope+1)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("too large: %v", err)
	}
	// Signed but invalid: the city's key on a bad alert.
	bad := sample()
	bad.Repeat = 99
	payload, _ := json.Marshal(bad)
	if _, err := Open(signing.Sign(priv, payload), pub); !errors.Is(err, ErrInvalid) {
		t.Fatalf("signed invalid: %v", err)
	}
	// Sign refuses an invalid alert.
	if _, _, err := Sign(priv, bad); err == nil {
		t.Fatal("signed an invalid alert")
	}
}

func TestReports(t *testing.T) {
	r := Report{Alert: "cb-1", Verified: true, Ward: "phuong-1", State: Rejected, Reason: ReasonExpired, At: t0, Seq: 3}
	b, err := EncodeReport(r)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeReport(b)
	if err != nil || got.String() != "rejected: expired" || !got.At.Equal(t0) || got.Seq != 3 {
		t.Fatalf("round trip: %+v %v", got, err)
	}
	for _, bad := range []string{`{"state":"playing","at":"2026-01-01T00:00:00Z"}`, `{"state":"received"}`, `[]`, strings.Repeat(" ", MaxReport+1)} {
		if _, err := DecodeReport([]byte(bad)); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
	if Finished.Rank() <= Rejected.Rank() || !Skipped.Final() || Started.Final() {
		t.Fatal("state order")
	}
}

func FuzzOpen(f *testing.F) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	_, raw, _ := Sign(priv, sample())
	f.Add(raw)
	f.Add([]byte(`{"payload":"e30=","key_id":"00","signature":"AA=="}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		env, err := ReadEnvelope(data)
		if err != nil {
			return
		}
		a, err := Open(env, pub)
		if err == nil && a.Check() != nil {
			t.Fatal("Open returned an alert that fails Check")
		}
		// Whatever the envelope says, Decode alone must not panic.
		Decode(env.Payload)
	})
}

func FuzzDecodeReport(f *testing.F) {
	b, _ := EncodeReport(Report{Alert: "x", State: Started, At: t0})
	f.Add(b)
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := DecodeReport(data)
		if err == nil && (r.At.IsZero() || r.State.Rank() == 0) {
			t.Fatalf("accepted %+v", r)
		}
	})
}

// An alert's priority word reaches the ladder by the one mapping; a word
// missing or unknown plays at the top, never below what DESIGN.md §3 gives
// an alert.
func TestPriorityLevel(t *testing.T) {
	cases := []struct {
		p    Priority
		want priority.Level
	}{
		{Emergency, priority.Emergency},
		{Urgent, priority.Urgent},
		{"", priority.Emergency},
		{"normal", priority.Emergency},
	}
	for _, c := range cases {
		if got := c.p.Level(); got != c.want {
			t.Errorf("Priority(%q).Level() = %v, want %v", c.p, got, c.want)
		}
	}
}
