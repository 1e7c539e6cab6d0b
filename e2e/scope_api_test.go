package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// scopedCity is a real loa-city with two groups of wards — quan-1
// (phuong-1, phuong-2) and quan-3 (phuong-9) — and an operator, lan,
// scoped to quan-1 by `loa-city user add --groups`.
type scopedCity struct {
	*consoleCity
	lanPassword, lanToken string
}

func startScopedCity(t *testing.T) *scopedCity {
	t.Helper()
	c := &scopedCity{consoleCity: startConsoleCity(t)}
	wardAdd(t, c.cfg, "phuong-2", "--group", "quan-1")
	wardAdd(t, c.cfg, "phuong-9", "--group", "quan-3")
	out := run(t, nil, "loa-city", append([]string{"user", "add", "lan", "--role", "operator", "--groups", "quan-1", "--json"}, c.cfg...)...)
	var u struct {
		Password string `json:"password"`
		Token    string `json:"token"`
	}
	if err := json.Unmarshal([]byte(out), &u); err != nil || u.Token == "" {
		t.Fatalf("user add --groups --json: %v\n%s", err, out)
	}
	c.lanPassword, c.lanToken = u.Password, u.Token
	return c
}

// call sends one API request with tok and returns the status and body.
func call(t *testing.T, base, tok, method, path, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// relayFile is a program file that needs no media.
func relayFile(id, at string) string {
	return "programs:\n  - id: " + id + "\n    cron: \"" + at + " * * 1-6\"\n    duration: 30m\n    relay: http://127.0.0.1:9/vov1.mp3\n"
}

// TestScopedOperatorThroughTheAPI: an operator scoped to group quan-1
// cannot list, read or change quan-3's ward through the JSON API — each
// attempt 403 with a message in Vietnamese and English, and the admin
// then finds nothing changed — and can do all of it for quan-1.
func TestScopedOperatorThroughTheAPI(t *testing.T) {
	t.Parallel()
	c := startScopedCity(t)
	_, admin := c.addUser(t, "quan-tri", "admin")
	base := c.url

	// The admin loads quan-3's programs, to be read and changed by nobody else.
	q3 := relayFile("vov-quan-3", "0 6")
	if code, body := call(t, base, admin, "PUT", "/api/v1/programs/group:quan-3?file=quan-3.yaml", q3); code != 200 {
		t.Fatalf("admin loads quan-3: %d %s", code, body)
	}

	wardIDs := func(tok string) []string {
		code, body := call(t, base, tok, "GET", "/api/v1/wards", "")
		var ws []struct {
			ID string `json:"id"`
		}
		if code != 200 || json.Unmarshal([]byte(body), &ws) != nil {
			t.Fatalf("GET /api/v1/wards: %d %s", code, body)
		}
		var ids []string
		for _, w := range ws {
			ids = append(ids, w.ID)
		}
		return ids
	}
	if got := wardIDs(c.lanToken); !slices.Equal(got, []string{"phuong-1", "phuong-2"}) {
		t.Errorf("lan lists wards %q, want quan-1's only", got)
	}
	if got := wardIDs(admin); !slices.Equal(got, []string{"phuong-1", "phuong-2", "phuong-9"}) {
		t.Errorf("the admin lists %q", got)
	}

	for _, a := range []struct{ method, path, body string }{
		{"GET", "/api/v1/wards/phuong-9", ""},
		{"GET", "/api/v1/wards/phuong-9/timeline", ""},
		{"GET", "/api/v1/wards/phuong-9/asrun", ""},
		{"GET", "/api/v1/programs/group:quan-3", ""},
		{"GET", "/api/v1/programs/ward:phuong-9", ""},
		{"PUT", "/api/v1/programs/group:quan-3?file=quan-3.yaml", relayFile("cuop", "0 7")},
		{"PUT", "/api/v1/programs/ward:phuong-9?file=p9.yaml", relayFile("cuop", "0 8")},
		{"PUT", "/api/v1/programs/all?file=city.yaml", relayFile("cuop", "0 9")},
		{"DELETE", "/api/v1/programs/group:quan-3", ""},
		{"POST", "/api/v1/live", `{"to":"phuong-9","stream":"http://127.0.0.1:9/live.mp3"}`},
	} {
		code, body := call(t, base, c.lanToken, a.method, a.path, a.body)
		var e struct {
			Error string `json:"error"`
		}
		json.Unmarshal([]byte(body), &e)
		if code != http.StatusForbidden || !strings.Contains(e.Error, "ngoài phạm vi được giao") || !strings.Contains(e.Error, "is outside the scope of lan") {
			t.Errorf("lan %s %s: %d %s; want 403 outside the scope, in Vietnamese and English", a.method, a.path, code, body)
		}
	}

	// Nothing changed: quan-3's file is the admin's, phuong-9 and the city
	// have none, and the program list shows no change by lan.
	if code, body := call(t, base, admin, "GET", "/api/v1/programs/group:quan-3", ""); code != 200 || body != q3 {
		t.Errorf("quan-3's programs after lan's attempts: %d %q", code, body)
	}
	for _, target := range []string{"ward:phuong-9", "all"} {
		if code, body := call(t, base, admin, "GET", "/api/v1/programs/"+target, ""); code != 404 {
			t.Errorf("%s after lan's attempts: %d %s", target, code, body)
		}
	}
	if code, body := call(t, base, admin, "GET", "/api/v1/live", ""); code != 200 || strings.TrimSpace(body) != "[]" {
		t.Errorf("live after lan's attempt: %d %s", code, body)
	}

	// Her own group: she reads and changes it.
	q1 := relayFile("vov-quan-1", "30 6")
	if code, body := call(t, base, c.lanToken, "PUT", "/api/v1/programs/group:quan-1?file=quan-1.yaml", q1); code != 200 {
		t.Fatalf("lan loads quan-1: %d %s", code, body)
	}
	if code, body := call(t, base, c.lanToken, "GET", "/api/v1/programs/group:quan-1", ""); code != 200 || body != q1 {
		t.Errorf("lan reads quan-1: %d %q", code, body)
	}
	for _, path := range []string{"/api/v1/wards/phuong-2", "/api/v1/wards/phuong-1/timeline", "/api/v1/wards/phuong-2/asrun"} {
		if code, body := call(t, base, c.lanToken, "GET", path, ""); code != 200 {
			t.Errorf("lan GET %s: %d %s", path, code, body)
		}
	}
	code, body := call(t, base, c.lanToken, "GET", "/api/v1/programs", "")
	if code != 200 || !strings.Contains(body, `"group:quan-1"`) || strings.Contains(body, "quan-3") {
		t.Errorf("lan's program list: %d %s", code, body)
	}

	// A scoped alerter: no alert to another group, no cancel of an alert
	// that reaches it, and the list shows neither.
	hoa := lastField(run(t, nil, "loa-city", append([]string{"user", "add", "hoa", "--role", "alerter", "--wards", "phuong-1"}, c.cfg...)...))
	if code, body := call(t, base, hoa, "POST", "/api/v1/alerts", `{"to":"group:quan-3","text":"Bão số năm","status":"Test"}`); code != http.StatusForbidden ||
		!strings.Contains(body, "ngoài phạm vi") || !strings.Contains(body, "outside the scope of hoa") {
		t.Errorf("hoa alerts quan-3: %d %s", code, body)
	}
	if code, body := call(t, base, admin, "GET", "/api/v1/alerts", ""); code != 200 || strings.TrimSpace(body) != "[]" {
		t.Errorf("alerts after hoa's refused one: %d %s", code, body)
	}
	code, body = call(t, base, admin, "POST", "/api/v1/alerts", `{"to":"phuong-9","text":"Thử loa","status":"Test"}`)
	var sent struct {
		ID string `json:"id"`
	}
	if json.Unmarshal([]byte(body), &sent); code >= 300 || sent.ID == "" {
		t.Fatalf("admin alerts phuong-9: %d %s", code, body)
	}
	if code, body := call(t, base, hoa, "POST", "/api/v1/alerts/"+sent.ID+"/cancel", ""); code != http.StatusForbidden || !strings.Contains(body, "outside the scope of hoa") {
		t.Errorf("hoa cancels phuong-9's alert: %d %s", code, body)
	}
	if _, body := call(t, base, hoa, "GET", "/api/v1/alerts", ""); strings.Contains(body, sent.ID) {
		t.Errorf("hoa's alert list shows phuong-9's alert: %s", body)
	}
	if _, body := call(t, base, admin, "GET", "/api/v1/alerts", ""); !strings.Contains(body, sent.ID) || strings.Contains(body, "cancelled_by") {
		t.Errorf("phuong-9's alert after hoa's cancel: %s", body)
	}

	// Re-scoped to quan-3 by the admin: her token follows at once.
	run(t, nil, "loa-city", append([]string{"user", "scope", "lan", "--groups", "quan-3"}, c.cfg...)...)
	if got := wardIDs(c.lanToken); !slices.Equal(got, []string{"phuong-9"}) {
		t.Errorf("after re-scoping, lan lists %q", got)
	}
	if code, _ := call(t, base, c.lanToken, "GET", "/api/v1/programs/group:quan-1", ""); code != http.StatusForbidden {
		t.Errorf("after re-scoping, quan-1: %d", code)
	}
}
