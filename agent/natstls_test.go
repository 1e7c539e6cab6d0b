package agent

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"loa/internal/testcert"
	"loa/natsbus"
	"loa/natsbus/natsserver"
	"loa/signing"
)

// The ward's NATS link to a tls:// server connects when the server's
// certificate has the pinned key, and not otherwise.
func TestCityNATSOverTLSChecksThePin(t *testing.T) {
	dir := t.TempDir()
	cf, kf := testcert.SelfSigned(t, dir, "nats")
	pair, err := tls.LoadX509KeyPair(cf, kf)
	if err != nil {
		t.Fatal(err)
	}
	seed, pub, _ := natsbus.NewUserKey()
	srv, err := natsserver.Start(natsserver.Config{Listen: "127.0.0.1:0", StoreDir: t.TempDir(), CityKey: pub,
		TLS: &tls.Config{Certificates: []tls.Certificate{pair}}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	b, _ := os.ReadFile(cf)
	blk, _ := pem.Decode(b)
	leaf, _ := x509.ParseCertificate(blk.Bytes)
	url := "tls://" + srv.Addr().String()
	log := slog.New(slog.DiscardHandler)

	good, err := DialCityNATS(url, seed, "phuong-1", log, signing.SPKIPin(leaf))
	if err != nil {
		t.Fatal(err)
	}
	defer good.Close()
	waitFor(t, "the pinned link up", 10*time.Second, func() bool { return good.State().Connected })

	// The same TLS configuration with another pin: the handshake is
	// refused, and says why.
	_, err = nats.Connect(url, nats.Secure(pinnedTLS("sha256/"+strings.Repeat("A", 43)+"=")), nats.Timeout(5*time.Second))
	if err == nil || !strings.Contains(err.Error(), "not the one pinned") {
		t.Fatalf("NATS with another pin: %v", err)
	}
}
