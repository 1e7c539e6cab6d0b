package command

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"loa/alert"
)

type memSeen map[string]time.Time

func (m memSeen) Seen(id string) bool { _, ok := m[id]; return ok }
func (m memSeen) Remember(id string, t time.Time) error {
	m[id] = t
	return nil
}

func key(t *testing.T) ed25519.PrivateKey {
	t.Helper()
	_, k, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

var t0 = time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)

func volumeCmd(id string, wards ...string) *Command {
	db := -6.0
	return &Command{ID: id, To: alert.Targets{Wards: wards}, Recipients: wards, Kind: Volume,
		Args: Args{DB: &db}, Issued: t0, Expires: t0.Add(10 * time.Minute)}
}

func TestGuardAcceptsAndRefuses(t *testing.T) {
	city := key(t)
	other := key(t)
	g := &Guard{Ward: "w1", Keys: []ed25519.PublicKey{city.Public().(ed25519.PublicKey)}, Seen: memSeen{}}
	good, err := Sign(city, volumeCmd("c1", "w1"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := g.Accept(good, t0.Add(time.Minute))
	if err != nil || c.Kind != Volume || *c.Args.DB != -6 {
		t.Fatalf("good command: %v %+v", err, c)
	}
	forged, _ := Sign(other, volumeCmd("c2", "w1"))
	var env map[string]any
	json.Unmarshal(good, &env)
	env["signature"] = strings.Repeat("A", 86) + "=="
	tampered, _ := json.Marshal(env)
	bare, _ := json.Marshal(volumeCmd("c3", "w1"))
	elsewhere, _ := Sign(city, volumeCmd("c4", "w2"))
	expired, _ := Sign(city, volumeCmd("c5", "w1"))
	for _, tc := range []struct {
		name, reason, id string
		data             []byte
		at               time.Time
	}{
		{"replay", ReasonReplay, "c1", good, t0.Add(2 * time.Minute)},
		{"unknown key", ReasonUnknownKey, "c2", forged, t0},
		{"bad signature", ReasonBadSignature, "c1", tampered, t0},
		{"unsigned", ReasonUnsigned, "c3", bare, t0},
		{"not addressed", ReasonNotAddressed, "c4", elsewhere, t0},
		{"expired", ReasonExpired, "c5", expired, t0.Add(11 * time.Minute)},
	} {
		_, err := g.Accept(tc.data, tc.at)
		var r *Refusal
		if !errors.As(err, &r) {
			t.Fatalf("%s: want a refusal, got %v", tc.name, err)
		}
		if r.Ack.Reason != tc.reason || r.Ack.State != Refused || r.Ack.Command != tc.id || r.Ack.Ward != "w1" {
			t.Errorf("%s: ack %+v, want reason %s for %s", tc.name, r.Ack, tc.reason, tc.id)
		}
	}
}

func TestCheckNamesTheField(t *testing.T) {
	db := 3.0
	for _, tc := range []struct {
		field string
		edit  func(*Command)
	}{
		{"args.db", func(c *Command) { c.Args.DB = &db }},
		{"args.db", func(c *Command) { c.Args.DB = nil }},
		{"kind", func(c *Command) { c.Kind = "reboot" }},
		{"expires", func(c *Command) { c.Expires = c.Issued.Add(48 * time.Hour) }},
		{"to", func(c *Command) { c.Recipients = nil; c.To = alert.Targets{} }},
		{"args.mute_seconds", func(c *Command) { c.Kind = Mute }},
		{"args.seconds", func(c *Command) { c.Kind = TestTone; c.Args.Seconds = 600 }},
		{"args.seconds", func(c *Command) { c.Kind = TestTone; c.Args.Seconds = 31 }},
		{"args.level_dbfs", func(c *Command) { c.Kind = TestTone; c.Args.Seconds = 5; c.Args.LevelDBFS = &db }},
		{"args.on", func(c *Command) { c.Kind = Amplifier; c.Args.Seconds = 60 }},
		{"args.seconds", func(c *Command) { on := false; c.Kind = Amplifier; c.Args.On = &on }},
		{"args.log_lines", func(c *Command) { c.Kind = Diagnostics; c.Args.LogLines = MaxLogLines + 1 }},
		{"id", func(c *Command) { c.ID = "" }},
	} {
		c := volumeCmd("c1", "w1")
		tc.edit(c)
		var ie *InvalidError
		err := c.Check()
		if !errors.As(err, &ie) || ie.Field != tc.field {
			t.Errorf("want an error on %s, got %v", tc.field, err)
		} else if vi, en, ok := strings.Cut(ie.Msg, " / "); !ok || vi == en {
			t.Errorf("%s: %q is not Vietnamese / English", tc.field, ie.Msg)
		}
		if _, err := Sign(key(t), c); err == nil {
			t.Errorf("%s: signed an invalid command", tc.field)
		}
	}
}

// The new kinds' good forms pass, and a test tone's level defaults to
// DefaultToneDBFS.
func TestCheckNewKinds(t *testing.T) {
	on, lvl := true, -20.0
	for _, args := range []struct {
		kind Kind
		a    Args
	}{
		{TestTone, Args{Seconds: 1}},
		{TestTone, Args{Seconds: MaxToneSeconds, LevelDBFS: &lvl}},
		{Amplifier, Args{On: &on, Seconds: 600}},
		{Restart, Args{}},
		{Diagnostics, Args{}},
		{Diagnostics, Args{LogLines: MaxLogLines}},
	} {
		c := volumeCmd("c1", "w1")
		c.Kind, c.Args = args.kind, args.a
		if err := c.Check(); err != nil {
			t.Errorf("%s %+v: %v", args.kind, args.a, err)
		}
	}
	if (Args{}).ToneLevel() != DefaultToneDBFS || (Args{LevelDBFS: &lvl}).ToneLevel() != -20 {
		t.Error("ToneLevel")
	}
}

func TestAckRoundTrip(t *testing.T) {
	ward := key(t)
	lvl := -12.5
	b, err := SignAck(ward, Ack{Command: "c1", Verified: true, Ward: "w1", State: Done, At: t0, Kind: TestTone, LevelDBFS: &lvl})
	if err != nil {
		t.Fatal(err)
	}
	a, signed, err := OpenAck(b, ward.Public().(ed25519.PublicKey))
	if err != nil || !signed || *a.LevelDBFS != -12.5 || a.State != Done {
		t.Fatalf("%v %v %+v", err, signed, a)
	}
	if _, _, err := OpenAck(b, key(t).Public().(ed25519.PublicKey)); err == nil {
		t.Fatal("an ack under another key was read")
	}
	// A diagnostics bundle rides in the ack, up to its limit.
	bundle := json.RawMessage(`{"log":["` + strings.Repeat("x", MaxDiagnostics-20) + `"]}`)
	b, err = SignAck(ward, Ack{Command: "c2", Verified: true, Ward: "w1", State: Done, At: t0, Kind: Diagnostics, Diagnostics: bundle})
	if err != nil {
		t.Fatal(err)
	}
	if a, _, err := OpenAck(b, ward.Public().(ed25519.PublicKey)); err != nil || len(a.Diagnostics) != len(bundle) {
		t.Fatalf("diagnostics ack: %v %d", err, len(a.Diagnostics))
	}
	if _, err := SignAck(ward, Ack{Command: "c3", Ward: "w1", State: Done, At: t0, Diagnostics: append(bundle, make([]byte, 64)...)}); err == nil {
		t.Fatal("an oversized bundle was signed")
	}
}
