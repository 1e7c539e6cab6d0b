package alert

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"time"

	"loa/signing"
)

// Live is a signed live announcement (level 60 of the ladder): the city's
// announcer on a stream, relayed by the wards it is for over their
// program — lowered (duck) or muted (exclusive). A start is sent again
// every few seconds while the announcement lasts, so that a ward that
// (re)connects joins it; a stop ends it. Like an alert, it plays only with
// a valid signature, before it expires, at the wards it names.
type Live struct {
	ID      string    `json:"id"`
	Kind    string    `json:"kind"` // start | stop
	Issued  time.Time `json:"issued"`
	Expires time.Time `json:"expires"`
	Targets Targets   `json:"targets"`
	// Recipients are the wards Targets meant (sorted; empty for all).
	Recipients []string `json:"recipients,omitempty"`
	// Stream, Mode and DuckDB say what a start plays and how.
	Stream string  `json:"stream,omitempty"`
	Mode   string  `json:"mode,omitempty"` // duck | exclusive
	DuckDB float64 `json:"duck_db,omitempty"`
	Title  string  `json:"title,omitempty"`
}

// Kinds of live messages; StopAll is the ID of a stop that ends whatever
// live announcement from the city is on air.
const (
	LiveStart = "start"
	LiveStop  = "stop"
	StopAll   = "*"
)

// MaxLiveLifetime bounds a live announcement: a stream left on by mistake
// stops by itself.
const MaxLiveLifetime = 12 * time.Hour

// Check validates a live message.
func (l *Live) Check() error {
	switch {
	case l.ID != StopAll && !ValidID(l.ID):
		return invalid("id", "%q is not an id", l.ID)
	case l.Kind != LiveStart && l.Kind != LiveStop:
		return invalid("kind", "%q: want start or stop", l.Kind)
	case l.Issued.IsZero() || l.Expires.IsZero() || !l.Expires.After(l.Issued):
		return invalid("expires", "must be after issued")
	case l.Expires.Sub(l.Issued) > MaxLiveLifetime:
		return invalid("expires", "at most %s after issued", MaxLiveLifetime)
	}
	if l.Kind == LiveStop {
		return nil
	}
	if l.ID == StopAll {
		return invalid("id", "%q is for stops only", StopAll)
	}
	if err := CheckStreamURL(l.Stream); err != nil {
		return invalid("stream", "%v", err)
	}
	switch l.Mode {
	case "duck":
		if l.DuckDB > -1 || l.DuckDB < -60 {
			return invalid("duck_db", "%.0f: want between -60 and -1", l.DuckDB)
		}
	case "exclusive":
	default:
		return invalid("mode", "%q: want duck or exclusive", l.Mode)
	}
	if !l.Targets.All && len(l.Targets.Wards) == 0 && len(l.Targets.Groups) == 0 {
		return invalid("targets", "none")
	}
	return checkText("title", l.Title, 200, true)
}

// For reports whether the live message is addressed to ward.
func (l *Live) For(ward string) bool {
	if l.Targets.All {
		return true
	}
	return contains(l.Recipients, ward)
}

// SignLive checks, encodes and signs a live message; it returns the
// envelope as sent on the wire.
func SignLive(priv ed25519.PrivateKey, l *Live) ([]byte, error) {
	if err := l.Check(); err != nil {
		return nil, err
	}
	b, err := json.Marshal(l)
	if err != nil {
		return nil, err
	}
	return json.Marshal(signing.Sign(priv, b))
}

// OpenLive reads a live message from the wire: the envelope, the
// signature against the trusted keys, and the message's checks.
func OpenLive(data []byte, trusted ...ed25519.PublicKey) (*Live, error) {
	env, err := ReadEnvelope(data)
	if err != nil {
		return nil, err
	}
	payload, err := signing.Verify(env, trusted...)
	if err != nil {
		return nil, err
	}
	var l Live
	dec := json.NewDecoder(bytes.NewReader(payload))
	if err := dec.Decode(&l); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if err := l.Check(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return &l, nil
}
