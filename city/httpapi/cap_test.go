package httpapi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"loa/city/capin"
	"loa/sqlite"
)

type fakeCAP struct {
	public  bool
	ingests int
}

func (f *fakeCAP) Ingest(ctx context.Context, data []byte, via, by string) (capin.Result, error) {
	f.ingests++
	if strings.Contains(string(data), "refuse") {
		return capin.Result{Message: sqlite.CAPMessage{Seq: 2, Outcome: capin.Refused, Reason: "alert/status: x / y"}}, nil
	}
	return capin.Result{Message: sqlite.CAPMessage{Seq: 1, Via: via, Outcome: capin.Played, Alert: "a1"}}, nil
}

func (f *fakeCAP) Messages(ctx context.Context, limit int) ([]sqlite.CAPMessage, error) {
	return nil, nil
}
func (f *fakeCAP) Feed(ctx context.Context) ([]byte, error) { return []byte("<feed/>"), nil }
func (f *fakeCAP) CAPAlert(ctx context.Context, id string) ([]byte, error) {
	if id != "a1" {
		return nil, sqlite.ErrNotFound
	}
	return []byte("<alert/>"), nil
}
func (f *fakeCAP) PublicFeed() bool { return f.public }

// POST /api/v1/cap: 201 with the outcome, 422 for a refusal, 413 over the
// limit; a console session's cross-site POST is refused before anything is
// read, like every change of the API.
func TestCAPPost(t *testing.T) {
	d, _ := testDeps(t)
	fc := &fakeCAP{}
	d.CAP = fc
	h := New(d).Handler()
	if w := do(t, h, "POST", "/api/v1/cap", "alerter", "<alert/>"); w.Code != 201 || w.Header().Get("Location") != "/api/v1/alerts/a1" ||
		!strings.Contains(w.Body.String(), `"via": "user:u-alerter"`) {
		t.Fatalf("post: %d %s", w.Code, w.Body)
	}
	if w := do(t, h, "POST", "/api/v1/cap", "alerter", "<refuse/>"); w.Code != 422 || !strings.Contains(w.Body.String(), `"outcome": "refused"`) {
		t.Fatalf("refused: %d %s", w.Code, w.Body)
	}
	r := httptest.NewRequest("POST", "/api/v1/cap", strings.NewReader("<alert/>"))
	r.AddCookie(&http.Cookie{Name: "session", Value: "cross"})
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != 403 || fc.ingests != 2 {
		t.Fatalf("cross-site: %d %s, %d ingests", w.Code, w.Body, fc.ingests)
	}
	r = httptest.NewRequest("POST", "/api/v1/cap", strings.NewReader(strings.Repeat(" ", 5<<20)))
	r.Header.Set("Authorization", "Bearer alerter")
	w = httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != 413 || fc.ingests != 2 {
		t.Fatalf("oversized: %d, %d ingests", w.Code, fc.ingests)
	}
	// A CAP message's area decides its wards: a scoped alerter may not.
	if w := do(t, h, "POST", "/api/v1/cap", "alerter-q1", "<alert/>"); w.Code != 403 || !strings.Contains(errorText(t, w), "ngoài phạm vi") || fc.ingests != 2 {
		t.Fatalf("scoped alerter: %d %s, %d ingests", w.Code, w.Body, fc.ingests)
	}
}

// The feed: only with a user's token unless cap.public_feed; never to a
// ward's token; an unknown alert is 404.
func TestCAPFeedAccess(t *testing.T) {
	d, _ := testDeps(t)
	fc := &fakeCAP{}
	d.CAP = fc
	h := New(d).Handler()
	for _, c := range []struct {
		public    bool
		tok, path string
		code      int
	}{
		{false, "", "/cap/alerts.atom", 401},
		{false, "ward", "/cap/alerts.atom", 403},
		{false, "operator", "/cap/alerts.atom", 200},
		{false, "", "/cap/alerts/a1.xml", 401},
		{false, "technician", "/cap/alerts/a1.xml", 200},
		{true, "", "/cap/alerts.atom", 200},
		{true, "", "/cap/alerts/a1.xml", 200},
		{true, "", "/cap/alerts/zz.xml", 404},
		{true, "", "/cap/alerts/a1", 404},
	} {
		fc.public = c.public
		w := do(t, h, "GET", c.path, c.tok, "")
		if w.Code != c.code {
			t.Errorf("public %v, %q %s: %d, want %d", c.public, c.tok, c.path, w.Code, c.code)
		}
		if w.Code == 200 && !strings.Contains(w.Header().Get("Content-Type"), "xml") {
			t.Errorf("%s: %s", c.path, w.Header().Get("Content-Type"))
		}
	}
}
