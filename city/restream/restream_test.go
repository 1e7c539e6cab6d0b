package restream

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"loa/audio"
	"loa/internal/streamtest"
	"loa/internal/testwait"
)

// serveMounts is the service behind a loopback HTTP server, as
// city/httpapi mounts it (the credential is httpapi's test).
func serveMounts(t *testing.T, s *Service) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.Serve(w, r, strings.TrimPrefix(r.URL.Path, "/"))
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(s.Close)
	return srv.URL
}

// ward is a relay reading a mount: the MP3 frames it got, and whether its
// response has ended.
type ward struct {
	bytes  atomic.Int64
	frames atomic.Int64
	ended  chan struct{}
	resp   *http.Response
}

func listen(t *testing.T, url string) *ward {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("User-Agent", "loa-agent relay")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "audio/mpeg" {
		msg, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s: %s %s: %s", url, resp.Status, resp.Header.Get("Content-Type"), msg)
	}
	w := &ward{ended: make(chan struct{}), resp: resp}
	go func() {
		defer close(w.ended)
		buf := make([]byte, 0, 64<<10)
		tmp := make([]byte, 8<<10)
		for {
			n, err := resp.Body.Read(tmp)
			buf = append(buf, tmp[:n]...)
			w.bytes.Add(int64(n))
			for len(buf) >= 4 {
				f, ok := audio.ParseMPEGFrame(buf)
				if !ok || f.Size() > len(buf) {
					if !ok {
						t.Errorf("the mount sent bytes that are not an MP3 frame: % x", buf[:4])
						return
					}
					break
				}
				buf = buf[f.Size():]
				w.frames.Add(1)
			}
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() { resp.Body.Close() })
	return w
}

// Two wards listening make one connection to the upstream; the frames
// they get are whole MP3 frames; the pull stops Linger after the last
// one left, and starts again for the next.
func TestOnePullForTwoWards(t *testing.T) {
	up := streamtest.Start(t, streamtest.MP3Tone(t, 1000, 5))
	s := New(Config{Sources: []Source{{Name: "vov1", URL: up.URL()}}, Linger: 300 * time.Millisecond})
	base := serveMounts(t, s)
	if resp, err := http.Head(base + "/vov1"); err != nil || resp.StatusCode != http.StatusOK || s.List()[0].Pulling {
		t.Fatalf("HEAD: %v %v, pulling %v (a look starts no pull)", resp, err, s.List()[0].Pulling)
	}
	a, b := listen(t, base+"/vov1"), listen(t, base+"/vov1.mp3")
	testwait.For(t, "both wards get audio", 15*time.Second, func() bool { return a.frames.Load() > 40 && b.frames.Load() > 40 })
	if n := up.Connections(UserAgent); n != 1 {
		t.Fatalf("the upstream saw %d connections from the city, want 1", n)
	}
	l := s.List()
	if len(l) != 1 || !l[0].Pulling || l[0].Listeners != 2 || l[0].Mode != "passthrough" || l[0].Pulls != 1 || l[0].Mount != "/api/v1/restream/vov1" {
		t.Fatalf("List: %+v", l)
	}
	a.resp.Body.Close()
	b.resp.Body.Close()
	testwait.For(t, "the pull stops after the last ward left", 10*time.Second, func() bool {
		return up.Open(UserAgent) == 0 && !s.List()[0].Pulling
	})
	if l := s.List()[0]; l.LastError != "" {
		t.Errorf("an idle stop is no failure: %+v", l)
	}
	c := listen(t, base+"/vov1")
	testwait.For(t, "a new pull for the next ward", 15*time.Second, func() bool { return c.frames.Load() > 10 })
	if n := up.Connections(UserAgent); n != 2 {
		t.Fatalf("the upstream saw %d connections from the city, want 2", n)
	}
}

// An upstream that is not MP3 goes through ffmpeg once: the wards get MP3.
func TestTranscodedOnce(t *testing.T) {
	up := streamtest.Start(t, streamtest.MP3Tone(t, 1000, 5))
	up.ContentType = "application/octet-stream" // not known as MP3: transcoded
	s := New(Config{Sources: []Source{{Name: "tinh", URL: up.URL()}}})
	base := serveMounts(t, s)
	a, b := listen(t, base+"/tinh"), listen(t, base+"/tinh")
	testwait.For(t, "both wards get audio", 20*time.Second, func() bool { return a.frames.Load() > 40 && b.frames.Load() > 40 })
	if l := s.List()[0]; l.Mode != "transcode" || up.Connections(UserAgent) != 1 {
		t.Fatalf("List: %+v; upstream connections %d", l, up.Connections(UserAgent))
	}
}

// When the upstream fails every ward's response ends (their relays then
// pull directly), and a ward asking within RetryAfter is refused at once
// with the reason; an unknown mount is 404.
func TestUpstreamFailureEndsTheMount(t *testing.T) {
	up := streamtest.Start(t, streamtest.MP3Tone(t, 1000, 5))
	s := New(Config{Sources: []Source{{Name: "vov1", URL: up.URL()}}, StallTimeout: time.Second, RetryAfter: time.Hour})
	base := serveMounts(t, s)
	a := listen(t, base+"/vov1")
	testwait.For(t, "the ward gets audio", 15*time.Second, func() bool { return a.frames.Load() > 10 })
	up.Refuse(UserAgent)
	select {
	case <-a.ended:
	case <-time.After(10 * time.Second):
		t.Fatal("the ward's response did not end when the upstream failed")
	}
	testwait.For(t, "the failure recorded", 10*time.Second, func() bool { return s.List()[0].LastError != "" })
	resp, err := http.Get(base + "/vov1")
	if err != nil {
		t.Fatal(err)
	}
	msg, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadGateway || !strings.Contains(string(msg), "failing") || !strings.Contains(string(msg), "the upstream ended the stream") {
		t.Fatalf("a ward asking after the failure: %s %s", resp.Status, msg)
	}
	if n := up.Connections(UserAgent); n != 1 {
		t.Fatalf("the refused ward made the city try the upstream again within RetryAfter (%d connections)", n)
	}
	resp, err = http.Get(base + "/khong-co")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("an unknown mount: %s", resp.Status)
	}
}

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		src  []Source
		want string
	}{
		{[]Source{{Name: "vov1", URL: "https://stream-cdn.vov.vn/live/vov1-audio_only.m3u8"}}, ""},
		{[]Source{{Name: "VOV 1", URL: "http://a/b"}}, "restream[0].name"},
		{[]Source{{Name: "a", URL: "ftp://a/b"}}, "restream[0].url"},
		{[]Source{{Name: "a", URL: "http://a/b"}, {Name: "a", URL: "http://a/c"}}, "restream[1].name"},
		{[]Source{{Name: "a", URL: "http://a/b"}, {Name: "b", URL: "http://a/b"}}, "restream[1].url"},
	} {
		err := Check(tc.src)
		if (err == nil) != (tc.want == "") || err != nil && !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Check(%+v) = %v, want %q", tc.src, err, tc.want)
		}
	}
}

// An HLS station (VOV's kind: a playlist of AAC segments) is read by one
// ffmpeg, paced by the segments' timestamps, and reaches the wards as MP3.
func TestHLSTranscodedOnce(t *testing.T) {
	dir := t.TempDir()
	out, err := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "sine=f=1000:sample_rate=44100:duration=12",
		"-c:a", "aac", "-b:a", "64k", "-f", "hls", "-hls_time", "2", "-hls_list_size", "0", filepath.Join(dir, "live.m3u8")).CombinedOutput()
	if err != nil {
		t.Fatalf("ffmpeg -f hls: %v %s", err, out)
	}
	var gets atomic.Int64
	files := http.FileServer(http.Dir(dir))
	station := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.UserAgent() != UserAgent {
			t.Errorf("the station was asked by %q", r.UserAgent())
		}
		gets.Add(1)
		files.ServeHTTP(w, r)
	}))
	defer station.Close()
	s := New(Config{Sources: []Source{{Name: "vov1", URL: station.URL + "/live.m3u8"}}})
	base := serveMounts(t, s)
	a, b := listen(t, base+"/vov1"), listen(t, base+"/vov1")
	testwait.For(t, "both wards get audio", 30*time.Second, func() bool { return a.frames.Load() > 40 && b.frames.Load() > 40 })
	if l := s.List()[0]; l.Mode != "transcode" || l.Pulls != 1 {
		t.Fatalf("List: %+v", l)
	}
}
