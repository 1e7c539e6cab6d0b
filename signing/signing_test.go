package signing

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func newKey(t *testing.T) ed25519.PrivateKey {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return priv
}

func pubOf(k ed25519.PrivateKey) ed25519.PublicKey { return k.Public().(ed25519.PublicKey) }

func TestSignVerify(t *testing.T) {
	city, other := newKey(t), newKey(t)
	payload := []byte(`{"ward":"phuong-1","version":7}`)
	env := Sign(city, payload)

	got, err := Verify(env, pubOf(other), pubOf(city))
	if err != nil || !bytes.Equal(got, payload) {
		t.Fatalf("Verify = %q, %v; want the payload", got, err)
	}

	// Through JSON, as on the wire.
	wire, err := json.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	var back Envelope
	if err := json.Unmarshal(wire, &back); err != nil {
		t.Fatal(err)
	}
	if got, err := Verify(back, pubOf(city)); err != nil || !bytes.Equal(got, payload) {
		t.Fatalf("after JSON: %q, %v", got, err)
	}
	if !strings.Contains(string(wire), `"key_id":"`+KeyID(pubOf(city))+`"`) {
		t.Errorf("wire form %s lacks the key id", wire)
	}
}

func TestVerifyRejects(t *testing.T) {
	city, other := newKey(t), newKey(t)
	payload := []byte(`{"ward":"phuong-1","version":7}`)
	good := Sign(city, payload)

	tampered := good
	tampered.Payload = []byte(`{"ward":"phuong-1","version":8}`)

	badSig := good
	badSig.Signature = append([]byte(nil), good.Signature...)
	badSig.Signature[10] ^= 1

	shortSig := good
	shortSig.Signature = good.Signature[:20]

	// Signed by another key that claims to be the city's.
	forged := Sign(other, payload)
	forged.KeyID = good.KeyID

	fromOther := Sign(other, payload)

	for _, tc := range []struct {
		name string
		env  Envelope
		want error
	}{
		{"tampered payload", tampered, ErrBadSignature},
		{"flipped signature bit", badSig, ErrBadSignature},
		{"short signature", shortSig, ErrBadSignature},
		{"other key under the city's id", forged, ErrBadSignature},
		{"other key", fromOther, ErrUnknownKey},
		{"no key id", Envelope{Payload: payload, Signature: good.Signature}, ErrUnknownKey},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Verify(tc.env, pubOf(city))
			if !errors.Is(err, tc.want) {
				t.Fatalf("Verify = %v, want %v", err, tc.want)
			}
			if got != nil {
				t.Errorf("payload returned with an error: %q", got)
			}
		})
	}
	if _, err := Verify(good); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("no trusted keys: %v", err)
	}
}

func TestPublicKeyText(t *testing.T) {
	pub := pubOf(newKey(t))
	s := PublicKeyText(pub)
	got, err := ParsePublicKey(" " + s + "\n")
	if err != nil || !bytes.Equal(got, pub) {
		t.Fatalf("ParsePublicKey(%q) = %x, %v", s, got, err)
	}
	if len(KeyID(pub)) != 16 {
		t.Errorf("KeyID %q: want 16 hex digits", KeyID(pub))
	}
	for _, bad := range []string{"", "not base64!", "AAAA"} {
		if _, err := ParsePublicKey(bad); err == nil {
			t.Errorf("ParsePublicKey(%q) accepted", bad)
		}
	}
}

func TestGenerateLoadKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys", "city.key")
	priv, err := GenerateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("mode %04o, want 0600", st.Mode().Perm())
	}
	loaded, err := LoadKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if !priv.Equal(loaded) {
		t.Fatal("loaded key differs from the generated one")
	}
	// Never overwritten.
	if _, err := GenerateKey(path); !errors.Is(err, ErrKeyExists) {
		t.Fatalf("second GenerateKey: %v, want ErrKeyExists", err)
	}
	again, err := LoadKey(path)
	if err != nil || !priv.Equal(again) {
		t.Fatal("key changed by a refused GenerateKey")
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("leftover files beside the key: %v", entries)
	}

	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadKey(path); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("world-readable key: %v", err)
	}
}

func TestGenerateKeyConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "city.key")
	var wg sync.WaitGroup
	var mu sync.Mutex
	var won []ed25519.PrivateKey
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k, err := GenerateKey(path)
			if err == nil {
				mu.Lock()
				won = append(won, k)
				mu.Unlock()
			} else if !errors.Is(err, ErrKeyExists) {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if len(won) != 1 {
		t.Fatalf("%d writers succeeded, want 1", len(won))
	}
	k, err := LoadKey(path)
	if err != nil || !k.Equal(won[0]) {
		t.Fatal("the key on disk is not the winner's")
	}
}

func TestLoadKeyBadFiles(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"empty":    "",
		"garbage":  "hello\n",
		"wrongpem": "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
		"baddr":    "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
	} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadKey(p); err == nil {
			t.Errorf("%s: accepted", name)
		} else if !strings.Contains(err.Error(), p) {
			t.Errorf("%s: error %q does not name the file", name, err)
		}
	}
	if _, err := LoadKey(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

// A ward's message: signed by its registered key it opens; bare, signed by
// another key or tampered it is refused with a reason; with no key
// registered (a ward older than receipt signing) it opens unverified.
func TestOpenSigned(t *testing.T) {
	_, ward, _ := ed25519.GenerateKey(rand.Reader)
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	pub := ward.Public().(ed25519.PublicKey)
	payload := []byte(`{"alert":"cb-1","state":"finished"}`)
	good, err := SignJSON(ward, payload)
	if err != nil {
		t.Fatal(err)
	}
	forged, _ := SignJSON(other, payload)
	var env Envelope
	json.Unmarshal(good, &env)
	env.Payload = []byte(`{"alert":"cb-2","state":"finished"}`)
	tampered, _ := json.Marshal(env)
	env.KeyID = ""
	env.Signature = nil
	noSig, _ := json.Marshal(env)

	for _, tc := range []struct {
		name   string
		data   []byte
		key    ed25519.PublicKey
		want   error
		signed bool
	}{
		{"signed by the ward's key", good, pub, nil, true},
		{"bare", payload, pub, ErrUnsigned, false},
		{"another key", forged, pub, ErrUnknownKey, false},
		{"tampered", tampered, pub, ErrBadSignature, false},
		{"an envelope without a signature", noSig, pub, ErrUnknownKey, false},
		{"not JSON", []byte("xx"), pub, ErrUnsigned, false},
		{"no key registered, bare", payload, nil, nil, false},
		{"no key registered, signed", forged, nil, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, signed, err := OpenSigned(tc.data, tc.key)
			if !errors.Is(err, tc.want) || signed != tc.signed {
				t.Fatalf("err %v (want %v), signed %v", err, tc.want, signed)
			}
			if err == nil && string(p) != string(payload) {
				t.Fatalf("payload %s", p)
			}
		})
	}
}
