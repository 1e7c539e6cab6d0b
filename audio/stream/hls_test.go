package stream

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"loa/internal/testwait"
)

// These tests relay a live HLS stream from a Go server on loopback, whose
// segments ffmpeg made from a 1 kHz tone (ffmpeg -f hls, AAC in MPEG-TS or
// fMP4), through the real ffmpeg decoder, pulled in real time like a sound
// card (puller, icecast_test.go).

// hlsSegments makes 40 one-second segments of a 1 kHz tone (once per test
// binary) and returns their directory, names and durations.
func hlsSegments(tb testing.TB, fmp4 bool) (dir string, names []string, durs []float64, init string) {
	tb.Helper()
	name := "hls-ts"
	args := []string{"-hls_segment_type", "mpegts"}
	if fmp4 {
		name = "hls-fmp4"
		args = []string{"-hls_segment_type", "fmp4", "-hls_fmp4_init_filename", "init.mp4"}
	}
	dir = filepath.Join(fixtureDir, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	seg := "s%03d.ts"
	if fmp4 {
		seg = "s%03d.m4s"
	}
	full := []string{"-f", "lavfi", "-i", "sine=f=1000:duration=40:sample_rate=44100",
		"-ac", "2", "-c:a", "aac", "-b:a", "128k", "-f", "hls", "-hls_time", "1", "-hls_list_size", "0"}
	full = append(full, args...)
	full = append(full, "-hls_segment_filename", filepath.Join(dir, seg))
	// Made once, under fixture's lock: ffmpeg writes the playlist as it
	// goes, so a parallel test must not read it before ffmpeg is done.
	list := fixture(tb, filepath.Join(name, "all.m3u8"), full...)
	f, err := os.Open(list)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := sc.Text()
		switch {
		case strings.HasPrefix(l, "#EXTINF:"):
			d, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimPrefix(l, "#EXTINF:"), ","), 64)
			if err != nil {
				tb.Fatal(err)
			}
			durs = append(durs, d)
		case strings.HasPrefix(l, "#EXT-X-MAP:URI="):
			init = strings.Trim(strings.TrimPrefix(l, "#EXT-X-MAP:URI="), `"`)
		case l != "" && !strings.HasPrefix(l, "#"):
			names = append(names, l)
		}
	}
	return dir, names, durs, init
}

// hlsServer serves a live playlist over the segments: a window of the last
// three segments made available by the wall clock, one a second. It can
// stall (requests hang), drop a segment (404), jump the media sequence
// ahead, and restart (the encoder starts over: media sequence 0 again).
type hlsServer struct {
	t     testing.TB
	srv   *httptest.Server
	dir   string
	names []string
	durs  []float64
	init  string

	mu      sync.Mutex
	start   time.Time // when media sequence base+0 became available
	base    int       // media sequence of the first segment
	stalled bool
	drop    map[int]bool // media sequences that 404
	fetched map[int]bool
}

func newHLSServer(t testing.TB, fmp4 bool) *hlsServer {
	h := &hlsServer{t: t, drop: map[int]bool{}, fetched: map[int]bool{}}
	h.dir, h.names, h.durs, h.init = hlsSegments(t, fmp4)
	// Start three segments in, so that a window is there at once.
	h.start = time.Now().Add(-3 * time.Second)
	h.srv = httptest.NewServer(h)
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hlsServer) url() string { return h.srv.URL + "/live/vov1-audio_only.m3u8" }

// live returns the media sequence numbers available now.
func (h *hlsServer) live() (first, last int) {
	n := int(time.Since(h.start).Seconds())
	last = h.base + min(n, len(h.names)-1)
	return max(h.base, last-2), last
}

func (h *hlsServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	stalled := h.stalled
	h.mu.Unlock()
	if stalled {
		<-r.Context().Done()
		return
	}
	name := filepath.Base(r.URL.Path)
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case strings.HasSuffix(name, ".m3u8"):
		first, last := h.live()
		var b strings.Builder
		version := 3
		if h.init != "" {
			version = 7
		}
		fmt.Fprintf(&b, "#EXTM3U\n#EXT-X-VERSION:%d\n#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:%d\n", version, first)
		if h.init != "" {
			fmt.Fprintf(&b, "#EXT-X-MAP:URI=\"%s\"\n", h.init)
		}
		for seq := first; seq <= last; seq++ {
			i := seq - h.base
			fmt.Fprintf(&b, "#EXTINF:%.6f,\nseg-%d-%s\n", h.durs[i], seq, h.names[i])
		}
		w.Header().Set("Content-Type", "application/vnd.apple.mpegurl")
		w.Write([]byte(b.String()))
	case name == h.init:
		http.ServeFile(w, r, filepath.Join(h.dir, h.init))
	case strings.HasPrefix(name, "seg-"):
		parts := strings.SplitN(name, "-", 3)
		seq, _ := strconv.Atoi(parts[1])
		h.fetched[seq] = true
		if h.drop[seq] {
			http.NotFound(w, r)
			return
		}
		http.ServeFile(w, r, filepath.Join(h.dir, parts[2]))
	default:
		http.NotFound(w, r)
	}
}

func (h *hlsServer) setStalled(v bool) {
	h.mu.Lock()
	h.stalled = v
	h.mu.Unlock()
}

// dropNext makes the next segments not yet fetched 404.
func (h *hlsServer) dropNext(n int) []int {
	h.mu.Lock()
	defer h.mu.Unlock()
	_, last := h.live()
	var seqs []int
	for seq := last + 1; seq <= last+n; seq++ {
		h.drop[seq] = true
		seqs = append(seqs, seq)
	}
	return seqs
}

func (h *hlsServer) wasFetched(seq int) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.fetched[seq]
}

// jump moves the media sequence ahead by n without new audio: the segments
// a client expected have expired from the playlist.
func (h *hlsServer) jump(n int) {
	h.mu.Lock()
	h.base += n
	h.mu.Unlock()
}

// restart starts the stream over, as a restarted encoder does: the media
// sequence goes back to 0 and the timestamps start again.
func (h *hlsServer) restart() {
	h.mu.Lock()
	h.base = 0
	h.start = time.Now().Add(-3 * time.Second)
	h.mu.Unlock()
}

func needFFmpeg(t testing.TB) {
	if testing.Short() {
		t.Skip("real-time relay through ffmpeg (-short)")
	}
}

// playingTone waits until src plays and checks 2 s of the 1 kHz tone.
func playingTone(t *testing.T, src *Source, p *puller, within time.Duration) {
	t.Helper()
	waitStats(t, src, within, "playing", func(s Stats) bool { return s.State == Playing })
	p.record(300 * time.Millisecond)
	checkSteadyTone(t, src, p.record(2*time.Second), 44100)
}

// checkSteadyTone is checkIcecastTone for a relay whose servo may be
// moving its ratio (after a jump, the buffer is off its target and the
// servo plays up to 0.3 % faster or slower, changing within the
// recording): each 100 ms window is fitted at its own frequency, which
// must be within 0.5 % of 1 kHz, with at least 30 dB SNR, and 35 dB in 9 of
// 10 windows.
func checkSteadyTone(t *testing.T, src *Source, x []float64, rate int) {
	t.Helper()
	w := rate / 10
	clean, n := 0, 0
	for at := 0; at+w <= len(x); at += w {
		win := x[at : at+w]
		f := toneFrequency(win, float64(rate))
		amp, snr := fitSine(win, f, float64(rate))
		n++
		if math.Abs(f-1000) > 5 || snr < 30 || amp < 0.05 {
			t.Fatalf("window at %.1f s: %.2f Hz, amplitude %.3f, SNR %.1f dB: not a clean 1 kHz tone; stats %+v",
				float64(at)/float64(rate), f, amp, snr, src.Stats())
		}
		if snr >= 35 {
			clean++
		}
	}
	if clean*10 < n*9 {
		t.Fatalf("%d of %d windows at 35 dB SNR or better; stats %+v", clean, n, src.Stats())
	}
}

// TestHLSRelay: VOV's kind of stream, AAC in MPEG-TS and in fMP4 segments
// of a live playlist, plays the tone at the ward's output.
func TestHLSRelay(t *testing.T) {
	needFFmpeg(t)
	for _, fmp4 := range []bool{false, true} {
		t.Run(map[bool]string{false: "ts", true: "fmp4"}[fmp4], func(t *testing.T) {
			h := newHLSServer(t, fmp4)
			src := Open(context.Background(), Config{URL: h.url(), Log: testLog(t)})
			defer src.Close()
			p := startPuller(t, src, 44100)
			playingTone(t, src, p, 15*time.Second)
			st := src.Stats()
			if !strings.Contains(st.Codec, "aac") || st.Underruns != 0 {
				t.Errorf("stats %+v", st)
			}
			// Close ends the ffmpeg child, and it is reaped.
			pid := src.child.Load()
			src.Close()
			if !testwait.Poll(5*time.Second, func() bool {
				_, err := os.Stat(fmt.Sprintf("/proc/%d", pid))
				return err != nil
			}) {
				t.Fatalf("ffmpeg (pid %d) still there 5 s after Close", pid)
			}
		})
	}
}

// TestHLSDroppedSegment: two segments 404; the relay skips them (a gap,
// the buffer runs dry) and plays the tone again without giving up.
func TestHLSDroppedSegment(t *testing.T) {
	needFFmpeg(t)
	h := newHLSServer(t, false)
	src := Open(context.Background(), Config{URL: h.url(), Log: testLog(t)})
	defer src.Close()
	p := startPuller(t, src, 44100)
	playingTone(t, src, p, 15*time.Second)
	seqs := h.dropNext(2)
	if !testwait.Poll(10*time.Second, func() bool { return h.wasFetched(seqs[1]) }) {
		t.Fatalf("segment %d not asked for within 10 s", seqs[1])
	}
	// After the gap, the tone again; the relay never failed for the
	// player's 10 s.
	waitStats(t, src, 10*time.Second, "the gap", func(s Stats) bool { return s.Underruns >= 1 && h.wasFetched(seqs[1]+1) })
	playingTone(t, src, p, 10*time.Second)
	if st := src.Stats(); st.FailingFor != 0 {
		t.Errorf("stats %+v", st)
	}
}

// TestHLSMediaSequenceJump: the playlist jumps 5 segments ahead (what the
// relay expected has expired); it follows and plays on.
func TestHLSMediaSequenceJump(t *testing.T) {
	needFFmpeg(t)
	h := newHLSServer(t, false)
	src := Open(context.Background(), Config{URL: h.url(), Log: testLog(t)})
	defer src.Close()
	p := startPuller(t, src, 44100)
	playingTone(t, src, p, 15*time.Second)
	h.jump(5)
	_, last := h.live()
	waitStats(t, src, 10*time.Second, "a segment after the jump", func(Stats) bool { return h.wasFetched(last + 1) })
	playingTone(t, src, p, 10*time.Second)
}

// TestHLSRestart: the encoder restarts (media sequence 0 again, the
// timestamps start over, fMP4 with its init segment); the relay plays the
// new stream, by itself.
func TestHLSRestart(t *testing.T) {
	needFFmpeg(t)
	h := newHLSServer(t, true)
	src := Open(context.Background(), Config{URL: h.url(), StallTimeout: 2 * time.Second, RetryMax: time.Second, Log: testLog(t)})
	defer src.Close()
	p := startPuller(t, src, 44100)
	playingTone(t, src, p, 15*time.Second)
	// Far enough in that the restart goes back in the media sequence.
	waitStats(t, src, 15*time.Second, "segment 8", func(Stats) bool { return h.wasFetched(8) })
	h.restart()
	restarted := time.Now()
	// ffmpeg waits for the media sequence it expects; the watchdog
	// starts it again on the new stream.
	waitStats(t, src, 15*time.Second, "a new connection", func(s Stats) bool { return s.Reconnects >= 1 })
	playingTone(t, src, p, 15*time.Second)
	t.Logf("playing again %v after the restart: %+v", time.Since(restarted).Round(time.Millisecond), src.Stats())
}

// TestHLSStall: the server stops answering; the relay reports stalled,
// then failed, with FailingFor growing (the player falls back after 10 s
// of it, player/relay.go) and Err set; the server comes back and the relay
// plays again by itself.
func TestHLSStall(t *testing.T) {
	needFFmpeg(t)
	h := newHLSServer(t, false)
	src := Open(context.Background(), Config{URL: h.url(), ConnectTimeout: 2 * time.Second,
		StallTimeout: 2 * time.Second, RetryMax: time.Second, Log: testLog(t)})
	defer src.Close()
	p := startPuller(t, src, 44100)
	playingTone(t, src, p, 15*time.Second)

	h.setStalled(true)
	st1 := waitStats(t, src, 10*time.Second, "failed", func(s Stats) bool { return s.State == Failed })
	if err := src.Err(); err == nil {
		t.Error("Err() = nil while failing")
	}
	st2 := waitStats(t, src, 10*time.Second, "failing for longer", func(s Stats) bool {
		return s.FailingFor >= st1.FailingFor+time.Second && s.State != Playing
	})
	if st2.LastError == "" {
		t.Errorf("while the server stalls: %+v", st2)
	}
	// The player's condition for the fallback (player/relay.go): not
	// playing for 10 s.
	waitStats(t, src, 15*time.Second, "failing for the player's 10 s", func(s Stats) bool {
		return s.State != Playing && s.FailingFor >= 10*time.Second
	})
	h.setStalled(false)
	// After the reconnect ffmpeg rejoins the live playlist: the segments
	// listed come at once, then each new one at a playlist reload. On a
	// loaded machine the relay has underrun once while that settled
	// (reported in its stats, Underruns), 1.6 s into the recording. The
	// tone is judged on a recording the relay calls continuous
	// (recordSteady: five in a row with an underrun fail the test).
	waitStats(t, src, 15*time.Second, "playing after the stall", func(s Stats) bool { return s.State == Playing })
	p.record(300 * time.Millisecond)
	checkSteadyTone(t, src, p.recordSteady(src, 2*time.Second), 44100)
	if st := src.Stats(); st.Reconnects < 1 {
		t.Errorf("after the stall: %+v", st)
	}
}

// pacedServer serves data as a live stream: at its byte rate over dur, by
// the wall clock, with no content type telling what it is.
func pacedServer(t testing.TB, data []byte, dur time.Duration, ctype string) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Content-Type"] = nil
		if ctype != "" {
			w.Header().Set("Content-Type", ctype)
		}
		t0 := time.Now()
		sent := 0
		for sent < len(data) {
			due := min(len(data), int(time.Since(t0).Seconds()/dur.Seconds()*float64(len(data)))+4096)
			if due > sent {
				if _, err := w.Write(data[sent:due]); err != nil {
					return
				}
				w.(http.Flusher).Flush()
				sent = due
			}
			select {
			case <-r.Context().Done():
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestRelaysAACAndOgg: AAC (ADTS) and Ogg streams that do not say what
// they are (application/octet-stream, no type) are found by the framer
// and decoded by ffmpeg from the bytes already read.
func TestRelaysAACAndOgg(t *testing.T) {
	needFFmpeg(t)
	for _, c := range []struct{ name, ctype, codec string }{
		// 256 kbps: at 128 kbps ffmpeg's AAC encoder itself leaves
		// this tone at 35 dB SNR in some windows.
		{"tone256.aac", "application/octet-stream", "aac"},
		// Opus at a constant bit rate: the server paces by bytes.
		{"tone100.opus", "", "opus"},
	} {
		t.Run(c.name, func(t *testing.T) {
			args := []string{"-f", "lavfi", "-i", "sine=f=1000:duration=20:sample_rate=44100", "-ac", "2"}
			if c.codec == "aac" {
				args = append(args, "-c:a", "aac", "-b:a", "256k", "-f", "adts")
			} else {
				args = append(args, "-c:a", "libopus", "-b:a", "96k", "-vbr", "off", "-page_duration", "100000", "-f", "ogg")
			}
			data, err := os.ReadFile(fixture(t, c.name, args...))
			if err != nil {
				t.Fatal(err)
			}
			srv := pacedServer(t, data, 20*time.Second, c.ctype)
			src := Open(context.Background(), Config{URL: srv.URL + "/live", Log: testLog(t)})
			defer src.Close()
			p := startPuller(t, src, 44100)
			playingTone(t, src, p, 10*time.Second)
			if st := src.Stats(); !strings.Contains(st.Codec, c.codec) || st.BytesIn == 0 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

func TestNeedsFFmpeg(t *testing.T) {
	for url, want := range map[string]bool{
		"https://stream-cdn.vov.vn/live/vov1-audio_only.m3u8":    true,
		"https://stream-cdn.vov.vn/live/VOV1.M3U8?token=x":       true,
		"http://radio.tinh.vn:8000/live.aac":                     true,
		"http://radio.tinh.vn:8000/live.ogg":                     true,
		"http://radio.tinh.vn:8000/live.opus":                    true,
		"http://vov.example.vn:8000/vov1.mp3":                    false,
		"http://vov.example.vn:8000/stream":                      false,
		"http://vov.example.vn:8000/stream?format=playlist.m3u8": false,
	} {
		if got := NeedsFFmpeg(url); got != want {
			t.Errorf("NeedsFFmpeg(%q) = %v, want %v", url, got, want)
		}
	}
}

// TestHLSPlaylistCannotReadLocalFiles: a playlist that names a local file
// (or any protocol but HTTP) as a segment plays nothing from it: the relay
// fails, and says why.
func TestHLSPlaylistCannotReadLocalFiles(t *testing.T) {
	needFFmpeg(t)
	dir, names, _, _ := hlsSegments(t, false)
	local := filepath.Join(dir, names[0]) // a real TS segment, on disk
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/vnd.apple.mpegurl")
		fmt.Fprintf(w, "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:0\n#EXTINF:1.0,\nfile://%s\n#EXTINF:1.0,\n%s\n#EXT-X-ENDLIST\n", local, local)
	}))
	defer srv.Close()
	src := Open(context.Background(), Config{URL: srv.URL + "/x.m3u8", ConnectTimeout: time.Second, RetryMin: time.Second, Log: testLog(t)})
	defer src.Close()
	st := waitStats(t, src, 10*time.Second, "failed", func(s Stats) bool { return s.State == Failed })
	if src.everPlayed.Load() || st.LastError == "" {
		t.Fatalf("stats %+v", st)
	}
	t.Logf("refused: %s", st.LastError)
}

// TestNoFFmpeg: without ffmpeg an HLS relay fails at once with an error
// that says what to install (and the player's fallback plays); an MP3
// relay needs none.
func TestNoFFmpeg(t *testing.T) {
	src := Open(context.Background(), Config{URL: "http://127.0.0.1:1/live/vov1.m3u8", FFmpeg: "/nonexistent/ffmpeg",
		RetryMin: time.Second, Log: testLog(t)})
	defer src.Close()
	st := waitStats(t, src, 5*time.Second, "failed", func(s Stats) bool { return s.State == Failed })
	if err := src.Err(); !errors.Is(err, ErrNoFFmpeg) || !strings.Contains(st.LastError, "apt-get install ffmpeg") {
		t.Fatalf("Err() = %v; stats %+v", err, st)
	}
}

// TestFFmpegGarbage: a server that says AAC, sends garbage and keeps the
// connection open: ffmpeg keeps looking for a frame, decodes nothing, and
// the watchdog fails the connection after the stall timeout, like an MP3
// stream that sends nothing.
func TestFFmpegGarbage(t *testing.T) {
	needFFmpeg(t)
	garbage := make([]byte, 300<<10)
	for i := range garbage {
		garbage[i] = byte(i * 7919 >> 3)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "audio/aac")
		w.Write(garbage)
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	defer srv.Close()
	src := Open(context.Background(), Config{URL: srv.URL + "/live.aac", StallTimeout: 2 * time.Second, RetryMin: time.Minute, Log: testLog(t)})
	defer src.Close()
	opened := time.Now()
	waitStats(t, src, 10*time.Second, "failed", func(s Stats) bool { return s.State == Failed })
	if err := src.Err(); !errors.Is(err, ErrStalled) || src.everPlayed.Load() {
		t.Fatalf("Err() = %v, want no audio", err)
	}
	t.Logf("failed after %v: %v", time.Since(opened).Round(time.Millisecond), src.Err())
}
