package playlist_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"loa/manifest"
	"loa/playlist"
)

// FetchMedia takes one item outside a round, checked against its sha256;
// a city that sends other bytes or refuses leaves the station unchanged.
func TestFetchMedia(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a := e.media["a"]
	s := e.syncer(e.c.URL)
	// A city (or a proxy) that sends other bytes under the key.
	target, _ := url.Parse(e.c.URL)
	liar := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, _ := http.NewRequest(r.Method, target.String()+r.URL.Path, nil)
		req.Header = r.Header
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			w.WriteHeader(502)
			return
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if len(body) > 100 {
			body[100] ^= 1
		}
		w.WriteHeader(resp.StatusCode)
		w.Write(body)
	}))
	defer liar.Close()
	err := e.syncer(liar.URL).FetchMedia(ctx, manifest.Media{SHA256: a.SHA256, Size: a.Size})
	if !errors.Is(err, playlist.ErrMismatch) || e.st.HasMedia(a.SHA256) {
		t.Fatalf("tampered bytes: %v", err)
	}
	if err := s.FetchMedia(ctx, manifest.Media{SHA256: a.SHA256, Size: a.Size}); err != nil {
		t.Fatal(err)
	}
	if !e.st.HasMedia(a.SHA256) || len(e.st.Added()) != 1 {
		t.Fatalf("not added: %v", e.st.Added())
	}
	// Already there: nothing fetched.
	if err := s.FetchMedia(ctx, manifest.Media{SHA256: a.SHA256, Size: a.Size}); err != nil || len(e.st.Added()) != 1 {
		t.Fatalf("fetched again: %v %v", err, e.st.Added())
	}

	// Media the ward may not fetch: the city's refusal, said.
	b := e.media["b"]
	err = s.FetchMedia(ctx, manifest.Media{SHA256: b.SHA256, Size: b.Size})
	if err == nil || !strings.Contains(err.Error(), "403") || e.st.HasMedia(b.SHA256) {
		t.Fatalf("refused media: %v", err)
	}
	if err := s.FetchMedia(ctx, manifest.Media{SHA256: "x", Size: 1}); err == nil {
		t.Fatal("bad key fetched")
	}
}
