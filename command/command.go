// Package command is loa's signed command from the city to its wards
// (issue 16 "Remote control", issue 15 "Dừng tất cả"): stop everything,
// set the master volume, mute and unmute, sync now, play a test tone.
//
// A command travels like an alert: JSON inside a signing.Envelope signed
// with the city's key, verified by the ward against keys from its own
// configuration before anything parses it; then its form, addressee,
// expiry and id (replay) are checked. It goes on its own JetStream stream
// (natsbus.StreamCommands), not the alerts', so that a backlog of alerts
// never holds a "stop everything" up. The ward answers every command it
// sees with an Ack signed by its own key: done, failed or refused, with
// the reason.
package command

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"loa/alert"
	"loa/signing"
)

// Limits.
const (
	// MaxPayload bounds the signed JSON (a command names at most
	// alert.MaxRecipients wards).
	MaxPayload = 256 << 10
	// MaxEnvelope bounds the envelope read from the network.
	MaxEnvelope = MaxPayload/3*4 + 1024
	// MaxLifetime bounds expires − issued: a command is for now, not for
	// next week.
	MaxLifetime = 24 * time.Hour
	// MaxMute bounds a mute's or stop_all's duration.
	MaxMute = 24 * time.Hour
	// MaxToneSeconds bounds a test tone (a technician's check, not a
	// program: the speakers are busy with it meanwhile).
	MaxToneSeconds = 30
	// MinToneDBFS and MaxToneDBFS bound a test tone's level (the sine's
	// peak, dBFS); DefaultToneDBFS is the level when none is asked. Below
	// −40 it is not a useful check of a horn; above −3 the output's
	// limiter would alter it.
	MinToneDBFS, MaxToneDBFS, DefaultToneDBFS = -40.0, -3.0, -12.0
	// ToneHz is the test tone's frequency.
	ToneHz = 1000
	// MaxAmplifierSeconds bounds how long an amplifier command overrides
	// the automatic decision.
	MaxAmplifierSeconds = int64(24 * time.Hour / time.Second)
	// DefaultLogLines and MaxLogLines bound the log lines a diagnostics
	// bundle carries; MaxDiagnostics bounds the bundle's JSON (the ward
	// drops the oldest log lines, then the rest, to fit).
	DefaultLogLines, MaxLogLines = 200, 1000
	MaxDiagnostics               = 32 << 10
	// MinVolumeDB and MaxVolumeDB bound the master volume.
	MinVolumeDB, MaxVolumeDB = -60.0, 0.0
)

// Kind is what a command asks.
type Kind string

// Kinds, in priority order.
const (
	// StopAll (Dừng tất cả): cancel every alert and live announcement on
	// the ward and mute the scheduled programs for Args.MuteSeconds.
	StopAll Kind = "stop_all"
	// Volume sets the master volume to Args.DB (dB, ≤ 0), kept across
	// restarts.
	Volume Kind = "volume"
	// Mute mutes the programs for Args.MuteSeconds; Unmute ends a mute.
	Mute   Kind = "mute"
	Unmute Kind = "unmute"
	// SyncNow asks the ward to fetch its programs now.
	SyncNow Kind = "sync_now"
	// TestTone plays a 1 kHz tone for Args.Seconds at Args.LevelDBFS
	// (default DefaultToneDBFS) and reports the level measured at the
	// output in the ack.
	TestTone Kind = "test_tone"
	// Amplifier forces the amplifier on (Args.On true) or off for
	// Args.Seconds, then gives it back to the automatic decision. Alerts
	// power it even when it is forced off.
	Amplifier Kind = "amplifier"
	// Restart restarts the agent (after acking "done").
	Restart Kind = "restart"
	// Diagnostics asks the ward for a bounded bundle (status, the last
	// Args.LogLines log lines, its configuration without secrets, disk,
	// versions), sent back in its ack.
	Diagnostics Kind = "diagnostics"
)

// Kinds lists every kind.
var Kinds = []Kind{StopAll, Volume, Mute, Unmute, SyncNow, TestTone, Amplifier, Restart, Diagnostics}

// Args are a command's arguments; which apply depends on the kind.
type Args struct {
	// DB is the master volume of a volume command, in dB.
	DB *float64 `json:"db,omitempty"`
	// MuteSeconds is how long mute and stop_all keep the programs quiet
	// (stop_all: 0 cancels without muting).
	MuteSeconds int64 `json:"mute_seconds,omitempty"`
	// Seconds is a test tone's length, or how long an amplifier command
	// holds.
	Seconds int64 `json:"seconds,omitempty"`
	// LevelDBFS is a test tone's level (the sine's peak; nil:
	// DefaultToneDBFS).
	LevelDBFS *float64 `json:"level_dbfs,omitempty"`
	// On is what an amplifier command forces: powered (true) or off.
	On *bool `json:"on,omitempty"`
	// LogLines is how many of the last log lines a diagnostics bundle
	// carries (0: DefaultLogLines).
	LogLines int64 `json:"log_lines,omitempty"`
}

// ToneLevel is a test tone's level: the one asked, or DefaultToneDBFS.
func (a Args) ToneLevel() float64 {
	if a.LevelDBFS == nil {
		return DefaultToneDBFS
	}
	return *a.LevelDBFS
}

// Command is the signed message.
type Command struct {
	ID string        `json:"id"`
	To alert.Targets `json:"to"`
	// Recipients are the wards To meant when the city sent it (groups
	// resolved); empty with To.All.
	Recipients []string  `json:"recipients,omitempty"`
	Kind       Kind      `json:"kind"`
	Args       Args      `json:"args"`
	Issued     time.Time `json:"issued"`
	Expires    time.Time `json:"expires"`
	// Sender is the account that sent it (for the record).
	Sender string `json:"sender,omitempty"`
}

// For reports whether the command is addressed to ward.
func (c *Command) For(ward string) bool {
	if c.To.All {
		return true
	}
	for _, w := range c.Recipients {
		if w == ward {
			return true
		}
	}
	return false
}

// InvalidError names the field that is wrong; Msg says why, Vietnamese
// first, English beside it.
type InvalidError struct{ Field, Msg string }

func (e *InvalidError) Error() string { return e.Field + ": " + e.Msg }

// invalid is an InvalidError; vi and en are the same message in
// Vietnamese and English, formatted with the same args.
func invalid(field, vi, en string, args ...any) error {
	return &InvalidError{Field: field, Msg: fmt.Sprintf(vi, args...) + " / " + fmt.Sprintf(en, args...)}
}

// Check checks a command's form (not its signature, expiry or addressee).
// Its errors are *InvalidError naming the field, in Vietnamese and
// English.
func (c *Command) Check() error {
	switch {
	case !alert.ValidID(c.ID):
		return invalid("id", "%q: 1-128 ký tự A-Z a-z 0-9 . _ : @ -", "%q: 1-128 of A-Z a-z 0-9 . _ : @ -", c.ID)
	case !c.To.All && len(c.Recipients) == 0:
		return invalid("to", "không có phường nhận", "no ward")
	case len(c.Recipients) > alert.MaxRecipients:
		return invalid("to", "%d phường, tối đa %d", "%d wards, at most %d", len(c.Recipients), alert.MaxRecipients)
	case c.Issued.IsZero():
		return invalid("issued", "thiếu", "missing")
	case !c.Expires.After(c.Issued):
		return invalid("expires", "%s không sau thời điểm phát lệnh %s", "%s is not after issued %s", c.Expires.Format(time.RFC3339), c.Issued.Format(time.RFC3339))
	case c.Expires.Sub(c.Issued) > MaxLifetime:
		return invalid("expires", "%s sau khi phát lệnh: tối đa %s", "%s after issued: at most %s", c.Expires.Sub(c.Issued), MaxLifetime)
	}
	for _, w := range c.Recipients {
		if !alert.ValidName(w) {
			return invalid("to", "phường %q: chỉ a-z, 0-9 và '-'", "ward %q: a-z, 0-9 and '-'", w)
		}
	}
	a := c.Args
	switch c.Kind {
	case StopAll, Mute:
		if a.MuteSeconds < 0 || time.Duration(a.MuteSeconds)*time.Second > MaxMute {
			return invalid("args.mute_seconds", "%d: từ 0 đến %d", "%d: 0 to %d", a.MuteSeconds, int64(MaxMute/time.Second))
		}
		if c.Kind == Mute && a.MuteSeconds == 0 {
			return invalid("args.mute_seconds", "thiếu: tắt tiếng bao lâu", "missing: how long to mute")
		}
	case Volume:
		if a.DB == nil {
			return invalid("args.db", "thiếu: âm lượng tổng (dB)", "missing: the master volume in dB")
		}
		if *a.DB < MinVolumeDB || *a.DB > MaxVolumeDB || math.IsNaN(*a.DB) {
			return invalid("args.db", "%g: từ %g đến %g", "%g: %g to %g", *a.DB, MinVolumeDB, MaxVolumeDB)
		}
	case TestTone:
		if a.Seconds < 1 || a.Seconds > MaxToneSeconds {
			return invalid("args.seconds", "%d: từ 1 đến %d giây", "%d: 1 to %d seconds", a.Seconds, MaxToneSeconds)
		}
		if l := a.LevelDBFS; l != nil && (*l < MinToneDBFS || *l > MaxToneDBFS || math.IsNaN(*l)) {
			return invalid("args.level_dbfs", "%g: từ %g đến %g dBFS", "%g: %g to %g dBFS", *l, MinToneDBFS, MaxToneDBFS)
		}
	case Amplifier:
		if a.On == nil {
			return invalid("args.on", "thiếu: bật (true) hay tắt (false) bộ khuếch đại", "missing: amplifier on (true) or off (false)")
		}
		if a.Seconds < 1 || a.Seconds > MaxAmplifierSeconds {
			return invalid("args.seconds", "%d: từ 1 đến %d giây", "%d: 1 to %d seconds", a.Seconds, MaxAmplifierSeconds)
		}
	case Diagnostics:
		if a.LogLines < 0 || a.LogLines > MaxLogLines {
			return invalid("args.log_lines", "%d: từ 0 đến %d dòng", "%d: 0 to %d lines", a.LogLines, MaxLogLines)
		}
	case Unmute, SyncNow, Restart:
	default:
		return invalid("kind", "%q: phải là một trong %s", "%q: want one of %s", c.Kind, kindList())
	}
	return nil
}

func kindList() string {
	s := make([]string, len(Kinds))
	for i, k := range Kinds {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}

// ParseKind reads a kind's name.
func ParseKind(s string) (Kind, error) {
	for _, k := range Kinds {
		if string(k) == s {
			return k, nil
		}
	}
	return "", invalid("kind", "%q: phải là một trong %s", "%q: want one of %s", s, kindList())
}

// Sign checks c and signs it: the envelope and its JSON.
func Sign(priv ed25519.PrivateKey, c *Command) ([]byte, error) {
	if err := c.Check(); err != nil {
		return nil, err
	}
	b, err := json.Marshal(c)
	if err != nil {
		return nil, err
	}
	return json.Marshal(signing.Sign(priv, b))
}

// Errors of Open, beside signing's ErrBadSignature and ErrUnknownKey.
var (
	ErrUnsigned = errors.New("not a signed command")
	ErrTooLarge = errors.New("command too large")
	ErrInvalid  = errors.New("invalid command")
)

// Open reads a command from the network: a signed envelope whose
// signature verifies under one of the trusted keys, carrying a well-formed
// command. claimed is the id the message says it has, read before the
// signature is checked, for the refusal's ack (it may be forged).
func Open(data []byte, trusted ...ed25519.PublicKey) (c *Command, claimed string, err error) {
	if len(data) > MaxEnvelope {
		return nil, "", fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(data), MaxEnvelope)
	}
	var env signing.Envelope
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&env); err != nil || dec.More() {
		// A bare command (someone publishing JSON without a signature).
		var bare struct {
			ID string `json:"id"`
		}
		if json.Unmarshal(data, &bare) == nil {
			claimed = bare.ID
		}
		return nil, claimIt(claimed), fmt.Errorf("%w: not an envelope", ErrUnsigned)
	}
	if len(env.Payload) == 0 || env.KeyID == "" || len(env.Signature) == 0 {
		var bare struct {
			ID string `json:"id"`
		}
		if json.Unmarshal(data, &bare) == nil {
			claimed = bare.ID
		}
		if claimed == "" && len(env.Payload) > 0 && json.Unmarshal(env.Payload, &bare) == nil {
			claimed = bare.ID
		}
		return nil, claimIt(claimed), fmt.Errorf("%w: payload, key_id or signature missing", ErrUnsigned)
	}
	var peek struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(env.Payload, &peek) == nil {
		claimed = claimIt(peek.ID)
	}
	payload, err := signing.Verify(env, trusted...)
	if err != nil {
		return nil, claimed, err
	}
	if len(payload) > MaxPayload {
		return nil, claimed, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(payload), MaxPayload)
	}
	var cmd Command
	if err := json.Unmarshal(payload, &cmd); err != nil {
		return nil, claimed, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if err := cmd.Check(); err != nil {
		return nil, claimed, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return &cmd, cmd.ID, nil
}

func claimIt(id string) string {
	if len(id) > 128 {
		id = strings.ToValidUTF8(id[:128], "")
	}
	return id
}

// Reasons a ward refuses a command (alert's words, so the city's pages
// read alike).
const (
	ReasonUnsigned     = alert.ReasonUnsigned
	ReasonBadSignature = alert.ReasonBadSignature
	ReasonUnknownKey   = alert.ReasonUnknownKey
	ReasonInvalid      = alert.ReasonInvalid
	ReasonExpired      = alert.ReasonExpired
	ReasonReplay       = alert.ReasonReplay
	ReasonNotAddressed = alert.ReasonNotAddressed
)

// Reason sorts an Open error into a refusal reason.
func Reason(err error) string {
	switch {
	case errors.Is(err, ErrUnsigned):
		return ReasonUnsigned
	case errors.Is(err, signing.ErrBadSignature):
		return ReasonBadSignature
	case errors.Is(err, signing.ErrUnknownKey):
		return ReasonUnknownKey
	}
	return ReasonInvalid
}

// State is what became of a command at a ward.
type State string

const (
	// Done: executed.
	Done State = "done"
	// Failed: verified and addressed, but it could not be executed.
	Failed State = "failed"
	// Refused: not executed (Reason: unsigned, bad_signature, unknown_key,
	// invalid, expired, replay, not_addressed).
	Refused State = "refused"
)

// MaxAck bounds an ack on the wire, besides a diagnostics bundle;
// MaxAckWire bounds a signed ack with one (base64 in the envelope).
const (
	MaxAck     = 4 << 10
	MaxAckWire = 2 * (MaxAck + MaxDiagnostics)
)

// Ack is a ward's answer to a command, signed with the ward's own key.
type Ack struct {
	// Command is the command's id (for a refusal before the signature was
	// verified, the id it claimed: Verified false).
	Command  string    `json:"command"`
	Verified bool      `json:"verified"`
	Ward     string    `json:"ward"`
	State    State     `json:"state"`
	Reason   string    `json:"reason,omitempty"`
	At       time.Time `json:"at"`
	// Kind is the command's kind (verified ones).
	Kind Kind `json:"kind,omitempty"`
	// LevelDBFS is what a test tone measured at the output (RMS, dBFS);
	// VolumeDB the master volume after a volume command.
	LevelDBFS *float64 `json:"level_dbfs,omitempty"`
	VolumeDB  *float64 `json:"volume_db,omitempty"`
	// Diagnostics is a diagnostics command's bundle (JSON, at most
	// MaxDiagnostics bytes).
	Diagnostics json.RawMessage `json:"diagnostics,omitempty"`
}

// SignAck is an ack's bytes signed with the ward's key (nil: unsigned).
func SignAck(key ed25519.PrivateKey, a Ack) ([]byte, error) {
	if len(a.Reason) > 1024 {
		a.Reason = strings.ToValidUTF8(a.Reason[:1024], "")
	}
	a.Command = claimIt(a.Command)
	if len(a.Diagnostics) > MaxDiagnostics {
		return nil, fmt.Errorf("command ack: diagnostics of %d bytes, limit %d", len(a.Diagnostics), MaxDiagnostics)
	}
	b, err := json.Marshal(a)
	if err != nil {
		return nil, err
	}
	if key == nil {
		return b, nil
	}
	return signing.SignJSON(key, b)
}

// OpenAck reads an ack as published on a ward's subject; with the ward's
// registered key only one signed by it is read (see alert.OpenReport).
func OpenAck(data []byte, key ed25519.PublicKey) (a Ack, signed bool, err error) {
	if len(data) > MaxAckWire {
		return a, false, fmt.Errorf("command ack: %d bytes, limit %d", len(data), MaxAckWire)
	}
	payload, signed, err := signing.OpenSigned(data, key)
	if err != nil {
		return a, false, fmt.Errorf("command ack: %w", err)
	}
	if err := json.Unmarshal(payload, &a); err != nil {
		return a, false, fmt.Errorf("command ack: %v", err)
	}
	switch a.State {
	case Done, Failed, Refused:
	default:
		return a, false, fmt.Errorf("command ack: state %q", a.State)
	}
	if len(a.Diagnostics) > MaxDiagnostics {
		return a, false, fmt.Errorf("command ack: diagnostics of %d bytes, limit %d", len(a.Diagnostics), MaxDiagnostics)
	}
	if a.At.IsZero() || len(a.Command) > 128 {
		return a, false, errors.New("command ack: no time, or id too long")
	}
	return a, signed, nil
}
