package agent

import (
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"loa/signing"
)

// pinPrefix starts a certificate pin (signing.SPKIPin). A key pin survives
// renewals that keep the key (certbot renew --reuse-key; see docs/install.md).
const pinPrefix = "sha256/"

// checkPin validates a city.tls_pin value.
func checkPin(pin string) error {
	if pin == "" {
		return nil
	}
	b, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(pin, pinPrefix))
	if !strings.HasPrefix(pin, pinPrefix) || err != nil || len(b) != sha256.Size {
		return fmt.Errorf("%q: want %s and the base64 of a sha256 (loa-agent join writes it)", pin, pinPrefix)
	}
	return nil
}

// errPinMismatch: the server's certificate is not the one pinned.
var errPinMismatch = errors.New("the city's certificate is not the one pinned at join (city.tls_pin)")

// pinnedTLS is the TLS configuration of the ward's links to the city: with
// a pin, the server's certificate is accepted when its key is the pinned
// one, whoever signed it (a city with its own certificate authority or a
// self-signed certificate); without, the system's roots decide.
func pinnedTLS(pin string) *tls.Config {
	if pin == "" {
		return &tls.Config{MinVersion: tls.VersionTLS12}
	}
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		// The chain is not checked against the system roots: the pin is
		// stronger than any authority (VerifyConnection below).
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errPinMismatch
			}
			// Validity dates are not checked either: the key is what is
			// trusted, and a Pi's clock may be days off at boot.
			if got := signing.SPKIPin(cs.PeerCertificates[0]); got != pin {
				return fmt.Errorf("%w: it has %s", errPinMismatch, got)
			}
			return nil
		},
	}
}

// cityHTTP is an HTTP client for the city that honours city.tls_pin
// (timeout 0: none; the caller bounds its requests).
func (d *Daemon) cityHTTP(timeout time.Duration) *http.Client {
	return &http.Client{Timeout: timeout, Transport: &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 15 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:       pinnedTLS(d.Cfg.City.TLSPin),
		TLSHandshakeTimeout:   15 * time.Second,
		ResponseHeaderTimeout: 30 * time.Second,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConnsPerHost:   2,
	}}
}
