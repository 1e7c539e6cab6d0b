// Package manifest is the signed per-ward manifest the city serves and the
// agent applies: which programs a ward plays and which media files they
// need, named by sha256.
//
// The payload is JSON; it travels inside a signing.Envelope, so a ward
// checks the city's signature on the exact bytes before anything parses
// them. Programs are ONE program file in the operator's format (DESIGN.md
// §4): the ward's effective programs (city-wide, its groups', its own)
// merged, with every media reference rewritten to its sha256 key. An agent
// therefore loads a manifest with the very parser and checks it uses for a
// local file.
//
// Version increases on every change of a ward's effective programs and is
// the replay protection: an agent never goes back to an older version.
package manifest

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"loa/mediastore"
	"loa/schedule"
	"loa/signing"
)

// MaxPayload bounds a manifest's payload. The largest real manifest (a few
// hundred programs, a thousand media) is well under 1 MiB; anything bigger
// is refused before it is parsed.
const MaxPayload = 4 << 20

// MaxEnvelope bounds the signed envelope as read from the network: the
// payload in base64 plus room for the key id and signature.
const MaxEnvelope = MaxPayload/3*4 + 4 + 1024

// ErrTooLarge is returned for a manifest or envelope over its limit.
var ErrTooLarge = errors.New("manifest too large")

// ErrInvalid wraps every reason a manifest is refused after its signature
// checked out: a city bug, never something to apply.
var ErrInvalid = errors.New("invalid manifest")

// Manifest is the payload.
type Manifest struct {
	Ward    string    `json:"ward"`
	Version int64     `json:"version"`
	Issued  time.Time `json:"issued"`
	// Timezone is the city's zone; Programs are in it.
	Timezone string `json:"timezone"`
	// Programs is a program file (YAML) with sha256 keys for media.
	Programs string  `json:"programs"`
	Media    []Media `json:"media"`
}

// Media is one file the programs need.
type Media struct {
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
	// Name is the operator's name for it (the uploaded file name), for
	// messages only.
	Name string `json:"name"`
	// URL is where to fetch it, relative to the city's URL (usually
	// /api/v1/media/SHA256) or absolute.
	URL string `json:"url"`
}

// Encode returns the payload bytes.
func (m *Manifest) Encode() ([]byte, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	if len(b) > MaxPayload {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(b), MaxPayload)
	}
	return b, nil
}

// Sign encodes m and signs it.
func Sign(priv ed25519.PrivateKey, m *Manifest) (signing.Envelope, error) {
	b, err := m.Encode()
	if err != nil {
		return signing.Envelope{}, err
	}
	return signing.Sign(priv, b), nil
}

// ReadEnvelope reads a signed envelope (JSON) from r, refusing more than
// MaxEnvelope bytes before parsing anything.
func ReadEnvelope(r io.Reader) (signing.Envelope, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxEnvelope+1))
	if err != nil {
		return signing.Envelope{}, err
	}
	if len(data) > MaxEnvelope {
		return signing.Envelope{}, fmt.Errorf("%w: envelope over %d bytes", ErrTooLarge, MaxEnvelope)
	}
	var env signing.Envelope
	if err := json.Unmarshal(data, &env); err != nil {
		return signing.Envelope{}, fmt.Errorf("%w: envelope: %v", ErrInvalid, err)
	}
	return env, nil
}

// Open verifies env against the trusted keys and decodes its payload.
// Signature errors are signing.ErrBadSignature or signing.ErrUnknownKey.
func Open(env signing.Envelope, trusted ...ed25519.PublicKey) (*Manifest, error) {
	payload, err := signing.Verify(env, trusted...)
	if err != nil {
		return nil, err
	}
	return Decode(payload)
}

// Decode parses and checks a payload (already verified): size, fields,
// media keys, and that its programs parse and use only the media it lists.
func Decode(payload []byte) (*Manifest, error) {
	if len(payload) > MaxPayload {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(payload), MaxPayload)
	}
	var m Manifest
	dec := json.NewDecoder(bytes.NewReader(payload))
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: data after the JSON object", ErrInvalid)
	}
	if err := m.check(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return &m, nil
}

func (m *Manifest) check() error {
	switch {
	case m.Ward == "":
		return errors.New("no ward")
	case m.Version <= 0:
		return fmt.Errorf("version %d is not positive", m.Version)
	case m.Issued.IsZero():
		return errors.New("no issued time")
	}
	if m.Timezone == "" || m.Timezone == "Local" {
		return fmt.Errorf("timezone %q is not an IANA zone name", m.Timezone)
	}
	if _, err := time.LoadLocation(m.Timezone); err != nil {
		return fmt.Errorf("timezone %q: %v", m.Timezone, err)
	}
	listed := make(map[string]bool, len(m.Media))
	for i, md := range m.Media {
		if !mediastore.ValidKey(md.SHA256) {
			return fmt.Errorf("media %d: %q is not a sha256 key", i+1, md.SHA256)
		}
		if listed[md.SHA256] {
			return fmt.Errorf("media %s listed twice", md.SHA256)
		}
		listed[md.SHA256] = true
		if md.Size <= 0 {
			return fmt.Errorf("media %s: size %d", md.SHA256, md.Size)
		}
		if md.URL != "" {
			if err := checkURL(md.URL); err != nil {
				return fmt.Errorf("media %s: %v", md.SHA256, err)
			}
		}
	}
	f, err := m.File("")
	if err != nil {
		return err
	}
	if got := f.Location.String(); got != m.Timezone {
		return fmt.Errorf("programs are in %s, the manifest says %s", got, m.Timezone)
	}
	for _, ref := range References(f) {
		if !listed[ref.Ref] {
			return fmt.Errorf("programs line %d: media %q is not in the media list", ref.Line, ref.Ref)
		}
	}
	return nil
}

func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("url %q: %v", s, err)
	}
	if u.IsAbs() && u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("url %q: not http or https", s)
	}
	if !u.IsAbs() && (u.Host != "" || !strings.HasPrefix(u.Path, "/")) {
		return fmt.Errorf("url %q: want an absolute path or an http(s) URL", s)
	}
	return nil
}

// File parses the manifest's programs. path names the file in messages
// (default "manifest v<version>"). Media references are sha256 keys.
func (m *Manifest) File(path string) (*schedule.File, error) {
	if path == "" {
		path = fmt.Sprintf("manifest v%d", m.Version)
	}
	return schedule.Parse(path, []byte(m.Programs))
}

// References lists every media reference of f's programs, in file order.
func References(f *schedule.File) []schedule.MediaRef {
	var out []schedule.MediaRef
	for _, p := range f.Programs {
		if p.Chime != nil {
			out = append(out, *p.Chime)
		}
		out = append(out, p.Items...)
		out = append(out, p.Fallback...)
	}
	return out
}
