package livecast

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"loa/audio"
	"loa/city/api"
	"loa/internal/testwait"
)

type fakeAnnouncer struct {
	mu      sync.Mutex
	started []api.NewLive
	stopped []string
}

func (f *fakeAnnouncer) StartLive(ctx context.Context, req api.NewLive, by string) (api.Live, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.started = append(f.started, req)
	return api.Live{ID: "live-1", To: req.To, Stream: req.Stream, Mode: req.Mode, By: by}, nil
}

func (f *fakeAnnouncer) StopLive(ctx context.Context, id, by string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stopped = append(f.stopped, id)
	return nil
}

func (f *fakeAnnouncer) stops() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.stopped...)
}

// A recording fed in comes out of the mount as MP3 frames to a ward's
// relay; the announcement names the mount; ending it stops the
// announcement and the mount answers 404 from then on, as does any other
// token.
func TestBroadcastServesTheMountAndEnds(t *testing.T) {
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg is not installed")
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "voice.webm")
	if out, err := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "sine=f=1000:d=3",
		"-c:a", "libopus", "-f", "webm", src).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	rec, _ := os.ReadFile(src)
	ann := &fakeAnnouncer{}
	c := New(Config{Announcer: ann})
	srv := httptest.NewServer(c.Handler())
	defer srv.Close()
	b, err := c.Begin(context.Background(), srv.URL, api.NewLive{To: "phuong-1", Mode: "duck", DuckDB: -12}, "canh-bao")
	if err != nil {
		t.Fatal(err)
	}
	defer b.End(context.Background())
	go func() { // as the browser does: chunks
		for i := 0; i < len(rec); i += 2000 {
			if _, err := b.Write(rec[i:min(i+2000, len(rec))]); err != nil {
				return
			}
		}
	}()
	l, err := b.Announce(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if l.Stream != b.URL() || ann.started[0].DuckDB != -12 || ann.started[0].To != "phuong-1" {
		t.Fatalf("announced %+v from %+v", l, ann.started)
	}
	req, _ := http.NewRequest(http.MethodGet, b.URL(), nil)
	req.Header.Set("User-Agent", "loa-agent relay")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "audio/mpeg" {
		t.Fatalf("mount: %s %s", resp.Status, resp.Header.Get("Content-Type"))
	}
	if b.Relays() != 1 {
		t.Errorf("relays: %d, want 1", b.Relays())
	}
	hdr := make([]byte, 4)
	if _, err := io.ReadFull(resp.Body, hdr); err != nil {
		t.Fatal(err)
	}
	if f, ok := audio.ParseMPEGFrame(hdr); !ok || f.Rate() != 44100 || !f.Mono() {
		t.Fatalf("the mount does not start on an MP3 frame: % x", hdr)
	}
	for _, u := range []string{srv.URL + MountPrefix + "AAAA.mp3", srv.URL + MountPrefix} {
		r, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		if r.StatusCode != http.StatusNotFound {
			t.Errorf("%s: %s, want 404", u, r.Status)
		}
	}
	b.End(context.Background())
	if got := ann.stops(); len(got) != 1 || got[0] != "live-1" {
		t.Fatalf("stops: %v", got)
	}
	io.Copy(io.Discard, resp.Body) // the stream ends with the broadcast
	r, err := http.Get(b.URL())
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusNotFound {
		t.Errorf("the mount after the end: %s, want 404", r.Status)
	}
	testwait.For(t, "the mount gone", 5*time.Second, func() bool { return c.Live() == 0 })
}

// Close ends every broadcast on air and stops its announcement.
func TestCloseEndsEveryBroadcast(t *testing.T) {
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg is not installed")
	}
	ann := &fakeAnnouncer{}
	c := New(Config{Announcer: ann, FirstAudio: 100 * time.Millisecond})
	for i := 0; i < 2; i++ {
		b, err := c.Begin(context.Background(), "http://127.0.0.1:1", api.NewLive{To: "all", Mode: "exclusive"}, "x")
		if err != nil {
			t.Fatal(err)
		}
		b.live.ID = "live-" + string(rune('a'+i)) // as if announced
	}
	c.Close(context.Background())
	if c.Live() != 0 || len(ann.stops()) != 2 {
		t.Fatalf("after Close: %d on air, stops %v", c.Live(), ann.stops())
	}
}

// A listener whose queue is full is dropped at the next frame; the others
// get it.
func TestSlowListenerDropped(t *testing.T) {
	c := New(Config{Announcer: &fakeAnnouncer{}, ListenerQueue: 2})
	b := &Broadcast{c: c, out: NewFanout(2, nil)}
	slow := &listener{frames: make(chan []byte, 2), relay: true}
	fast := &listener{frames: make(chan []byte, 2), relay: true}
	b.out.listeners[slow], b.out.listeners[fast] = struct{}{}, struct{}{}
	for i := 0; i < 3; i++ {
		b.out.Send([]byte{byte(i)})
		if i < 2 {
			<-fast.frames
		}
	}
	if _, ok := b.out.listeners[slow]; ok || b.Relays() != 1 {
		t.Fatalf("the slow listener is still there (%d relays)", b.Relays())
	}
	if f := <-fast.frames; f[0] != 2 {
		t.Fatalf("the fast listener got %v", f)
	}
	for range slow.frames { // closed after what it had
	}
}
