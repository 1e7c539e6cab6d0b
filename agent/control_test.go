package agent

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
)

// Every way a control request can fail the guard: the status, the reason
// counted, and that the handler behind it never ran.
func TestControlGuard(t *testing.T) {
	const tok = "loac_0123456789abcdef0123456789abcdef"
	json := "application/json"
	cases := []struct {
		name    string
		method  string
		headers map[string]string
		body    string
		status  int
		reason  string
	}{
		{"no token", "POST", map[string]string{"Content-Type": json}, `{}`, 401, refusedNoToken},
		{"wrong token", "POST", map[string]string{"Content-Type": json, "Authorization": "Bearer loac_wrong"}, `{}`, 401, refusedBadToken},
		{"not bearer", "POST", map[string]string{"Content-Type": json, "Authorization": "Basic " + tok}, `{}`, 401, refusedNoToken},
		{"token, text/plain", "POST", map[string]string{"Content-Type": "text/plain", "Authorization": "Bearer " + tok}, `{}`, 415, refusedContentType},
		{"token, form", "POST", map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Authorization": "Bearer " + tok}, `{}`, 415, refusedContentType},
		{"token, no type", "POST", map[string]string{"Authorization": "Bearer " + tok}, `{}`, 415, refusedContentType},
		{"cross-site form", "POST", map[string]string{"Content-Type": "text/plain", "Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"}, `{}`, 403, refusedCrossSite},
		{"origin with the token", "POST", map[string]string{"Content-Type": json, "Origin": "http://evil.example", "Authorization": "Bearer " + tok}, `{}`, 403, refusedCrossSite},
		{"same-site page", "DELETE", map[string]string{"Sec-Fetch-Site": "same-site", "Authorization": "Bearer " + tok}, ``, 403, refusedCrossSite},
		{"delete, no token", "DELETE", nil, ``, 401, refusedNoToken},
		{"token, json", "POST", map[string]string{"Content-Type": "application/json; charset=utf-8", "Authorization": "Bearer " + tok}, `{}`, 200, ""},
		{"delete, token", "DELETE", map[string]string{"Authorization": "bearer " + tok}, ``, 200, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := &Daemon{Log: slog.New(slog.NewTextHandler(io.Discard, nil)), m: newMetrics(), controlToken: tok}
			ran := false
			h := d.guard(func(w http.ResponseWriter, r *http.Request) { ran = true })
			req := httptest.NewRequest(c.method, "/api/v1/live", strings.NewReader(c.body))
			for k, v := range c.headers {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			h(rec, req)
			if rec.Code != c.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, c.status, rec.Body)
			}
			if c.reason == "" {
				if !ran {
					t.Fatal("refused a good request")
				}
				return
			}
			if ran {
				t.Fatal("the handler ran")
			}
			var m dto.Metric
			d.m.controlRefused.WithLabelValues(c.reason).Write(&m)
			if n := m.GetCounter().GetValue(); n != 1 {
				t.Fatalf("loa_control_refused_total{reason=%q} = %v", c.reason, n)
			}
			if !strings.Contains(rec.Body.String(), " / ") {
				t.Errorf("message not bilingual: %q", rec.Body)
			}
		})
	}
}

// The token file: made at first start (0640, random, prefixed), read back
// the same after; a file everyone can read or a short token is refused.
func TestControlTokenFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "control.token")
	tok, err := loadOrCreateControlToken(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(path)
	if !strings.HasPrefix(tok, controlTokenPrefix) || len(tok) != len(controlTokenPrefix)+64 || fi.Mode().Perm() != 0o640 {
		t.Fatalf("token %q, mode %04o", tok, fi.Mode().Perm())
	}
	again, err := loadOrCreateControlToken(path)
	if err != nil || again != tok {
		t.Fatalf("second start: %q %v", again, err)
	}
	other, _ := loadOrCreateControlToken(filepath.Join(dir, "other.token"))
	if other == tok {
		t.Fatal("two stations got the same token")
	}
	os.Chmod(path, 0o644)
	if _, err := loadOrCreateControlToken(path); err == nil || !strings.Contains(err.Error(), "readable by everyone") {
		t.Fatalf("world-readable token file: %v", err)
	}
	short := filepath.Join(dir, "short.token")
	os.WriteFile(short, []byte("secret\n"), 0o600)
	if _, err := loadOrCreateControlToken(short); err == nil || !strings.Contains(err.Error(), "too short") {
		t.Fatalf("short token: %v", err)
	}
}

func TestControlListenValidation(t *testing.T) {
	for in, ok := range map[string]bool{
		"": true, "unix:/run/loa/control.sock": true, "127.0.0.1:8791": true, "[::1]:8791": true, "localhost:8791": true,
		":8791": false, "0.0.0.0:8791": false, "192.168.1.10:8791": false, "unix:": false,
	} {
		if err := validateControlListen(in); (err == nil) != ok {
			t.Errorf("%q: %v", in, err)
		}
	}
}

// A flood of refusals makes one log line per reason every
// refusalLogEvery, which carries the number not logged before it.
func TestRefusalLogLimit(t *testing.T) {
	var l refusalLog
	t0 := time.Unix(1_800_000_000, 0)
	if n, ok := l.allow("no_token", t0); !ok || n != 0 {
		t.Fatal("first refusal not logged")
	}
	for i := 1; i <= 50; i++ {
		if _, ok := l.allow("no_token", t0.Add(time.Duration(i)*100*time.Millisecond)); ok {
			t.Fatalf("refusal %d logged within %s", i, refusalLogEvery)
		}
	}
	if _, ok := l.allow("cross_site", t0.Add(time.Second)); !ok {
		t.Fatal("another reason not logged")
	}
	if n, ok := l.allow("no_token", t0.Add(refusalLogEvery+time.Second)); !ok || n != 50 {
		t.Fatalf("after %s: logged %v, %d not logged before, want 50", refusalLogEvery, ok, n)
	}
}
