package console

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"testing"
)

// Static assets go compressed to a browser that takes gzip, plain to one
// that does not; the map script is under a third of its size compressed.
func TestStaticGzip(t *testing.T) {
	tc, _ := startFleetConsole(t)
	raw, _ := staticFS.ReadFile("static/leaflet/leaflet.js")
	get := func(enc string) (*http.Response, []byte) {
		req, _ := http.NewRequest("GET", tc.srv.URL+"/static/leaflet/leaflet.js", nil)
		if enc != "" {
			req.Header.Set("Accept-Encoding", enc)
		}
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}
	resp, body := get("gzip, deflate, br")
	if resp.Header.Get("Content-Encoding") != "gzip" || resp.Header.Get("Vary") != "Accept-Encoding" || len(body) > len(raw)/3 {
		t.Fatalf("gzip: %v, %d bytes of %d", resp.Header, len(body), len(raw))
	}
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if plain, _ := io.ReadAll(zr); !bytes.Equal(plain, raw) {
		t.Error("the compressed copy is not the file")
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/javascript; charset=utf-8" {
		t.Errorf("content type %q", ct)
	}
	for _, enc := range []string{"", "identity", "gzip;q=0"} {
		resp, body = get(enc)
		if resp.Header.Get("Content-Encoding") != "" || !bytes.Equal(body, raw) {
			t.Errorf("Accept-Encoding %q: %v", enc, resp.Header)
		}
	}
}
