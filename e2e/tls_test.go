package e2e

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"loa/agent"
	"loa/internal/testcert"
)

// A city that serves HTTPS and NATS over TLS with a self-signed
// certificate: a ward joins with the key fingerprint, pins the
// certificate's key, syncs and takes an emergency alert over the TLS
// links. A ward sent to a server with another certificate (someone
// decrypting on the way) refuses it and says so.
func TestWardOverTLSWithThePinnedCertificate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cert, key := testcert.SelfSigned(t, dir, "city")
	natsAddr := freePort(t)
	c := prepareAlertCity(t, fmt.Sprintf("nats:\n  listen: %s\n  admin_keys: [ADMIN_KEY]\n  tls: true\ntls:\n  cert: %s\n  key: %s\n", natsAddr, cert, key), "phuong-1")
	added := run(t, nil, "loa-city", "ward", "code", "phuong-1", "--config", c.config)
	code := regexp.MustCompile(`([0-9A-Z]{5}-[0-9A-Z]{5})`).FindStringSubmatch(added)
	keyID := regexp.MustCompile(`key id:\s+([0-9a-f]{16})`).FindStringSubmatch(run(t, nil, "loa-city", "key", "--config", c.config))
	if code == nil || keyID == nil {
		t.Fatalf("ward code printed:\n%s", added)
	}
	proc := exec.Command(filepath.Join(bin, "loa-city"), "run", "--config", c.config)
	logf, _ := os.CreateTemp(dir, "city-*.log")
	proc.Stdout, proc.Stderr = logf, logf
	if err := proc.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		proc.Process.Kill()
		proc.Wait()
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("city log:\n%s", tail(string(b), 60))
		}
	})
	insecure := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	waitUntil(t, "the city over https", 15*time.Second, func() bool {
		resp, err := insecure.Get("https://" + c.addr + "/healthz")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil
	})
	// loactl trusts the certificate the way a person would set it up.
	for i := range c.ctl {
		c.ctl[i] = strings.Replace(c.ctl[i], "http://", "https://", 1)
		c.adminCtl[i] = strings.Replace(c.adminCtl[i], "http://", "https://", 1)
	}
	c.ctl = append(c.ctl, "SSL_CERT_FILE="+cert)
	c.adminCtl = append(c.adminCtl, "SSL_CERT_FILE="+cert)
	tone(t, filepath.Join(c.dir, "coi.wav"), 700, 2)
	run(t, c.adminCtl, "loactl", "media", "upload", filepath.Join(c.dir, "coi.wav"))

	wdir := filepath.Join(c.dir, "phuong-1")
	os.MkdirAll(wdir, 0o755)
	data, addr := filepath.Join(wdir, "data"), freePort(t)
	conf := writeAgentConfig(t, wdir, data, addr, "null", "")
	out := run(t, nil, "loa-agent", "join", "--city", "https://"+c.addr, "--code", code[1], "--fingerprint", keyID[1], "--no-start", "--config", conf)
	if !strings.Contains(out, "pinned: sha256/") {
		t.Fatalf("join:\n%s", out)
	}
	cfg, err := agent.LoadConfig(conf, true)
	if err != nil || !strings.HasPrefix(cfg.City.TLSPin, "sha256/") || cfg.City.NATSTLSPin != cfg.City.TLSPin ||
		cfg.City.NATS != "tls://"+natsAddr || cfg.City.URL != "https://"+c.addr {
		t.Fatalf("config after join: %+v %v", cfg.City, err)
	}
	a := startAgent(t, conf, addr, data, nil)
	a.waitLinked()
	id := c.alertSend("--media", "coi.wav", "--to", "phuong-1", "--priority", "emergency", "--expires", "5m", "--chime=false")
	c.waitWardState(id, "phuong-1", "finished", 30*time.Second)
	if rows := alertRows(t, data); len(rows) != 1 || rows[0].Result != "completed" {
		t.Fatalf("as-run %+v", rows)
	}
	a.stop()

	// The same ward, pointed at a server with another certificate that
	// forwards to the city: its HTTP sync is refused, and said so.
	mcert, mkey := testcert.SelfSigned(t, dir, "mitm")
	pair, _ := tls.LoadX509KeyPair(mcert, mkey)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{pair}})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer in.Close()
				up, err := tls.Dial("tcp", c.addr, &tls.Config{InsecureSkipVerify: true})
				if err != nil {
					return
				}
				defer up.Close()
				go copyConn(up, in)
				copyConn(in, up)
			}()
		}
	}()
	b, _ := os.ReadFile(conf)
	os.WriteFile(conf, []byte(strings.Replace(string(b), "https://"+c.addr, "https://"+ln.Addr().String(), 1)), 0o600)
	a = a.restart()
	waitUntil(t, "the ward refusing the other certificate", 30*time.Second, func() bool {
		_, body := a.get("/api/v1/status")
		return strings.Contains(body, "not the one pinned at join")
	})
}

func copyConn(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}
