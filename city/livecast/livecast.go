// Package livecast is the city's own live mount: an official's browser
// sends its microphone (MediaRecorder chunks, Opus in WebM or Ogg) to the
// city, one ffmpeg transcodes it to MP3, and the city serves the result as
// an HTTP stream that the wards' existing relay pulls (agent/live.go,
// audio/stream), so no Icecast server is needed for a voice from a phone.
// Icecast remains a source like any other: a live announcement names a
// stream URL, and this package is one way of having one.
//
// Wards reach a mount through an unguessable URL made for one broadcast
// (256 random bits), not with their token: the relay pulls any URL
// without credentials today, the URL only travels inside the signed live
// announcement sent to the addressed wards, and it dies with the
// broadcast. A token in a header would need every agent upgraded first.
//
// Each listener has a bounded queue of MP3 frames; a listener that falls
// that far behind is dropped (its relay reconnects to the live edge), so
// one slow ward never delays the others.
package livecast

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"time"

	"loa/city/api"
)

// MountPrefix is where the mounts are served: MountPrefix+TOKEN+".mp3".
const MountPrefix = "/live/mount/"

// Announcer puts a live announcement on and off the air: the methods the
// JSON API's POST and DELETE /api/v1/live call (city/alerting.Service).
type Announcer interface {
	StartLive(ctx context.Context, req api.NewLive, by string) (api.Live, error)
	StopLive(ctx context.Context, id, by string) error
}

// Config configures a Caster. Every field but Announcer has a default.
type Config struct {
	Announcer Announcer
	// FFmpeg is the ffmpeg program (default "ffmpeg").
	FFmpeg string
	// Bitrate is the MP3 bitrate in kbit/s (default 64: a voice, mono).
	Bitrate int
	// ListenerQueue is how many MP3 frames (26 ms each) a listener may lag
	// before it is dropped (default 64, about 1.7 s).
	ListenerQueue int
	// FirstAudio bounds the wait for the transcoder's first frame before
	// the announcement is sent (default 10 s).
	FirstAudio time.Duration
	Log        *slog.Logger
}

// Caster keeps the broadcasts on air and serves their mounts.
type Caster struct {
	cfg    Config
	mu     sync.Mutex
	mounts map[string]*Broadcast
}

// New makes a Caster.
func New(cfg Config) *Caster {
	if cfg.FFmpeg == "" {
		cfg.FFmpeg = "ffmpeg"
	}
	if cfg.Bitrate == 0 {
		cfg.Bitrate = 64
	}
	if cfg.ListenerQueue == 0 {
		cfg.ListenerQueue = 64
	}
	if cfg.FirstAudio == 0 {
		cfg.FirstAudio = 10 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Caster{cfg: cfg, mounts: map[string]*Broadcast{}}
}

// Broadcast is one browser's voice on its way to the wards.
type Broadcast struct {
	c       *Caster
	token   string
	url     string
	req     api.NewLive
	by      string
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	out     *Fanout       // the mount's listeners
	done    chan struct{} // closed when the transcoder has ended
	waitErr error

	mu      sync.Mutex
	live    api.Live // set once announced
	ended   bool
	endOnce sync.Once
}

// Begin starts a transcoder and a mount for a broadcast to req.To; base
// is the city's URL as the wards reach it (scheme and host). Nothing is
// sent to the wards until Announce.
func (c *Caster) Begin(ctx context.Context, base string, req api.NewLive, by string) (*Broadcast, error) {
	tok := make([]byte, 32)
	rand.Read(tok)
	token := base64.RawURLEncoding.EncodeToString(tok)
	b := &Broadcast{c: c, token: token, url: strings.TrimSuffix(base, "/") + MountPrefix + token + ".mp3", req: req, by: by,
		out: NewFanout(c.cfg.ListenerQueue, c.cfg.Log.With("to", req.To)), done: make(chan struct{})}
	// Low delay: no probing beyond the container's header, packets out as
	// soon as they are encoded, no ID3 or Xing header (a live stream).
	b.cmd = exec.Command(c.cfg.FFmpeg, "-hide_banner", "-loglevel", "error", "-nostdin",
		"-fflags", "+nobuffer", "-probesize", "4096", "-analyzeduration", "0", "-i", "pipe:0",
		"-vn", "-ac", "1", "-ar", "44100", "-c:a", "libmp3lame", "-b:a", fmt.Sprintf("%dk", c.cfg.Bitrate),
		"-write_xing", "0", "-id3v2_version", "0", "-flush_packets", "1", "-f", "mp3", "pipe:1")
	b.cmd.Stdin = nil
	stdin, err := b.cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := b.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	var stderr strings.Builder
	b.cmd.Stderr = &limitedWriter{w: &stderr, n: 4096}
	if err := b.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the transcoder %s: %w", c.cfg.FFmpeg, err)
	}
	b.stdin = stdin
	c.mu.Lock()
	c.mounts[token] = b
	c.mu.Unlock()
	go func() {
		b.out.Pump(stdout)
		err := b.cmd.Wait()
		if err != nil && strings.TrimSpace(stderr.String()) != "" {
			err = fmt.Errorf("%w: %s", err, strings.TrimSpace(stderr.String()))
		}
		b.waitErr = err
		close(b.done)
	}()
	c.cfg.Log.Info("live broadcast opened", "to", req.To, "by", by)
	return b, nil
}

// Write hands the transcoder a chunk of the browser's recording.
func (b *Broadcast) Write(p []byte) (int, error) { return b.stdin.Write(p) }

// Done is closed when the transcoder has ended (Err says why).
func (b *Broadcast) Done() <-chan struct{} { return b.done }

// Err is why the transcoder ended, once Done is closed.
func (b *Broadcast) Err() error { return b.waitErr }

// URL is the mount's URL, as sent to the wards.
func (b *Broadcast) URL() string { return b.url }

// Announce waits for the transcoder's first frame, then starts the live
// announcement to the wards through the Announcer (the alerting service,
// exactly as POST /api/v1/live does).
func (b *Broadcast) Announce(ctx context.Context) (api.Live, error) {
	t := time.NewTimer(b.c.cfg.FirstAudio)
	defer t.Stop()
	select {
	case <-b.out.First():
	case <-b.done:
		return api.Live{}, fmt.Errorf("the transcoder ended before any audio: %v", b.waitErr)
	case <-t.C:
		return api.Live{}, fmt.Errorf("no audio from the microphone within %s", b.c.cfg.FirstAudio)
	case <-ctx.Done():
		return api.Live{}, ctx.Err()
	}
	req := b.req
	req.Stream = b.url
	l, err := b.c.cfg.Announcer.StartLive(ctx, req, b.by)
	if err != nil {
		return api.Live{}, err
	}
	b.mu.Lock()
	ended := b.ended
	b.live = l
	b.mu.Unlock()
	if ended { // stopped meanwhile: take it off again
		b.c.cfg.Announcer.StopLive(context.WithoutCancel(ctx), l.ID, b.by)
		return api.Live{}, errors.New("the broadcast ended")
	}
	return l, nil
}

// Relays is how many wards' relays are pulling the mount now.
func (b *Broadcast) Relays() int {
	_, n := b.out.Listeners()
	return n
}

// End stops the live announcement (if it was sent), the transcoder and
// the mount. It is safe to call more than once.
func (b *Broadcast) End(ctx context.Context) {
	b.endOnce.Do(func() {
		b.mu.Lock()
		b.ended = true
		id := b.live.ID
		b.mu.Unlock()
		if id != "" {
			if err := b.c.cfg.Announcer.StopLive(ctx, id, b.by); err != nil {
				b.c.cfg.Log.Error("live broadcast: stop the announcement", "live", id, "err", err)
			}
		}
		b.stdin.Close()
		select {
		case <-b.done:
		case <-time.After(2 * time.Second):
			b.cmd.Process.Kill()
			<-b.done
		}
		b.c.mu.Lock()
		delete(b.c.mounts, b.token)
		b.c.mu.Unlock()
		b.out.Close()
		b.c.cfg.Log.Info("live broadcast ended", "live", id, "by", b.by)
	})
}

// Handler serves GET MountPrefix+TOKEN.mp3: the live MP3 stream from the
// moment of the request on. An unknown or ended token is 404.
func (c *Caster) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "GET only", http.StatusMethodNotAllowed)
			return
		}
		token := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, MountPrefix), ".mp3")
		c.mu.Lock()
		b := c.mounts[token]
		c.mu.Unlock()
		if b == nil || token == "" {
			http.Error(w, "no such live mount (it ended, or the address is wrong)", http.StatusNotFound)
			return
		}
		b.serve(w, r)
	})
}

func (b *Broadcast) serve(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	ended := b.ended
	b.mu.Unlock()
	if ended {
		http.Error(w, "the live broadcast ended", http.StatusNotFound)
		return
	}
	b.out.Serve(w, r, "loa live")
}

// Close ends every broadcast (their announcements stopped at the wards):
// the city is shutting down, and a ward must not wait for a mount that
// will not come back.
func (c *Caster) Close(ctx context.Context) {
	c.mu.Lock()
	var all []*Broadcast
	for _, b := range c.mounts {
		all = append(all, b)
	}
	c.mu.Unlock()
	var wg sync.WaitGroup
	for _, b := range all {
		wg.Go(func() { b.End(ctx) })
	}
	wg.Wait()
}

// Live is how many broadcasts are on air.
func (c *Caster) Live() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.mounts)
}

// NewLimitedWriter keeps the first n bytes written to it in w and drops
// the rest, never failing (for ffmpeg's complaints on stderr, which must
// not block ffmpeg however much it writes).
func NewLimitedWriter(w io.Writer, n int) io.Writer { return &limitedWriter{w: w, n: n} }

// limitedWriter keeps the first n bytes written (ffmpeg's complaints).
type limitedWriter struct {
	mu sync.Mutex
	w  io.Writer
	n  int
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.n > 0 {
		k := min(len(p), l.n)
		l.w.Write(p[:k])
		l.n -= k
	}
	return len(p), nil
}
