package city_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"loa/city"
	"loa/city/api"
	"loa/city/citytest"
	"loa/signing"
)

// GET /api/v1/time?nonce=N is the city's clock and N, signed with the
// city's key; a bad nonce is a 400 naming it; without a nonce the old
// unsigned answer stays for older agents.
func TestTimeIsSignedWithTheNonce(t *testing.T) {
	c := citytest.New(t)
	nonce := "00112233445566778899aabbccddeeff"
	code, body, h := c.Do(t, "GET", "/api/v1/time?nonce="+nonce, "", nil)
	if code != 200 || h.Get("Cache-Control") != "no-store" {
		t.Fatalf("HTTP %d %s", code, body)
	}
	var env signing.Envelope
	if err := json.Unmarshal(body, &env); err != nil {
		t.Fatal(err)
	}
	payload, err := signing.Verify(env, c.PublicKey())
	if err != nil {
		t.Fatalf("not signed by the city's key: %v", err)
	}
	var st api.SignedTime
	json.Unmarshal(payload, &st)
	if st.Kind != api.TimeKind || st.Nonce != nonce || time.Since(time.Unix(0, st.UnixNano)).Abs() > time.Minute {
		t.Fatalf("payload %s", payload)
	}
	for _, bad := range []string{"", "abc", "ZZ112233445566778899aabbccddeeff", "00112233445566778899AABBCCDDEEFF", strings.Repeat("a", 65), "%22%7D"} {
		code, body, _ := c.Do(t, "GET", "/api/v1/time?nonce="+bad, "", nil)
		if code != 400 || !strings.Contains(string(body), "nonce") {
			t.Errorf("nonce %q: HTTP %d %s", bad, code, body)
		}
	}
	code, body, _ = c.Do(t, "GET", "/api/v1/time", "", nil)
	var old struct {
		UnixNano int64 `json:"unix_ns"`
	}
	if json.Unmarshal(body, &old); code != 200 || old.UnixNano == 0 {
		t.Fatalf("without a nonce: HTTP %d %s", code, body)
	}
}

// nats.tls needs the certificate, and is the embedded server's.
func TestNATSTLSConfig(t *testing.T) {
	for body, want := range map[string]string{
		"data: DIR/data\nnats:\n  tls: true\n": "nats.tls: needs tls.cert and tls.key",
		"data: DIR/data\ntls:\n  cert: DIR/c.pem\n  key: DIR/k.pem\nnats:\n  tls: true\n  url: nats://x:4222\n": "nats.tls: for the embedded server only",
	} {
		if _, err := city.LoadConfig(writeConfig(t, body)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", body, err, want)
		}
	}
	if _, err := city.LoadConfig(writeConfig(t, "data: DIR/data\ntls:\n  cert: DIR/c.pem\n  key: DIR/k.pem\nnats:\n  tls: true\n")); err != nil {
		t.Errorf("nats.tls with a certificate: %v", err)
	}
}
