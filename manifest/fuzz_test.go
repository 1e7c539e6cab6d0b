package manifest

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"testing"

	"loa/signing"
)

// FuzzDecode: whatever a (trusted but buggy) city sends, Decode returns a
// manifest or an error, never panics, and what it accepts re-encodes to
// something it accepts again.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"ward":"w","version":1,"issued":"2026-05-01T00:00:00Z","timezone":"Asia/Ho_Chi_Minh","programs":"programs:\n","media":[]}`))
	f.Add([]byte(`{"ward":"w","version":2,"issued":"2026-05-01T00:00:00Z","timezone":"Asia/Ho_Chi_Minh","programs":"programs:\n  - id: a\n    cron: \"0 5 * * *\"\n    items: [` +
		`0000000000000000000000000000000000000000000000000000000000000001]\n","media":[{"sha256":"0000000000000000000000000000000000000000000000000000000000000001","size":5,"name":"a.mp3","url":"/api/v1/media/0000000000000000000000000000000000000000000000000000000000000001"}]}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Decode(data)
		if err != nil {
			return
		}
		b, err := m.Encode()
		if err != nil {
			t.Fatalf("accepted manifest does not encode: %v", err)
		}
		if _, err := Decode(b); err != nil {
			t.Fatalf("re-encoded manifest refused: %v\n%s", err, bytes.TrimSpace(b))
		}
	})
}

// FuzzOpen: whatever arrives from the network, ReadEnvelope and Open
// return an error or a manifest signed by the trusted key, never panic.
func FuzzOpen(f *testing.F) {
	seed := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, 32))
	pub := seed.Public().(ed25519.PublicKey)
	good := signing.Sign(seed, []byte(`{"ward":"w","version":1,"issued":"2026-05-01T00:00:00Z","timezone":"Asia/Ho_Chi_Minh","programs":"programs:\n","media":[]}`))
	b, _ := json.Marshal(good)
	f.Add(b)
	f.Add([]byte(`{"payload":"","key_id":"","signature":""}`))
	f.Add([]byte(`{"payload":null}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		env, err := ReadEnvelope(bytes.NewReader(data))
		if err != nil {
			return
		}
		m, err := Open(env, pub)
		if err == nil && (m == nil || !ed25519.Verify(pub, env.Payload, env.Signature)) {
			t.Fatal("accepted an envelope the key did not sign")
		}
	})
}
