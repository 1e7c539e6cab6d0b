// Package alert is loa's alert message: what the city sends to its wards
// when people must be warned now (storm, flood, fire, epidemic), the signed
// cancel of an earlier alert, and the receipts the wards send back.
//
// The message is a superset of what a CAP 1.2 receiver needs (msgType with
// references, status, urgency, severity, certainty, expires, area, sender,
// headline, an audio resource with its digest), so that CAP ingest maps
// onto it field by field; what CAP does not have (priority on the loa
// ladder, repeat, gap, chime, volume, and the wards it is for) is loa's own.
//
// It travels as JSON inside a signing.Envelope signed by the city: a ward
// verifies the exact bytes against keys from its own configuration before
// anything parses them, then checks expiry, addressee and replay.
package alert

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"loa/mediastore"
	"loa/priority"
	"loa/signing"
)

// Limits. A payload carries at most MaxRecipients ward ids (20 bytes each)
// and MaxText characters of text: far under 256 KiB.
const (
	// MaxPayload bounds the signed JSON.
	MaxPayload = 256 << 10
	// MaxEnvelope bounds the envelope read from the network: the payload
	// in base64 plus the key id and signature.
	MaxEnvelope = MaxPayload/3*4 + 4 + 1024
	// MaxText is the longest text the city speaks, in characters: about
	// five minutes of speech at espeak-ng's default speed, more than any
	// warning read on a loudspeaker should be.
	MaxText = 4000
	// MaxRecipients bounds the resolved ward list.
	MaxRecipients = 10000
	// MaxLifetime bounds expires − issued.
	MaxLifetime = 7 * 24 * time.Hour
	// MaxRepeat bounds the repeat count.
	MaxRepeat = 10
	// MaxGap bounds the silence between repeats.
	MaxGap = 10 * time.Minute
	// MaxStream bounds a stream alert's duration.
	MaxStream = 4 * time.Hour
)

// MsgType is CAP's msgType.
type MsgType string

const (
	// MsgAlert is a new alert.
	MsgAlert MsgType = "Alert"
	// MsgUpdate replaces the alerts it references: they stop, it plays.
	MsgUpdate MsgType = "Update"
	// MsgCancel stops the alerts it references; it plays nothing.
	MsgCancel MsgType = "Cancel"
)

// Status is CAP's status. Test and Exercise alerts travel the whole path
// (signature, delivery, receipts) but a ward does not put them on air
// unless its configuration says so (alerts.play_tests).
type Status string

const (
	StatusActual   Status = "Actual"
	StatusTest     Status = "Test"
	StatusExercise Status = "Exercise"
)

// Priority is the level on the priority ladder (DESIGN.md §3).
type Priority string

const (
	// Emergency (100) cuts everything within the output latency.
	Emergency Priority = "emergency"
	// Urgent (80) waits for the current item to end, at most max_wait.
	Urgent Priority = "urgent"
)

// Level is the priority's rung on the ladder, by the one mapping
// (priority.ParseAlert): a word missing or unknown is priority.AlertDefault,
// the top. Priority stays a word because it is one in the signed alert.
func (p Priority) Level() priority.Level {
	l, _ := priority.ParseAlert(string(p))
	return l
}

// Targets are whom an alert is for, as the operator said it.
type Targets struct {
	All    bool     `json:"all,omitempty"`
	Wards  []string `json:"wards,omitempty"`
	Groups []string `json:"groups,omitempty"`
}

// String is the operator's form: all, or ward ids and group:NAME.
func (t Targets) String() string {
	if t.All {
		return "all"
	}
	parts := append([]string{}, t.Wards...)
	for _, g := range t.Groups {
		parts = append(parts, "group:"+g)
	}
	return strings.Join(parts, ",")
}

// ParseTargets reads the operator's form: "all", or a comma-separated
// list of ward ids and group:NAME.
func ParseTargets(s string) (Targets, error) {
	var t Targets
	seen := map[string]bool{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		switch {
		case part == "":
			continue
		case part == "all":
			t.All = true
		case strings.HasPrefix(part, "group:"):
			g := strings.TrimPrefix(part, "group:")
			if !ValidName(g) {
				return t, fmt.Errorf("target %q: a group is group:NAME with NAME in a-z, 0-9 and '-'", part)
			}
			if !seen[part] {
				t.Groups = append(t.Groups, g)
			}
		default:
			if !ValidName(part) {
				return t, fmt.Errorf("target %q: want all, a ward id (a-z, 0-9, '-') or group:NAME", part)
			}
			if !seen[part] {
				t.Wards = append(t.Wards, part)
			}
		}
		seen[part] = true
	}
	if !t.All && len(t.Wards) == 0 && len(t.Groups) == 0 {
		return t, errors.New("no target: want all, ward ids or group:NAME")
	}
	if t.All {
		t.Wards, t.Groups = nil, nil
	}
	return t, nil
}

// ValidName reports whether s is a ward or group id: [a-z0-9-]+, at most 64.
func ValidName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

// ValidID reports whether s can be an alert id: 1–128 of [A-Za-z0-9._:@-]
// (CAP identifiers included), starting with a letter or digit.
func ValidID(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i, r := range s {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
		if !ok && (i == 0 || !strings.ContainsRune("._:@-", r)) {
			return false
		}
	}
	return true
}

// Media is an audio item of the city's library: canonical MP3, named by
// the sha256 of its bytes (CAP's resource with its digest).
type Media struct {
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
	// DurationMS is its decoded length.
	DurationMS int64 `json:"duration_ms,omitempty"`
	// URL is where a ward fetches it, relative to the city's URL (default
	// /api/v1/media/SHA256).
	URL string `json:"url,omitempty"`
}

// Content is what an alert says: exactly one of Media (a recording, or the
// city's rendering of Text) and Stream.
type Content struct {
	Media *Media `json:"media,omitempty"`
	// Text, Voice and Speed say what Media is when the city rendered it
	// from text with espeak-ng: kept for the record and the status pages.
	Text  string `json:"text,omitempty"`
	Voice string `json:"voice,omitempty"`
	Speed int    `json:"speed,omitempty"`
	// Stream is a live stream URL played for DurationMS.
	Stream     string `json:"stream,omitempty"`
	DurationMS int64  `json:"duration_ms,omitempty"`
}

// Alert is the signed message.
type Alert struct {
	// ID is unique for the city, for ever: wards refuse an id seen before.
	ID      string  `json:"id"`
	MsgType MsgType `json:"msg_type"`
	// References are the ids an Update replaces or a Cancel stops.
	References []string  `json:"references,omitempty"`
	Status     Status    `json:"status"`
	Sender     string    `json:"sender"`
	Issued     time.Time `json:"issued"`
	Expires    time.Time `json:"expires"`
	Priority   Priority  `json:"priority"`
	Targets    Targets   `json:"targets"`
	// Recipients are the wards Targets meant when the city sent it (the
	// wards named and the members of the groups named), sorted; empty when
	// Targets.All. A ward plays an alert only if it is listed here (or the
	// alert is for all): group membership is the city's to decide, and
	// travels signed with the alert.
	Recipients []string `json:"recipients,omitempty"`
	// Repeat is how many times the content plays (1–10), GapMS the silence
	// between two.
	Repeat int   `json:"repeat"`
	GapMS  int64 `json:"gap_ms,omitempty"`
	// Volume is % of the station's master volume (1–100).
	Volume int `json:"volume"`
	// Chime, if set, plays once before the content.
	Chime   *Media  `json:"chime,omitempty"`
	Content Content `json:"content"`

	// CAP <info> fields, free text or CAP's words (empty: not given).
	Language    string `json:"language,omitempty"`  // vi-VN
	Event       string `json:"event,omitempty"`     // "Bão số 5"
	Headline    string `json:"headline,omitempty"`  //
	Urgency     string `json:"urgency,omitempty"`   // Immediate | Expected | Future | Past | Unknown
	Severity    string `json:"severity,omitempty"`  // Extreme | Severe | Moderate | Minor | Unknown
	Certainty   string `json:"certainty,omitempty"` // Observed | Likely | Possible | Unlikely | Unknown
	Area        string `json:"area,omitempty"`      // areaDesc
	Description string `json:"description,omitempty"`
	Instruction string `json:"instruction,omitempty"`
}

// Gap returns GapMS as a duration.
func (a *Alert) Gap() time.Duration { return time.Duration(a.GapMS) * time.Millisecond }

// For reports whether the alert is addressed to ward.
func (a *Alert) For(ward string) bool {
	if a.Targets.All {
		return true
	}
	for _, w := range a.Recipients {
		if w == ward {
			return true
		}
	}
	return false
}

// CAP's words for the <info> fields loa checks.
var (
	urgencies   = []string{"Immediate", "Expected", "Future", "Past", "Unknown"}
	severities  = []string{"Extreme", "Severe", "Moderate", "Minor", "Unknown"}
	certainties = []string{"Observed", "Likely", "Possible", "Unlikely", "Unknown"}
)

// Voices are espeak-ng's Vietnamese voices: northern, central, southern.
var Voices = []string{"vi", "vi-vn-x-central", "vi-vn-x-south"}

// InvalidError is an alert that fails its checks; Field names what.
type InvalidError struct {
	Field string
	Msg   string
}

func (e *InvalidError) Error() string { return e.Field + ": " + e.Msg }

func invalid(field, format string, args ...any) error {
	return &InvalidError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// Check validates the alert's fields: everything a ward relies on before
// it plays. It does not look at the clock (expiry is the receiver's check).
func (a *Alert) Check() error {
	if !ValidID(a.ID) {
		return invalid("id", "%q: want 1-128 of A-Z a-z 0-9 . _ : @ -", a.ID)
	}
	switch a.MsgType {
	case MsgAlert:
		if len(a.References) > 0 {
			return invalid("references", "an Alert references nothing (use Update)")
		}
	case MsgUpdate, MsgCancel:
		if len(a.References) == 0 {
			return invalid("references", "an %s names the alerts it replaces", a.MsgType)
		}
	default:
		return invalid("msg_type", "%q: want Alert, Update or Cancel", a.MsgType)
	}
	for _, r := range a.References {
		if !ValidID(r) || r == a.ID {
			return invalid("references", "%q is not another alert's id", r)
		}
	}
	switch a.Status {
	case StatusActual, StatusTest, StatusExercise:
	default:
		return invalid("status", "%q: want Actual, Test or Exercise", a.Status)
	}
	if err := checkText("sender", a.Sender, 256, false); err != nil {
		return err
	}
	switch {
	case a.Issued.IsZero():
		return invalid("issued", "missing")
	case !a.Expires.After(a.Issued):
		return invalid("expires", "%s is not after issued %s", a.Expires.Format(time.RFC3339), a.Issued.Format(time.RFC3339))
	case a.Expires.Sub(a.Issued) > MaxLifetime:
		return invalid("expires", "%s after issued: at most %s", a.Expires.Sub(a.Issued), MaxLifetime)
	}
	switch a.Priority {
	case Emergency, Urgent:
	default:
		return invalid("priority", "%q: want emergency or urgent", a.Priority)
	}
	if err := a.checkTargets(); err != nil {
		return err
	}
	if a.MsgType == MsgCancel {
		if a.Content != (Content{}) || a.Chime != nil {
			return invalid("content", "a Cancel plays nothing")
		}
	} else if err := a.checkPlayback(); err != nil {
		return err
	}
	for _, f := range []struct {
		name, v string
		words   []string
	}{{"urgency", a.Urgency, urgencies}, {"severity", a.Severity, severities}, {"certainty", a.Certainty, certainties}} {
		if f.v != "" && !contains(f.words, f.v) {
			return invalid(f.name, "%q: want one of %s", f.v, strings.Join(f.words, ", "))
		}
	}
	for _, f := range []struct {
		name, v string
		max     int
	}{{"language", a.Language, 35}, {"event", a.Event, 256}, {"headline", a.Headline, 256}, {"area", a.Area, 1024},
		{"description", a.Description, MaxText}, {"instruction", a.Instruction, MaxText}} {
		if err := checkText(f.name, f.v, f.max, true); err != nil {
			return err
		}
	}
	return nil
}

func (a *Alert) checkTargets() error {
	t := a.Targets
	if !t.All && len(t.Wards) == 0 && len(t.Groups) == 0 {
		return invalid("targets", "none")
	}
	for _, w := range t.Wards {
		if !ValidName(w) {
			return invalid("targets", "ward %q is not a ward id", w)
		}
	}
	for _, g := range t.Groups {
		if !ValidName(g) {
			return invalid("targets", "group %q is not a group name", g)
		}
	}
	if t.All && len(a.Recipients) > 0 {
		return invalid("recipients", "an alert for all lists no recipients")
	}
	if !t.All && len(a.Recipients) == 0 {
		return invalid("recipients", "none: the targets name no ward")
	}
	if len(a.Recipients) > MaxRecipients {
		return invalid("recipients", "%d wards, at most %d", len(a.Recipients), MaxRecipients)
	}
	for i, w := range a.Recipients {
		if !ValidName(w) {
			return invalid("recipients", "%q is not a ward id", w)
		}
		if i > 0 && a.Recipients[i-1] >= w {
			return invalid("recipients", "not sorted or repeated at %q", w)
		}
	}
	return nil
}

func (a *Alert) checkPlayback() error {
	switch {
	case a.Repeat < 1 || a.Repeat > MaxRepeat:
		return invalid("repeat", "%d: want 1-%d", a.Repeat, MaxRepeat)
	case a.GapMS < 0 || a.Gap() > MaxGap:
		return invalid("gap", "%s: want 0-%s", a.Gap(), MaxGap)
	case a.Volume < 1 || a.Volume > 100:
		return invalid("volume", "%d: want 1-100", a.Volume)
	}
	if a.Chime != nil {
		if err := a.Chime.check("chime"); err != nil {
			return err
		}
	}
	c := a.Content
	switch {
	case c.Media != nil && c.Stream != "":
		return invalid("content", "both media and a stream")
	case c.Media != nil:
		if err := c.Media.check("content.media"); err != nil {
			return err
		}
		if c.DurationMS != 0 {
			return invalid("content.duration_ms", "only for a stream")
		}
	case c.Stream != "":
		if err := CheckStreamURL(c.Stream); err != nil {
			return invalid("content.stream", "%v", err)
		}
		if d := time.Duration(c.DurationMS) * time.Millisecond; d <= 0 || d > MaxStream {
			return invalid("content.duration_ms", "%s: a stream plays for 1ms-%s", d, MaxStream)
		}
	default:
		return invalid("content", "nothing to play: want media or a stream")
	}
	if c.Text != "" {
		if err := CheckSpeechText(c.Text); err != nil {
			return invalid("content.text", "%v", err)
		}
		if c.Media == nil {
			return invalid("content.text", "text travels as the media the city rendered from it")
		}
	}
	if c.Voice != "" && !contains(Voices, c.Voice) {
		return invalid("content.voice", "%q: want one of %s", c.Voice, strings.Join(Voices, ", "))
	}
	if c.Speed != 0 && (c.Speed < MinSpeed || c.Speed > MaxSpeed) {
		return invalid("content.speed", "%d: want %d-%d words a minute", c.Speed, MinSpeed, MaxSpeed)
	}
	return nil
}

// Speech rate bounds for espeak-ng, in words a minute (its default: 175).
const (
	MinSpeed = 80
	MaxSpeed = 300
)

func (m *Media) check(field string) error {
	switch {
	case !mediastore.ValidKey(m.SHA256):
		return invalid(field, "%q is not a sha256 key", m.SHA256)
	case m.Size <= 0:
		return invalid(field, "size %d", m.Size)
	case m.DurationMS < 0:
		return invalid(field, "duration %d ms", m.DurationMS)
	}
	if m.URL != "" {
		u, err := url.Parse(m.URL)
		if err != nil || (u.IsAbs() && u.Scheme != "http" && u.Scheme != "https") || (!u.IsAbs() && !strings.HasPrefix(u.Path, "/")) {
			return invalid(field, "url %q: want an absolute path or an http(s) URL", m.URL)
		}
	}
	return nil
}

// CheckStreamURL checks the form of a stream URL: http(s) with a host.
func CheckStreamURL(s string) error {
	if len(s) > 2048 {
		return errors.New("URL longer than 2048 bytes")
	}
	u, err := url.Parse(s)
	if err != nil {
		return err
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an http:// or https:// URL", s)
	}
	return nil
}

// CheckSpeechText checks text the city is asked to speak: not empty, UTF-8,
// at most MaxText characters, no control characters (line breaks and tabs
// are allowed).
func CheckSpeechText(s string) error {
	if strings.TrimSpace(s) == "" {
		return errors.New("empty")
	}
	if !utf8.ValidString(s) {
		return errors.New("not UTF-8")
	}
	if n := utf8.RuneCountInString(s); n > MaxText {
		return fmt.Errorf("%d characters, at most %d (about five minutes of speech)", n, MaxText)
	}
	if i := strings.IndexRune(s, utf8.RuneError); i >= 0 {
		return fmt.Errorf("replacement character U+FFFD at byte %d: the text was not UTF-8 when it was sent", i)
	}
	return controlChars(s)
}

func controlChars(s string) error {
	for i, r := range s {
		if r == '\n' || r == '\t' || r == '\r' {
			continue
		}
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\u2028' || r == '\u2029' || r == '\ufeff' {
			return fmt.Errorf("control character %U at byte %d", r, i)
		}
	}
	return nil
}

func checkText(field, s string, max int, optional bool) error {
	if s == "" {
		if optional {
			return nil
		}
		return invalid(field, "missing")
	}
	if !utf8.ValidString(s) {
		return invalid(field, "not UTF-8")
	}
	if n := utf8.RuneCountInString(s); n > max {
		return invalid(field, "%d characters, at most %d", n, max)
	}
	if err := controlChars(s); err != nil {
		return invalid(field, "%v", err)
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// Encode returns the payload bytes.
func (a *Alert) Encode() ([]byte, error) {
	b, err := json.Marshal(a)
	if err != nil {
		return nil, err
	}
	if len(b) > MaxPayload {
		return nil, fmt.Errorf("alert %s: %d bytes, limit %d", a.ID, len(b), MaxPayload)
	}
	return b, nil
}

// Sign checks and encodes a, and signs it.
func Sign(priv ed25519.PrivateKey, a *Alert) (signing.Envelope, []byte, error) {
	if err := a.Check(); err != nil {
		return signing.Envelope{}, nil, err
	}
	b, err := a.Encode()
	if err != nil {
		return signing.Envelope{}, nil, err
	}
	env := signing.Sign(priv, b)
	raw, err := json.Marshal(env)
	return env, raw, err
}

// Errors of Open, beside signing's ErrBadSignature and ErrUnknownKey.
var (
	// ErrUnsigned: the message is not a signed envelope at all.
	ErrUnsigned = errors.New("not a signed alert")
	// ErrTooLarge: over MaxEnvelope or MaxPayload.
	ErrTooLarge = errors.New("alert too large")
	// ErrInvalid: signed, but the alert inside fails its checks.
	ErrInvalid = errors.New("invalid alert")
)

// ReadEnvelope parses a signed envelope (JSON) from the network, refusing
// more than MaxEnvelope bytes and envelopes without a signature.
func ReadEnvelope(data []byte) (signing.Envelope, error) {
	var env signing.Envelope
	if len(data) > MaxEnvelope {
		return env, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(data), MaxEnvelope)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&env); err != nil {
		return env, fmt.Errorf("%w: %v", ErrUnsigned, err)
	}
	if dec.More() {
		return env, fmt.Errorf("%w: data after the envelope", ErrUnsigned)
	}
	if len(env.Payload) == 0 || env.KeyID == "" || len(env.Signature) == 0 {
		return env, fmt.Errorf("%w: payload, key_id or signature missing", ErrUnsigned)
	}
	return env, nil
}

// Open verifies env against the trusted keys and decodes and checks the
// alert it carries. Errors: signing.ErrBadSignature, signing.ErrUnknownKey,
// ErrTooLarge or ErrInvalid.
func Open(env signing.Envelope, trusted ...ed25519.PublicKey) (*Alert, error) {
	payload, err := signing.Verify(env, trusted...)
	if err != nil {
		return nil, err
	}
	return Decode(payload)
}

// Decode parses and checks a verified payload.
func Decode(payload []byte) (*Alert, error) {
	if len(payload) > MaxPayload {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(payload), MaxPayload)
	}
	var a Alert
	// Unknown fields are ignored, not refused: a city upgraded before its
	// wards must not silence them. What a ward needs is checked below.
	dec := json.NewDecoder(bytes.NewReader(payload))
	if err := dec.Decode(&a); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: data after the JSON object", ErrInvalid)
	}
	if err := a.Check(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return &a, nil
}
