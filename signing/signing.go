// Package signing signs and verifies what the city sends its wards with
// Ed25519: ward manifests, alerts and live announcements (alert/, manifest/
// wrap their JSON in an Envelope), and the answer to a join code. It also
// keeps the city's key file (GenerateKey writes it once, atomically, never
// over another; LoadKey refuses one others can read) and names a TLS
// certificate's key by its pin (SPKIPin), which a joined ward checks.
//
// A signed message travels as an Envelope: the exact payload bytes, the id
// of the key that signed them, and the signature. The receiver verifies the
// bytes it received before it parses them, so that nothing from an untrusted
// sender ever reaches a parser, and no re-encoding can change what was
// signed.
//
// Keys: the private key lives in a PEM file (PKCS#8, mode 0600) on the city
// server; a public key is written as the standard base64 of its 32 bytes,
// and named by its KeyID, a short fingerprint that humans can compare.
package signing

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"loa/internal/atomicfile"
)

// Errors returned by Verify. They are distinct so that a receiver can say
// in its log why a message was rejected.
var (
	// ErrBadSignature: the signature does not match the payload under the
	// key the envelope names (tampered, truncated or forged).
	ErrBadSignature = errors.New("bad signature")
	// ErrUnknownKey: the envelope names a key the receiver does not trust.
	ErrUnknownKey = errors.New("signed by an unknown key")
)

// ErrKeyExists is returned by GenerateKey when the key file is already there:
// a signing key is never overwritten, since every ward trusts it.
var ErrKeyExists = errors.New("key file already exists")

// Envelope is a signed payload. In JSON the byte fields are standard base64.
type Envelope struct {
	Payload   []byte `json:"payload"`
	KeyID     string `json:"key_id"`
	Signature []byte `json:"signature"`
}

// KeyID is the fingerprint of a public key: the first 8 bytes of its
// sha256, in hex (16 characters).
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:8])
}

// Sign signs payload with priv. The envelope holds payload itself, not a copy.
func Sign(priv ed25519.PrivateKey, payload []byte) Envelope {
	pub := priv.Public().(ed25519.PublicKey)
	return Envelope{Payload: payload, KeyID: KeyID(pub), Signature: ed25519.Sign(priv, payload)}
}

// Verify checks env against the trusted keys and returns its payload. The
// key is chosen by the envelope's KeyID; an id no trusted key has is
// ErrUnknownKey, a signature that does not verify under the named key is
// ErrBadSignature.
func Verify(env Envelope, trusted ...ed25519.PublicKey) ([]byte, error) {
	for _, pub := range trusted {
		if len(pub) != ed25519.PublicKeySize || KeyID(pub) != env.KeyID {
			continue
		}
		if len(env.Signature) != ed25519.SignatureSize || !ed25519.Verify(pub, env.Payload, env.Signature) {
			return nil, fmt.Errorf("key %s: %w", env.KeyID, ErrBadSignature)
		}
		return env.Payload, nil
	}
	return nil, fmt.Errorf("key %q: %w", env.KeyID, ErrUnknownKey)
}

// PublicKeyText is the text form of a public key: standard base64 of its
// 32 bytes.
func PublicKeyText(pub ed25519.PublicKey) string {
	return base64.StdEncoding.EncodeToString(pub)
}

// ParsePublicKey reads the text form of a public key (surrounding blanks
// are ignored).
func ParsePublicKey(s string) (ed25519.PublicKey, error) {
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil {
		return nil, fmt.Errorf("public key %q: not base64: %v", s, err)
	}
	if len(b) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("public key %q: %d bytes, want %d", s, len(b), ed25519.PublicKeySize)
	}
	return ed25519.PublicKey(b), nil
}

const pemType = "PRIVATE KEY"

// GenerateKey creates a new key and writes it to path (PEM, PKCS#8, mode
// 0600). The file appears complete or not at all, and an existing file is
// never replaced (ErrKeyExists), even by a concurrent GenerateKey.
func GenerateKey(path string) (ed25519.PrivateKey, error) {
	if _, err := os.Lstat(path); err == nil {
		return nil, fmt.Errorf("%s: %w", path, ErrKeyExists)
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, err
	}
	data := pem.EncodeToMemory(&pem.Block{Type: pemType, Bytes: der})
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	// WriteNew links, and link, unlike rename, fails when path exists: no
	// window in which a second writer could replace the key.
	if err := atomicfile.WriteNew(path, data, 0o600); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("%s: %w", path, ErrKeyExists)
		}
		return nil, err
	}
	return priv, nil
}

// LoadKey reads a key written by GenerateKey. A key file that others can
// read is refused: whoever holds it can sign alerts to every ward.
func LoadKey(path string) (ed25519.PrivateKey, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("key file %s is readable by others (mode %04o); run: chmod 600 %s", path, st.Mode().Perm(), path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, rest := pem.Decode(data)
	if block == nil || block.Type != pemType || len(strings.TrimSpace(string(rest))) != 0 {
		return nil, fmt.Errorf("key file %s: not a PEM %q block", path, pemType)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("key file %s: %v", path, err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("key file %s: a %T, not an Ed25519 key", path, k)
	}
	return priv, nil
}

// ErrUnsigned: a message that must be signed came bare.
var ErrUnsigned = errors.New("not signed")

// SignJSON is payload signed with priv, as the JSON of its Envelope: how a
// ward sends its receipts and as-run lines.
func SignJSON(priv ed25519.PrivateKey, payload []byte) ([]byte, error) {
	return json.Marshal(Sign(priv, payload))
}

// OpenSigned reads a message that is either a JSON Envelope or, from
// senders older than signing, the bare payload. With a key, only an
// envelope that verifies under it is accepted (a bare message is
// ErrUnsigned; another key ErrUnknownKey; a bad signature ErrBadSignature).
// Without one (the sender has registered none yet) the payload is
// returned unverified: signed then only says it came in an envelope.
func OpenSigned(data []byte, key ed25519.PublicKey) (payload []byte, signed bool, err error) {
	var env Envelope
	if json.Unmarshal(data, &env) != nil || (env.Payload == nil && env.Signature == nil && env.KeyID == "") {
		if key != nil {
			return nil, false, ErrUnsigned
		}
		return data, false, nil
	}
	if key == nil {
		return env.Payload, false, nil
	}
	p, err := Verify(env, key)
	if err != nil {
		return nil, false, err
	}
	return p, true, nil
}

// SPKIPin is the pin of a TLS certificate's public key: "sha256/" and the
// standard base64 of the sha256 of its DER SubjectPublicKeyInfo (the form
// of HPKP and curl's --pinnedpubkey). The city sends it in the signed join
// answer; the ward checks every TLS connection to the city against it.
func SPKIPin(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	return "sha256/" + base64.StdEncoding.EncodeToString(sum[:])
}
