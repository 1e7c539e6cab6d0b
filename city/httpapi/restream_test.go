package httpapi

import (
	"net/http"
	"strings"
	"testing"

	"loa/city/api"
)

// fakeRestreams serves every known mount with a marker body.
type fakeRestreams struct{}

func (fakeRestreams) Serve(w http.ResponseWriter, r *http.Request, name string) {
	w.Header().Set("Content-Type", "audio/mpeg")
	w.Write([]byte("mp3 of " + name))
}

func (fakeRestreams) List() []api.Restream {
	return []api.Restream{{Name: "vov1", Upstream: "https://stream-cdn.vov.vn/live/vov1-audio_only.m3u8", Mount: api.RestreamPrefix + "vov1"}}
}

// The city's re-stream is for wards only: no token, an unknown token or a
// console session is 401, a person's token 403; a ward gets the stream.
// The list is for wards and the people who run the fleet.
func TestRestreamRoutes(t *testing.T) {
	d, _ := testDeps(t)
	d.Restreams = fakeRestreams{}
	h := New(d).Handler()
	for _, tc := range []struct {
		tok  string
		hdr  []string
		want int
	}{
		{"", nil, http.StatusUnauthorized},
		{"loaw_sai", nil, http.StatusUnauthorized},
		{"", []string{"Cookie", "session=admin"}, http.StatusForbidden},
		{"admin", nil, http.StatusForbidden},
		{"operator", nil, http.StatusForbidden},
		{"ward", nil, http.StatusOK},
	} {
		rec := do(t, h, http.MethodGet, api.RestreamPrefix+"vov1", tc.tok, "", tc.hdr...)
		if rec.Code != tc.want {
			t.Errorf("GET the mount with token %q %v: %d %s, want %d", tc.tok, tc.hdr, rec.Code, rec.Body, tc.want)
		}
		if tc.want == http.StatusOK && rec.Body.String() != "mp3 of vov1" {
			t.Errorf("the ward got %q", rec.Body)
		}
	}
	for _, tok := range []string{"ward", "admin", "operator", "technician"} {
		rec := do(t, h, http.MethodGet, "/api/v1/restreams", tok, "")
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"mount": "/api/v1/restream/vov1"`) {
			t.Errorf("GET /api/v1/restreams as %s: %d %s", tok, rec.Code, rec.Body)
		}
	}
	if rec := do(t, h, http.MethodGet, "/api/v1/restreams", "alerter", ""); rec.Code != http.StatusForbidden {
		t.Errorf("GET /api/v1/restreams as alerter: %d", rec.Code)
	}
	d.Restreams = nil
	if rec := do(t, New(d).Handler(), http.MethodGet, "/api/v1/restreams", "ward", ""); rec.Code != http.StatusOK || strings.TrimSpace(rec.Body.String()) != "[]" {
		t.Errorf("no re-streams: %d %s", rec.Code, rec.Body)
	}
}
