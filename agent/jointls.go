package agent

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"sync"

	"loa/signing"
)

// joinTLS is what `loa-agent join` saw of the city's certificate over
// https: its key pin, and whether its chain verifies with the authorities
// the client trusts (the system's).
type joinTLS struct {
	mu       sync.Mutex
	pin      string
	verified bool
	err      error
}

func (o *joinTLS) get() (pin string, verified bool, err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.pin, o.verified, o.err
}

// observeTLS makes j's client record the city's certificate instead of
// refusing one no authority vouches for: a city with a self-signed
// certificate is then trusted the way a plain-HTTP one is (its signing
// key's fingerprint, checked by the technician), and its certificate is
// pinned from then on (pinJoin).
func (j *joiner) observeTLS() {
	j.tlsSeen = &joinTLS{}
	var base *http.Transport
	if t, ok := j.http.Transport.(*http.Transport); ok && t != nil {
		base = t.Clone()
	} else {
		base = http.DefaultTransport.(*http.Transport).Clone()
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if base.TLSClientConfig != nil {
		cfg = base.TLSClientConfig.Clone()
	}
	roots := cfg.RootCAs
	cfg.InsecureSkipVerify = true
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return errors.New("the city sent no certificate")
		}
		inter := x509.NewCertPool()
		for _, c := range cs.PeerCertificates[1:] {
			inter.AddCert(c)
		}
		_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{DNSName: cs.ServerName, Roots: roots, Intermediates: inter})
		j.tlsSeen.mu.Lock()
		j.tlsSeen.pin, j.tlsSeen.verified, j.tlsSeen.err = signing.SPKIPin(cs.PeerCertificates[0]), err == nil, err
		j.tlsSeen.mu.Unlock()
		return nil
	}
	base.TLSClientConfig = cfg
	c := *j.http
	c.Transport = base
	j.http = &c
}

// httpsVerified reports whether the join runs over https with a
// certificate an authority vouches for.
func (j *joiner) httpsVerified() bool {
	if j.tlsSeen == nil {
		return false
	}
	_, ok, _ := j.tlsSeen.get()
	return ok
}

// pinJoin decides the pin a joined ward keeps (city.tls_pin): the one the
// city signed in its answer, which must be the key this join was served
// with (else someone is between the station and the city); without one, the
// key seen when no authority vouched for it (trusted through the city's
// signing key, which the technician checked); none when an authority
// vouches for a certificate the city did not name (a reverse proxy with a
// public certificate, renewed with new keys).
func (j *joiner) pinJoin(cr joinCredentials) (string, error) {
	if j.tlsSeen == nil {
		return cr.TLSPin, nil
	}
	seen, verified, _ := j.tlsSeen.get()
	switch {
	case cr.TLSPin != "" && cr.TLSPin != seen:
		return "", fmt.Errorf("the city's certificate key is %s, but this connection's is %s: someone is between this station and the city "+
			"(a proxy that decrypts?); refusing to join. The code is spent: ask the city for a new one", cr.TLSPin, seen)
	case cr.TLSPin != "":
		return cr.TLSPin, nil
	case !verified:
		return seen, nil
	}
	return "", nil
}
