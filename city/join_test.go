package city_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"loa/city"
	"loa/city/api"
	"loa/city/citytest"
	"loa/internal/testcert"
	"loa/signing"
)

var joinCodeRE = regexp.MustCompile(`join code: ([0-9A-Z]{5}-[0-9A-Z]{5})\n`)

// fakeClock makes c's clock settable from the test while its server runs.
func fakeClock(c *city.City) func(time.Duration) {
	var now atomic.Int64
	now.Store(time.Now().UnixNano())
	c.Now = func() time.Time { return time.Unix(0, now.Load()) }
	return func(d time.Duration) { now.Add(int64(d)) }
}

func join(t *testing.T, c *citytest.City, code string) (int, []byte) {
	t.Helper()
	body, _ := json.Marshal(city.JoinRequest{Code: code, Hostname: "pi-test"})
	status, b, _ := c.Do(t, "POST", "/api/v1/join", "", strings.NewReader(string(body)))
	return status, b
}

func errorOf(t *testing.T, body []byte) string {
	t.Helper()
	var e api.Error
	if err := json.Unmarshal(body, &e); err != nil || e.Error == "" {
		t.Fatalf("not an error body: %s", body)
	}
	return e.Error
}

func TestWardAddPrintsAJoinCode(t *testing.T) {
	cfg := writeConfig(t, "data: DIR/data\nlisten: 127.0.0.1:0\nlog:\n  level: warn\n")
	code, out, errs := runMain(t, "ward", "add", "phuong-7", "--group", "quan-1", "--config", cfg)
	if code != 0 {
		t.Fatalf("ward add: %d %s", code, errs)
	}
	oldToken := regexp.MustCompile(`loaw_[A-Za-z0-9_-]{43}`).FindString(out)
	m := joinCodeRE.FindStringSubmatch(out)
	if oldToken == "" || m == nil {
		t.Fatalf("ward add output has no token or join code:\n%s", out)
	}
	_, keyOut, _ := runMain(t, "key", "--config", cfg)
	keyID := regexp.MustCompile(`key id:\s+([0-9a-f]{16})`).FindStringSubmatch(keyOut)[1]
	if !strings.Contains(out, "loa-agent join --city") || !strings.Contains(out, keyID) {
		t.Errorf("ward add does not say how to join or which fingerprint to expect:\n%s", out)
	}

	// The code works against the server started on the same data.
	conf, err := city.LoadConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c, err := city.Open(context.Background(), conf, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	tc := serve(t, c)
	// As a person may type it: lower case, no dash, O for 0 and l for 1.
	typed := strings.ToLower(strings.ReplaceAll(m[1], "-", ""))
	typed = strings.NewReplacer("0", "o", "1", "l").Replace(typed)
	status, body := join(t, tc, typed)
	if status != 200 {
		t.Fatalf("join with %q: %d %s", typed, status, body)
	}
	cr := verifyCredentials(t, c, body)
	if cr.Ward != "phuong-7" || strings.Join(cr.Groups, ",") != "quan-1" || cr.KeyID != keyID || cr.Format != city.JoinFormat {
		t.Errorf("credentials %+v", cr)
	}
	// The new token is the ward's only one.
	if st, b, _ := tc.Do(t, "GET", "/api/v1/manifest", cr.Token, nil); st != 200 {
		t.Errorf("manifest with the joined token: %d %s", st, b)
	}
	if st, _, _ := tc.Do(t, "GET", "/api/v1/manifest", oldToken, nil); st != 401 {
		t.Errorf("the token printed by ward add still works after the join: %d", st)
	}

	// `ward code` for a ward that does not exist is bad input.
	if code, _, errs := runMain(t, "ward", "code", "nowhere", "--config", cfg); code != 2 || !strings.Contains(errs, "no ward nowhere") {
		t.Errorf("ward code for an unknown ward: %d %q", code, errs)
	}
}

// serve runs c's handler on loopback, as citytest does.
func serve(t *testing.T, c *city.City) *citytest.City {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: c.Handler()}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return &citytest.City{City: c, URL: "http://" + ln.Addr().String()}
}

func verifyCredentials(t *testing.T, c *city.City, body []byte) city.JoinCredentials {
	t.Helper()
	var env signing.Envelope
	if err := json.Unmarshal(body, &env); err != nil {
		t.Fatalf("join answer is not an envelope: %v %s", err, body)
	}
	payload, err := signing.Verify(env, c.PublicKey())
	if err != nil {
		t.Fatalf("join answer not signed by the city: %v", err)
	}
	var cr city.JoinCredentials
	if err := json.Unmarshal(payload, &cr); err != nil {
		t.Fatal(err)
	}
	if cr.PublicKey != signing.PublicKeyText(c.PublicKey()) || !strings.HasPrefix(cr.Token, "loaw_") || cr.Timezone != "Asia/Ho_Chi_Minh" {
		t.Errorf("credentials %+v", cr)
	}
	return cr
}

func TestJoinCodeIsUsedOnceAndExpires(t *testing.T) {
	c := citytest.New(t)
	advance := fakeClock(c.City)
	ctx := context.Background()
	c.AddWard(t, "xa-1")
	c.AddWard(t, "xa-2")

	code1, _, err := c.IssueJoinCode(ctx, "xa-1", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if status, body := join(t, c, code1); status != 200 {
		t.Fatalf("first use: %d %s", status, body)
	}
	status, body := join(t, c, code1)
	if msg := errorOf(t, body); status != 410 || !strings.Contains(msg, "already used") || !strings.Contains(msg, "pi-test") ||
		!strings.Contains(msg, "loa-city ward code xa-1") {
		t.Errorf("second use: %d %s", status, msg)
	}

	code2, expires, err := c.IssueJoinCode(ctx, "xa-2", 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if d := expires.Sub(c.Now()); d != 24*time.Hour {
		t.Errorf("expires in %s", d)
	}
	advance(24*time.Hour + time.Second)
	status, body = join(t, c, code2)
	if msg := errorOf(t, body); status != 410 || !strings.Contains(msg, "expired") {
		t.Errorf("expired code: %d %s", status, msg)
	}

	// A new code replaces the unused one.
	code3, _, _ := c.IssueJoinCode(ctx, "xa-2", time.Hour)
	code4, _, _ := c.IssueJoinCode(ctx, "xa-2", time.Hour)
	if status, body := join(t, c, code3); status != 404 {
		t.Errorf("replaced code: %d %s", status, body)
	}
	if status, body := join(t, c, code4); status != 200 {
		t.Errorf("newest code: %d %s", status, body)
	}

	for _, tc := range []struct {
		code string
		want int
		msg  string
	}{
		{"", 400, "want 10"},
		{"ABCDE-FGH", 400, "want 10"},
		{"ABCDE-FGHJU", 400, "'U' is not"},
		{"ZZZZZ-ZZZZZ", 404, "unknown join code"},
	} {
		status, body := join(t, c, tc.code)
		if msg := errorOf(t, body); status != tc.want || !strings.Contains(msg, tc.msg) {
			t.Errorf("code %q: %d %q, want %d %q", tc.code, status, msg, tc.want, tc.msg)
		}
	}
	if status, body, _ := c.Do(t, "POST", "/api/v1/join", "", strings.NewReader("{")); status != 400 || !strings.Contains(string(body), "want JSON") {
		t.Errorf("bad body: %d %s", status, body)
	}
	if _, _, err := c.IssueJoinCode(ctx, "xa-1", 0); err == nil {
		t.Error("a code that never is valid was issued")
	}
}

func TestJoinGuessesAreLimited(t *testing.T) {
	c := citytest.New(t)
	advance := fakeClock(c.City)
	c.AddWard(t, "xa-1")
	code, _, err := c.IssueJoinCode(context.Background(), "xa-1", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	wrong := 0
	for ; wrong < 100; wrong++ {
		status, _ := join(t, c, "ZZZZZ-ZZZZZ")
		if status == 429 {
			break
		}
		if status != 404 {
			t.Fatalf("guess %d: %d", wrong, status)
		}
	}
	if wrong != 20 {
		t.Errorf("limited after %d wrong codes, want 20", wrong)
	}
	// Even the right code waits now...
	if status, _ := join(t, c, code); status != 429 {
		t.Errorf("right code while limited: %d", status)
	}
	// ...until the window has passed.
	advance(10*time.Minute + time.Second)
	if status, body := join(t, c, code); status != 200 {
		t.Errorf("right code after the window: %d %s", status, body)
	}
}

func modTime(t *testing.T, path string) time.Time {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.ModTime()
}

func TestTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	first := testcert.Write(t, certFile, keyFile, "first")

	cfg := city.DefaultConfig()
	cfg.Data = filepath.Join(dir, "data")
	cfg.TLS = city.TLSConfig{Cert: certFile, Key: keyFile}
	c, err := city.Open(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	advance := fakeClock(c)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tln, err := c.WrapTLS(ln)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Serve(ctx, tln, time.Second) }()
	defer func() { cancel(); <-done }()

	// get fetches /api/v1/key over HTTPS and returns the server's certificate.
	get := func(trust *x509.Certificate) (*x509.Certificate, error) {
		pool := x509.NewCertPool()
		pool.AddCert(trust)
		cl := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, DisableKeepAlives: true}}
		resp, err := cl.Get("https://" + ln.Addr().String() + "/api/v1/key")
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		var k api.Key
		if err := json.NewDecoder(resp.Body).Decode(&k); err != nil || k.KeyID != c.KeyID() {
			t.Errorf("key over https: %v %+v", err, k)
		}
		return resp.TLS.PeerCertificates[0], nil
	}
	if got, err := get(first); err != nil || got.Subject.CommonName != "first" {
		t.Fatalf("https: %v %v", err, got)
	}
	if resp, err := http.Get("http://" + ln.Addr().String() + "/healthz"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Error("plain HTTP is answered on the TLS port")
		}
	}

	// A renewed certificate is picked up within a minute, without a restart.
	firstMod := modTime(t, certFile)
	second := testcert.Write(t, certFile, keyFile, "second")
	// A new modification time, whatever the file system's resolution.
	later := firstMod.Add(time.Second)
	os.Chtimes(certFile, later, later)
	os.Chtimes(keyFile, later, later)
	advance(61 * time.Second)
	if got, err := get(second); err != nil || got.Subject.CommonName != "second" {
		t.Fatalf("after renewal: %v %v", err, got)
	}
	// A broken renewal keeps the certificate in use.
	os.WriteFile(certFile, []byte("garbage"), 0o644)
	advance(61 * time.Second)
	if got, err := get(second); err != nil || got.Subject.CommonName != "second" {
		t.Fatalf("after a broken renewal: %v %v", err, got)
	}

	for _, tc := range []struct {
		tls  city.TLSConfig
		want string
	}{
		{city.TLSConfig{Cert: certFile}, "set both tls.cert and tls.key"},
		{city.TLSConfig{Cert: filepath.Join(dir, "none.pem"), Key: keyFile}, "none.pem"},
		{city.TLSConfig{Cert: certFile, Key: keyFile}, "cert.pem"}, // garbage now
	} {
		c.Config.TLS = tc.tls
		if _, err := c.WrapTLS(ln); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("tls %+v: %v, want %q", tc.tls, err, tc.want)
		}
	}
}

func TestTLSFromConfigFile(t *testing.T) {
	cfg := writeConfig(t, "data: DIR/data\nlisten: 127.0.0.1:0\ntls:\n  cert: DIR/c.pem\n  key: DIR/k.pem\n")
	conf, err := city.LoadConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !conf.TLS.Enabled() || !strings.HasSuffix(conf.TLS.Cert, "/c.pem") || !strings.HasSuffix(conf.TLS.Key, "/k.pem") {
		t.Errorf("tls config %+v", conf.TLS)
	}
	// `loa-city run` refuses to start on a certificate it cannot load.
	code, _, errs := runMain(t, "run", "--config", cfg)
	if code == 0 || !strings.Contains(errs, "c.pem") {
		t.Errorf("run with a missing certificate: %d %q", code, errs)
	}
}
