package cap

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"
)

// testSigner is an RSA key and a self-signed certificate valid around now.
func testSigner(t *testing.T, name string, now time.Time) (*rsa.PrivateKey, []byte) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(now.UnixNano()), Subject: pkix.Name{CommonName: name, Organization: []string{"KTTV"}},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return key, der
}

// A message signed now with a valid certificate verifies; altered after
// signing (one word of the headline, the status, or an element added) it
// is refused as not verifying; a second signature is refused.
func TestSignedNow(t *testing.T) {
	now := time.Date(2026, 9, 15, 8, 0, 0, 0, time.FixedZone("ICT", 7*3600))
	key, cert := testSigner(t, "canh-bao", now)
	doc := []byte(strings.Replace(string(sample(t, "02")), "KSTO1055887203", "KTTV-1", 1))
	signed, err := SignEnveloped(doc, key, cert)
	if err != nil {
		t.Fatal(err)
	}
	a, err := Read(signed, now)
	if err != nil {
		t.Fatalf("%v\n%s", err, signed)
	}
	c, _ := x509.ParseCertificate(cert)
	if !a.Signed || a.Signer != Fingerprint(c) || !strings.Contains(a.SignerName, "canh-bao") || a.Identifier != "KTTV-1" {
		t.Fatalf("signed %v by %s %s", a.Signed, a.Signer, a.SignerName)
	}
	for _, tamper := range []struct{ from, to string }{
		{"SEVERE THUNDERSTORM WARNING", "SEVERE THUNDERSTORM WARNINGS"},
		{"<status>Actual</status>", "<status>Exercise</status>"},
		{"<scope>Public</scope>", "<scope>Public</scope><note>x</note>"},
	} {
		bad := bytes.Replace(signed, []byte(tamper.from), []byte(tamper.to), 1)
		if bytes.Equal(bad, signed) {
			t.Fatalf("%q not in the signed document", tamper.from)
		}
		_, err := Read(bad, now)
		var e *Error
		if !errors.As(err, &e) || e.Field != "signature" || !strings.Contains(err.Error(), "does not verify") {
			t.Errorf("tampered %q: %v", tamper.to, err)
		}
	}
	if _, err := Read(signed, now.Add(48*time.Hour)); err == nil || !strings.Contains(err.Error(), "not valid at this time") {
		t.Errorf("after the certificate's end: %v", err)
	}
	i := bytes.Index(signed, []byte("<ds:Signature"))
	j := bytes.Index(signed, []byte("</ds:Signature>"))
	if i < 0 || j < 0 {
		t.Fatalf("no ds:Signature in\n%s", signed)
	}
	sig := signed[i : j+len("</ds:Signature>")]
	twice := bytes.Replace(signed, sig, append(append([]byte{}, sig...), sig...), 1)
	if _, err := Read(twice, now); err == nil || !strings.Contains(err.Error(), "signatures") {
		t.Errorf("two signatures: %v", err)
	}
}
