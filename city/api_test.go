package city_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"loa/city/api"
	"loa/city/citytest"
)

func TestAuth(t *testing.T) {
	c := citytest.New(t)
	dir := t.TempDir()
	w1 := c.AddWard(t, "phuong-1", "quan-1")
	w2 := c.AddWard(t, "phuong-2")
	tone := c.Upload(t, citytest.Tone(t, dir, "a.wav", 1, 440), "a.wav")
	other := c.Upload(t, citytest.Tone(t, dir, "b.wav", 1, 880), "b.wav")
	c.MustLoad(t, "ward:phuong-1", "programs:\n  - id: a\n    cron: \"0 5 * * *\"\n    items: [a.wav]\n")
	c.MustLoad(t, "ward:phuong-2", "programs:\n  - id: b\n    cron: \"0 5 * * *\"\n    items: [b.wav]\n")

	for _, tc := range []struct {
		name, method, path, token string
		want                      int
	}{
		{"no token", "GET", "/api/v1/manifest", "", 401},
		{"unknown token", "GET", "/api/v1/manifest", "loaw_nope", 401},
		{"unknown user token", "GET", "/api/v1/media", "loau_nope", 401},
		{"user asks for a manifest", "GET", "/api/v1/manifest", c.Admin, 403},
		{"ward lists media", "GET", "/api/v1/media", w1, 403},
		{"ward loads programs", "PUT", "/api/v1/programs/all", w1, 403},
		{"ward lists wards", "GET", "/api/v1/wards", w1, 403},
		{"another ward's media", "GET", "/api/v1/media/" + other.SHA256, w1, 403},
		{"own media", "GET", "/api/v1/media/" + tone.SHA256, w1, 200},
		{"own manifest", "GET", "/api/v1/manifest", w2, 200},
		{"technician uploads", "POST", "/api/v1/media?name=x.wav", c.Technician, 403},
		{"technician loads programs", "PUT", "/api/v1/programs/all", c.Technician, 403},
		{"technician reads wards", "GET", "/api/v1/wards", c.Technician, 200},
		{"technician reads a timeline", "GET", "/api/v1/wards/phuong-1/timeline", c.Technician, 200},
		{"operator adds a ward", "POST", "/api/v1/wards", c.Operator, 403},
		{"operator adds a user", "POST", "/api/v1/users", c.Operator, 403},
		{"alerter lists media", "GET", "/api/v1/media", c.Alerter, 403},
		{"alerter fetches media", "GET", "/api/v1/media/" + tone.SHA256, c.Alerter, 403},
		{"operator fetches media", "GET", "/api/v1/media/" + other.SHA256, c.Operator, 200},
		{"admin lists users", "GET", "/api/v1/users", c.Admin, 200},
		{"key needs no token", "GET", "/api/v1/key", "", 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body, h := c.Do(t, tc.method, tc.path, tc.token, nil)
			if status != tc.want {
				t.Fatalf("%s %s: %d %s, want %d", tc.method, tc.path, status, body, tc.want)
			}
			if status == 401 && !strings.HasPrefix(h.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("401 without WWW-Authenticate: Bearer")
			}
			if status >= 400 {
				var e api.Error
				if err := json.Unmarshal(body, &e); err != nil || e.Error == "" {
					t.Errorf("error body %q is not {\"error\": ...}", body)
				}
			}
		})
	}
}

func TestAddWardAndUserOverAPI(t *testing.T) {
	c := citytest.New(t)
	status, body, _ := c.Do(t, "POST", "/api/v1/wards", c.Admin, strings.NewReader(`{"id":"xa-an-binh","groups":["huyen-a","huyen-a"]}`))
	if status != 201 {
		t.Fatalf("%d %s", status, body)
	}
	var w api.Ward
	json.Unmarshal(body, &w)
	if w.ID != "xa-an-binh" || len(w.Groups) != 1 || !strings.HasPrefix(w.Token, "loaw_") || w.ManifestVersion == 0 {
		t.Fatalf("ward %+v", w)
	}
	// The token works, once given; it is never shown again.
	if status, _, _ := c.Do(t, "GET", "/api/v1/manifest", w.Token, nil); status != 200 {
		t.Errorf("new ward's token: %d", status)
	}
	status, body, _ = c.Do(t, "GET", "/api/v1/wards/xa-an-binh", c.Admin, nil)
	if status != 200 || bytes.Contains(body, []byte("loaw_")) || bytes.Contains(body, []byte("token")) {
		t.Errorf("ward shown again with its token: %s", body)
	}
	for body, want := range map[string]int{
		`{"id":"xa-an-binh"}`:          400, // exists
		`{"id":"Bad Id"}`:              400,
		`{"id":"ok","groups":["a/b"]}`: 400,
		`{"id":"ok","colour":"red"}`:   400, // unknown field
		`not json`:                     400,
	} {
		if status, b, _ := c.Do(t, "POST", "/api/v1/wards", c.Admin, strings.NewReader(body)); status != want {
			t.Errorf("POST wards %s: %d %s, want %d", body, status, b, want)
		}
	}
	status, body, _ = c.Do(t, "POST", "/api/v1/users", c.Admin, strings.NewReader(`{"name":"hoa","role":"technician"}`))
	var u api.User
	json.Unmarshal(body, &u)
	if status != 201 || !strings.HasPrefix(u.Token, "loau_") {
		t.Fatalf("%d %s", status, body)
	}
	if status, _, _ := c.Do(t, "GET", "/api/v1/wards", u.Token, nil); status != 200 {
		t.Errorf("new technician: %d", status)
	}
	if status, _, _ := c.Do(t, "POST", "/api/v1/users", c.Admin, strings.NewReader(`{"name":"x","role":"root"}`)); status != 400 {
		t.Errorf("bad role: %d", status)
	}
}

func TestMediaFileServing(t *testing.T) {
	c := citytest.New(t)
	dir := t.TempDir()
	m := c.Upload(t, citytest.Tone(t, dir, "a.wav", 2, 440), "a.wav")
	whole, err := os.ReadFile(filepath.Join(c.Store.Path(m.SHA256)))
	if err != nil {
		t.Fatal(err)
	}
	status, body, h := c.Do(t, "GET", "/api/v1/media/"+m.SHA256, c.Operator, nil)
	if status != 200 || !bytes.Equal(body, whole) {
		t.Fatalf("GET: %d, %d bytes", status, len(body))
	}
	if h.Get("ETag") != `"`+m.SHA256+`"` || h.Get("Cache-Control") != "public, max-age=31536000, immutable" || h.Get("Content-Type") != "audio/mpeg" {
		t.Errorf("headers %v", h)
	}
	status, body, h = c.Do(t, "GET", "/api/v1/media/"+m.SHA256, c.Operator, nil, "Range", "bytes=100-")
	if status != 206 || !bytes.Equal(body, whole[100:]) || h.Get("Content-Range") == "" {
		t.Errorf("Range: %d, %d bytes, %q", status, len(body), h.Get("Content-Range"))
	}
	status, body, h = c.Do(t, "HEAD", "/api/v1/media/"+m.SHA256, c.Operator, nil)
	if status != 200 || len(body) != 0 || h.Get("Content-Length") != fmt.Sprint(len(whole)) {
		t.Errorf("HEAD: %d, %d bytes, length %s", status, len(body), h.Get("Content-Length"))
	}
	status, body, _ = c.Do(t, "GET", "/api/v1/media/"+m.SHA256, c.Operator, nil, "If-None-Match", `"`+m.SHA256+`"`)
	if status != 304 || len(body) != 0 {
		t.Errorf("If-None-Match: %d, %d bytes", status, len(body))
	}
	for _, bad := range []string{
		"..%2F..%2Fetc%2Fpasswd",
		"%2E%2E%2F%2E%2E%2F%2E%2E%2F%2E%2E%2F%2E%2E%2F%2E%2E%2F%2E%2E%2Fetc%2Fpasswd%00aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		strings.ToUpper(m.SHA256),
		m.SHA256[:63],
		m.SHA256 + "0",
	} {
		status, body, _ := c.Do(t, "GET", "/api/v1/media/"+bad, c.Operator, nil)
		if status != 400 {
			t.Errorf("GET media/%s: %d %s, want 400", bad, status, body)
		}
	}
	// A well-formed key that is not there.
	if status, _, _ := c.Do(t, "GET", "/api/v1/media/"+strings.Repeat("0", 64), c.Operator, nil); status != 404 {
		t.Errorf("unknown key: %d", status)
	}
}

func TestUnknownEndpoint(t *testing.T) {
	c := citytest.New(t)
	if status, _, _ := c.Do(t, "GET", "/api/v1/nothing", c.Admin, nil); status != http.StatusNotFound {
		t.Errorf("unknown endpoint: %d", status)
	}
}

func openFile(path string) (*os.File, error) { return os.Open(path) }
