// Package streamtest is an outside radio station for tests: an HTTP
// server on loopback that plays an MP3 file in a loop, paced at real time
// like an Icecast mount (one second sent at once on connect, like its
// burst), counting its listeners by User-Agent, and able to refuse some of
// them (the city's pull cut, the wards' direct pull still served).
package streamtest

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"loa/audio"
)

// Upstream is the station.
type Upstream struct {
	// ContentType is what the station says it sends (default audio/mpeg;
	// set it before the first listener).
	ContentType string

	srv    *httptest.Server
	frames [][]byte
	frame  time.Duration

	mu      sync.Mutex
	conns   map[string]int // connections made, by User-Agent
	open    map[string]int // connections open now, by User-Agent
	refused []string       // User-Agent prefixes refused
	cut     chan struct{}  // closed to end the refused connections
}

// MP3Tone makes secs seconds of a sine at freq Hz, MP3 mono 44.1 kHz
// 64 kbit/s, with ffmpeg.
func MP3Tone(tb testing.TB, freq float64, secs int) []byte {
	tb.Helper()
	out, err := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i",
		"sine=f="+strconv.FormatFloat(freq, 'g', -1, 64)+":sample_rate=44100:duration="+strconv.Itoa(secs),
		"-ac", "1", "-c:a", "libmp3lame", "-b:a", "64k", "-write_xing", "0", "-id3v2_version", "0", "-f", "mp3", "pipe:1").Output()
	if err != nil {
		tb.Fatalf("ffmpeg tone: %v", err)
	}
	return out
}

// Start serves mp3 (whole MP3 frames, looped) at "/" until the test ends.
func Start(tb testing.TB, mp3 []byte) *Upstream {
	tb.Helper()
	u := &Upstream{conns: map[string]int{}, open: map[string]int{}, cut: make(chan struct{})}
	for b := mp3; len(b) >= 4; {
		f, ok := audio.ParseMPEGFrame(b)
		if !ok || f.Size() > len(b) {
			b = b[1:]
			continue
		}
		u.frames = append(u.frames, b[:f.Size()])
		u.frame = time.Duration(f.Samples()) * time.Second / time.Duration(f.Rate())
		b = b[f.Size():]
	}
	if len(u.frames) == 0 {
		tb.Fatal("streamtest: no MP3 frames")
	}
	u.srv = httptest.NewServer(http.HandlerFunc(u.serve))
	tb.Cleanup(u.srv.Close)
	return u
}

// URL is the stream's address.
func (u *Upstream) URL() string { return u.srv.URL + "/station.mp3" }

// Connections is how many connections listeners whose User-Agent starts
// with prefix have made.
func (u *Upstream) Connections(prefix string) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	n := 0
	for ua, k := range u.conns {
		if strings.HasPrefix(ua, prefix) {
			n += k
		}
	}
	return n
}

// Open is how many connections from prefix are open now.
func (u *Upstream) Open(prefix string) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	n := 0
	for ua, k := range u.open {
		if strings.HasPrefix(ua, prefix) {
			n += k
		}
	}
	return n
}

// Refuse ends the open connections of listeners whose User-Agent starts
// with prefix and answers their new ones 503.
func (u *Upstream) Refuse(prefix string) {
	u.mu.Lock()
	u.refused = append(u.refused, prefix)
	close(u.cut)
	u.cut = make(chan struct{})
	u.mu.Unlock()
}

func (u *Upstream) isRefused(ua string) bool {
	for _, p := range u.refused {
		if strings.HasPrefix(ua, p) {
			return true
		}
	}
	return false
}

func (u *Upstream) serve(w http.ResponseWriter, r *http.Request) {
	ua := r.UserAgent()
	u.mu.Lock()
	u.conns[ua]++
	if u.isRefused(ua) {
		u.mu.Unlock()
		http.Error(w, "refused", http.StatusServiceUnavailable)
		return
	}
	u.open[ua]++
	cut := u.cut
	u.mu.Unlock()
	defer func() {
		u.mu.Lock()
		u.open[ua]--
		u.mu.Unlock()
	}()
	ct := u.ContentType
	if ct == "" {
		ct = "audio/mpeg"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("icy-name", "streamtest")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	start := time.Now().Add(-time.Second) // a second at once, like Icecast's burst
	sent := 0
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		due := int(time.Since(start) / u.frame)
		var buf bytes.Buffer
		for ; sent < due; sent++ {
			buf.Write(u.frames[sent%len(u.frames)])
		}
		if buf.Len() > 0 {
			if _, err := w.Write(buf.Bytes()); err != nil {
				return
			}
			rc.Flush()
		}
		select {
		case <-r.Context().Done():
			return
		case <-cut:
			u.mu.Lock()
			refused := u.isRefused(ua)
			cut = u.cut
			u.mu.Unlock()
			if refused {
				return
			}
		case <-tick.C:
		}
	}
}
