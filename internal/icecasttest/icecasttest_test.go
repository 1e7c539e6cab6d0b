package icecasttest

import (
	"bufio"
	"net/http"
	"testing"
	"time"

	"loa/internal/testwait"
)

// TestServerAndFeed: the server starts, ffmpeg's stream appears on the
// mount as MP3 with ICY metadata offered, and goes away when ffmpeg is
// killed.
func TestServerAndFeed(t *testing.T) {
	s := Start(t)
	f := s.Feed(t, "/test.mp3", "sine=f=440:sample_rate=44100")
	s.WaitMount(t, "/test.mp3", 10*time.Second)

	req, _ := http.NewRequest(http.MethodGet, s.URL("/test.mp3"), nil)
	req.Header.Set("Icy-MetaData", "1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "audio/mpeg" || resp.Header.Get("icy-metaint") == "" {
		t.Errorf("content type %q, icy-metaint %q", ct, resp.Header.Get("icy-metaint"))
	}
	b, err := bufio.NewReader(resp.Body).Peek(4096)
	resp.Body.Close()
	if err != nil || len(b) < 4096 {
		t.Fatalf("read %d bytes of the stream: %v", len(b), err)
	}

	f.Kill()
	if !testwait.Poll(10*time.Second, func() bool { return !s.Mounted("/test.mp3") }) {
		t.Fatal("the mount is still there 10 s after its source was killed")
	}
}
