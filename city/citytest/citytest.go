// Package citytest starts a real loa-city for tests: a data folder in a
// temporary directory, real SQLite, real ffmpeg, and the real HTTP API on
// a loopback port.
package citytest

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"loa/city"
	"loa/city/api"
	"loa/sqlite"
)

// City is a running city station.
type City struct {
	*city.City
	Server *httptest.Server
	URL    string
	// Tokens of one user per role.
	Admin, Operator, Technician, Alerter string
	Logs                                 *LogBuffer
}

// New starts a city. It needs ffmpeg (the test is skipped without it).
func New(t testing.TB) *City {
	t.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg not installed")
	}
	cfg := city.DefaultConfig()
	cfg.Data = filepath.Join(t.TempDir(), "city")
	cfg.Ingest.Workers = 4
	// The two-person rule is tested on its own (city/alerting,
	// e2e/alert_approval_test.go); here one person sends.
	cfg.AlertRules.Approval.EmergencyWards = 0
	logs := &LogBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c, err := city.Open(context.Background(), cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(c.Handler())
	t.Cleanup(func() {
		srv.Close()
		c.Close()
	})
	tc := &City{City: c, Server: srv, URL: srv.URL, Logs: logs}
	ctx := context.Background()
	for _, u := range []struct {
		name string
		tok  *string
	}{{"admin", &tc.Admin}, {"operator", &tc.Operator}, {"technician", &tc.Technician}, {"alerter", &tc.Alerter}} {
		if *u.tok, err = c.AddUser(ctx, "test-"+u.name, u.name); err != nil {
			t.Fatal(err)
		}
	}
	return tc
}

// AddWard registers a ward and returns its token.
func (c *City) AddWard(t testing.TB, id string, groups ...string) string {
	t.Helper()
	tok, err := c.City.AddWard(context.Background(), id, groups)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// Do sends a request with token and returns the status and body.
func (c *City) Do(t testing.TB, method, path, token string, body io.Reader, header ...string) (int, []byte, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, c.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b, resp.Header
}

// Upload uploads the file at path under name (one request) and returns
// the media item; the status must be 200 or 201.
func (c *City) Upload(t testing.TB, path, name string) api.Media {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	status, body, _ := c.Do(t, "POST", "/api/v1/media?name="+url.QueryEscape(name), c.Operator, f)
	if status != http.StatusOK && status != http.StatusCreated {
		t.Fatalf("upload %s: %d %s", name, status, body)
	}
	var m api.Media
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// LoadPrograms PUTs a program file for target and returns status and body.
func (c *City) LoadPrograms(t testing.TB, target, file, yaml string) (int, []byte) {
	t.Helper()
	status, body, _ := c.Do(t, "PUT", "/api/v1/programs/"+target+"?file="+url.QueryEscape(file), c.Operator, strings.NewReader(yaml))
	return status, body
}

// MustLoad loads a program file that must be accepted.
func (c *City) MustLoad(t testing.TB, target, yaml string) api.ProgramLoad {
	t.Helper()
	status, body := c.LoadPrograms(t, target, "test.yaml", yaml)
	if status != http.StatusOK {
		t.Fatalf("load %s: %d %s", target, status, body)
	}
	var res api.ProgramLoad
	if err := json.Unmarshal(body, &res); err != nil {
		t.Fatal(err)
	}
	return res
}

// Tone writes a sine tone (mono WAV, 44.1 kHz unless rate says) with
// ffmpeg and returns its path.
func Tone(t testing.TB, dir, name string, seconds float64, freq int, extra ...string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	args := []string{"-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", fmt.Sprintf("sine=frequency=%d:duration=%g:sample_rate=44100", freq, seconds)}
	args = append(args, extra...)
	args = append(args, path)
	if out, err := exec.Command("ffmpeg", args...).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	return path
}

// LogBuffer collects log lines safely.
type LogBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// AddVariant adds to the library a copy of the canonical file of base with
// its last four bytes set to n: a distinct item (another sha256) that
// still probes as the same audio. It skips ffmpeg, for tests and
// benchmarks that need hundreds of items.
func (c *City) AddVariant(t testing.TB, base api.Media, n uint32, name string) api.Media {
	t.Helper()
	data, err := os.ReadFile(c.Store.Path(base.SHA256))
	if err != nil {
		t.Fatal(err)
	}
	binary.BigEndian.PutUint32(data[len(data)-4:], n)
	key, size, err := c.Store.Put(bytes.NewReader(data), "")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	src, err := c.DB.Read().Media(ctx, base.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	m := src
	m.SHA256, m.Size, m.OriginalName, m.OriginalSHA256, m.Title = key, size, name, key, name
	m.AddedAt = time.Time{}
	err = c.DB.Update(ctx, func(tx sqlite.CityTx) error {
		if _, err := tx.PutMedia(ctx, m); err != nil {
			return err
		}
		return tx.NameMedia(ctx, name, key, true)
	})
	if err != nil {
		t.Fatal(err)
	}
	return api.Media{SHA256: key, Size: size, Names: []string{name}, DurationSeconds: base.DurationSeconds}
}
