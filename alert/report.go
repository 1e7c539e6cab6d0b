package alert

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"loa/signing"
)

// State is where an alert stands at a ward (GLOSSARY: Đã nhận / Đang phát
// / Đã phát xong / Từ chối).
type State string

const (
	// Received: verified, addressed to the ward, recorded.
	Received State = "received"
	// Started: its first sample went on air.
	Started State = "started"
	// Finished: it played to the end (for a Cancel: the cancel was applied).
	Finished State = "finished"
	// Cancelled: a Cancel or Update stopped it.
	Cancelled State = "cancelled"
	// Failed: verified but it could not play (Reason says why).
	Failed State = "failed"
	// Rejected: refused (Reason: unsigned, bad signature, unknown key,
	// invalid, expired, replay, not addressed).
	Rejected State = "rejected"
	// Skipped: a Test or Exercise alert, received but not put on air.
	Skipped State = "skipped"
)

// Final reports whether nothing more will happen to the alert at the ward.
func (s State) Final() bool {
	switch s {
	case Finished, Cancelled, Failed, Rejected, Skipped:
		return true
	}
	return false
}

// Rank orders states for a summary: a ward that finished an alert and
// later rejected a replay of it shows finished.
func (s State) Rank() int {
	switch s {
	case Rejected:
		return 1
	case Received:
		return 2
	case Started:
		return 3
	case Failed:
		return 4
	case Skipped:
		return 5
	case Cancelled:
		return 6
	case Finished:
		return 7
	}
	return 0
}

// Reasons a ward rejects an alert: the label values of
// loa_alerts_rejected_total.
const (
	ReasonUnsigned     = "unsigned"
	ReasonBadSignature = "bad_signature"
	ReasonUnknownKey   = "unknown_key"
	ReasonInvalid      = "invalid"
	ReasonExpired      = "expired"
	ReasonReplay       = "replay"
	ReasonNotAddressed = "not_addressed"
)

// RejectReasons lists every reason.
var RejectReasons = []string{ReasonUnsigned, ReasonBadSignature, ReasonUnknownKey, ReasonInvalid, ReasonExpired, ReasonReplay, ReasonNotAddressed}

// MaxReport bounds a report on the wire.
const MaxReport = 4 << 10

// Report is a ward's receipt for an alert. It travels signed by the
// ward's own Ed25519 key (SignReport; the city verifies it with
// OpenReport against the key the ward registered): the NATS subject, on
// which only the holder of the ward's NATS key may publish, is not proof
// enough, since that key could be copied.
type Report struct {
	// Alert is the alert's id. For a rejection before the signature was
	// verified it is the id the message claimed (Verified false), which
	// may be forged.
	Alert    string `json:"alert"`
	Verified bool   `json:"verified"`
	Ward     string `json:"ward"`
	State    State  `json:"state"`
	// Reason says why, for failed, rejected and skipped.
	Reason string    `json:"reason,omitempty"`
	At     time.Time `json:"at"`
	// FetchMS is how long fetching the alert's media took (received only;
	// 0: it was there).
	FetchMS int64 `json:"fetch_ms,omitempty"`
	// Seq is the ward's report counter, for ordering and duplicates.
	Seq int64 `json:"seq,omitempty"`
}

// String is the state with its reason: "rejected: expired".
func (r Report) String() string {
	if r.Reason == "" {
		return string(r.State)
	}
	return string(r.State) + ": " + r.Reason
}

// EncodeReport returns a report's bytes, its reason cut to fit.
func EncodeReport(r Report) ([]byte, error) {
	if len(r.Reason) > 1024 {
		r.Reason = strings.ToValidUTF8(r.Reason[:1024], "")
	}
	if len(r.Alert) > 128 {
		r.Alert = strings.ToValidUTF8(r.Alert[:128], "")
	}
	return json.Marshal(r)
}

// DecodeReport parses a report from a ward.
func DecodeReport(data []byte) (Report, error) {
	var r Report
	if len(data) > MaxReport {
		return r, fmt.Errorf("report: %d bytes, limit %d", len(data), MaxReport)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&r); err != nil {
		return r, fmt.Errorf("report: %v", err)
	}
	switch r.State {
	case Received, Started, Finished, Cancelled, Failed, Rejected, Skipped:
	default:
		return r, fmt.Errorf("report: state %q", r.State)
	}
	if r.At.IsZero() {
		return r, errors.New("report: no time")
	}
	if len(r.Alert) > 128 || len(r.Reason) > 1024 {
		return r, errors.New("report: alert id or reason too long")
	}
	return r, nil
}

// SignReport is a report's bytes signed with the ward's key: a
// signing.Envelope in JSON, whose payload is EncodeReport's.
func SignReport(key ed25519.PrivateKey, r Report) ([]byte, error) {
	body, err := EncodeReport(r)
	if err != nil {
		return nil, err
	}
	return signing.SignJSON(key, body)
}

// OpenReport reads a receipt as published on a ward's subject. With the
// ward's registered key, only a receipt signed by it is read (the errors
// are signing's: ErrUnsigned, ErrUnknownKey, ErrBadSignature); without
// one (a ward that registered none yet) the receipt is read unverified,
// signed or not, and signed is false.
func OpenReport(data []byte, key ed25519.PublicKey) (r Report, signed bool, err error) {
	if len(data) > 2*MaxReport {
		return r, false, fmt.Errorf("report: %d bytes, limit %d", len(data), 2*MaxReport)
	}
	payload, signed, err := signing.OpenSigned(data, key)
	if err != nil {
		return r, false, fmt.Errorf("report: %w", err)
	}
	r, err = DecodeReport(payload)
	return r, signed, err
}
