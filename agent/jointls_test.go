package agent

import (
	"context"
	"crypto/tls"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"loa/internal/testcert"
	"loa/signing"
)

// A city with a certificate no authority vouches for: the join is trusted
// through the signing key's fingerprint, and the certificate's key is
// pinned; the pinned client then talks to that city and to no other.
func TestJoinOverSelfSignedHTTPSPinsTheCertificate(t *testing.T) {
	f := newJoinFixture(t, "xa-tls", "")
	srv := httptest.NewTLSServer(f.city.Handler())
	defer srv.Close()
	j := f.joiner("")
	j.cityURL = srv.URL
	j.fingerprint = f.city.KeyID()
	if err := j.run(context.Background()); err != nil {
		t.Fatalf("join: %v\n%s", err, f.out.String())
	}
	cfg, err := LoadConfig(f.config, true)
	if err != nil {
		t.Fatal(err)
	}
	want := signing.SPKIPin(srv.Certificate())
	if cfg.City.TLSPin != want || !strings.Contains(f.out.String(), "pinned") {
		t.Fatalf("city.tls_pin %q, want %q\n%s", cfg.City.TLSPin, want, f.out.String())
	}

	pinned := &http.Client{Transport: &http.Transport{TLSClientConfig: pinnedTLS(cfg.City.TLSPin)}}
	if resp, err := pinned.Get(srv.URL + "/api/v1/key"); err != nil {
		t.Fatalf("pinned client to the city: %v", err)
	} else {
		resp.Body.Close()
	}
	// Another key, the same city behind it.
	other := httptest.NewUnstartedServer(f.city.Handler())
	cf, kf := testcert.SelfSigned(t, t.TempDir(), "other")
	cert, err := tls.LoadX509KeyPair(cf, kf)
	if err != nil {
		t.Fatal(err)
	}
	other.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	other.StartTLS()
	defer other.Close()
	if _, err := pinned.Get(other.URL + "/api/v1/key"); !errors.Is(err, errPinMismatch) {
		t.Fatalf("pinned client to another certificate: %v, want %v", err, errPinMismatch)
	}
}

// The city signs the pin of the certificate it serves: a join served with
// another certificate (someone decrypting on the way) is refused.
func TestJoinRefusesAnotherCertificateThanTheCitys(t *testing.T) {
	f := newJoinFixture(t, "xa-mitm", "")
	f.city.Config.TLS.Cert, f.city.Config.TLS.Key = testcert.SelfSigned(t, t.TempDir(), "city")
	srv := httptest.NewTLSServer(f.city.Handler()) // not the city's certificate
	defer srv.Close()
	j := f.joiner("")
	j.cityURL = srv.URL
	j.fingerprint = f.city.KeyID()
	err := j.run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "someone is between") {
		t.Fatalf("join through another certificate: %v\n%s", err, f.out.String())
	}
	if b, _ := os.ReadFile(f.config); strings.Contains(string(b), "token") {
		t.Fatalf("configuration written:\n%s", b)
	}
}

func TestCheckPin(t *testing.T) {
	for _, bad := range []string{"abc", "sha256/abc", "sha1/" + strings.Repeat("A", 43) + "=", "sha256/" + strings.Repeat("A", 40)} {
		if checkPin(bad) == nil {
			t.Errorf("pin %q accepted", bad)
		}
	}
	if err := checkPin("sha256/" + strings.Repeat("A", 43) + "="); err != nil {
		t.Error(err)
	}
}
