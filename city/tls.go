package city

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"time"

	"loa/signing"
)

// TLSConfig makes loa-city serve HTTPS itself. The alternative, a reverse
// proxy (Caddy, nginx) in front of a loopback listener, is in
// docs/install.md.
type TLSConfig struct {
	// Cert is the certificate chain (PEM), Key its private key (PEM). Both
	// or neither. The files are read again when they change (certbot or
	// acme.sh renewals need no restart).
	Cert string `yaml:"cert"`
	Key  string `yaml:"key"`
}

// Enabled reports whether TLS is configured.
func (t TLSConfig) Enabled() bool { return t.Cert != "" || t.Key != "" }

// WrapTLS returns ln itself without tls.cert/tls.key, else a TLS listener
// over it. A certificate that cannot be loaded is an error now, not at the
// first client.
func (c *City) WrapTLS(ln net.Listener) (net.Listener, error) {
	if !c.Config.TLS.Enabled() {
		return ln, nil
	}
	r, err := c.loadCerts()
	if err != nil {
		return nil, err
	}
	cfg := &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: r.get,
		NextProtos:     []string{"http/1.1"},
	}
	return tls.NewListener(ln, cfg), nil
}

// certs returns the city's certificate reloader, shared by HTTPS and NATS
// (loaded now if there is none for tls.cert/tls.key yet).
func (c *City) certs() (*certReloader, error) {
	c.tlsMu.Lock()
	r := c.tlsCerts
	c.tlsMu.Unlock()
	if r != nil && r.certFile == c.Config.TLS.Cert && r.keyFile == c.Config.TLS.Key {
		return r, nil
	}
	return c.loadCerts()
}

// loadCerts loads tls.cert/tls.key now and makes them the city's.
func (c *City) loadCerts() (*certReloader, error) {
	t := c.Config.TLS
	if t.Cert == "" || t.Key == "" {
		return nil, errors.New("tls: set both tls.cert and tls.key (or neither, to serve plain HTTP behind a proxy)")
	}
	r := &certReloader{certFile: t.Cert, keyFile: t.Key, now: c.Now, log: func(err error) {
		c.Log.Error("tls: keeping the previous certificate", "err", err)
	}}
	if err := r.load(); err != nil {
		return nil, err
	}
	c.tlsMu.Lock()
	c.tlsCerts = r
	c.tlsMu.Unlock()
	return r, nil
}

// NATSTLS is the embedded NATS server's TLS configuration (nats.tls): the
// same certificate as HTTPS, reloaded the same way.
func (c *City) NATSTLS() (*tls.Config, error) {
	r, err := c.certs()
	if err != nil {
		return nil, fmt.Errorf("nats.tls: %w", err)
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: r.get}, nil
}

// TLSPin is the pin of the certificate the city serves (signing.SPKIPin),
// "" without TLS. A joining ward records it (city.tls_pin) and accepts no
// other key afterwards.
func (c *City) TLSPin() string {
	if !c.Config.TLS.Enabled() {
		return ""
	}
	r, err := c.certs()
	if err != nil {
		return ""
	}
	cert, _ := r.get(nil)
	if cert == nil || len(cert.Certificate) == 0 {
		return ""
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		return ""
	}
	return signing.SPKIPin(leaf)
}

// certReloader hands out the certificate, re-reading its files at most once
// a minute when their modification times changed.
type certReloader struct {
	certFile, keyFile string
	now               func() time.Time
	log               func(error)

	mu        sync.Mutex
	cert      *tls.Certificate
	stamp     string
	lastCheck time.Time
}

func (r *certReloader) fileStamp() (string, error) {
	var s string
	for _, f := range []string{r.certFile, r.keyFile} {
		st, err := os.Stat(f)
		if err != nil {
			return "", fmt.Errorf("tls: %w", err)
		}
		s += fmt.Sprintf("%d.%d;", st.ModTime().UnixNano(), st.Size())
	}
	return s, nil
}

// load reads the files; on error the previous certificate stays.
func (r *certReloader) load() error {
	stamp, err := r.fileStamp()
	if err != nil {
		return err
	}
	cert, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		return fmt.Errorf("tls: certificate %s, key %s: %w", r.certFile, r.keyFile, err)
	}
	r.cert, r.stamp = &cert, stamp
	return nil
}

func (r *certReloader) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if now := r.now(); now.Sub(r.lastCheck) >= time.Minute {
		r.lastCheck = now
		if stamp, err := r.fileStamp(); err != nil {
			r.log(err)
		} else if stamp != r.stamp {
			if err := r.load(); err != nil {
				r.log(err)
			}
		}
	}
	return r.cert, nil
}
