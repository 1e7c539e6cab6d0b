// Package restream is the city pulling an outside stream (VOV, the
// provincial station: HLS, AAC, Ogg or MP3) once and serving it as MP3 to
// its wards, so that wards on 3G do not each pull the same upstream.
//
// The streams are declared in the city's configuration (restream:, a name
// and the upstream URL), not derived from the wards' program files: the
// city pulls only what its operators chose to carry (its bandwidth and
// CPU, the station's consent), a ward's program file keeps the upstream's
// own address (so a ward whose city does not carry it, or cannot be
// reached, relays it directly as before), and a ward knows which of its
// relays go through the city by asking GET /api/v1/restreams.
//
// A source is pulled only while at least one ward listens (and Linger
// after the last one leaves, so that a ward reconnecting does not restart
// the pull). An MP3 upstream is passed through frame by frame; anything
// else is transcoded once by ffmpeg to MP3. The wards get the frames
// through livecast.Fanout: a bounded queue per listener, a slow ward
// dropped, never waited for. When the upstream fails (no answer, an
// error, no audio for StallTimeout) the pull ends and so does every
// listener's response: the wards' relays see the failure and pull the
// upstream directly (agent/cityrelay.go). A new pull is tried at the next
// listener, at most once every RetryAfter.
package restream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"os/exec"
	"path"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"loa/city/api"
	"loa/city/livecast"
)

// Source is one stream the city re-streams (the config's restream: list).
type Source struct {
	// Name is the mount's name: [a-z0-9-]+.
	Name string `yaml:"name"`
	// URL is the upstream's address, exactly as the wards' program files
	// write it in relay:.
	URL string `yaml:"url"`
}

// Config configures a Service. Every field but Sources has a default.
type Config struct {
	Sources []Source
	// FFmpeg is the ffmpeg program (default "ffmpeg").
	FFmpeg string
	// Bitrate is the MP3 bit rate in kbit/s of a transcoded stream
	// (default 64: mono, 44.1 kHz; a horn speaker has one channel).
	Bitrate int
	// ListenerQueue is how many MP3 frames (26 ms each) a ward may lag
	// before it is dropped (default 256, about 6.7 s: an Icecast
	// upstream's burst on connect is several seconds at once).
	ListenerQueue int
	// Linger is how long the pull goes on after the last ward left
	// (default 10 s).
	Linger time.Duration
	// ConnectTimeout bounds the wait for the upstream's first audio
	// (default 10 s); StallTimeout ends a pull that brings no audio for
	// that long (default 5 s).
	ConnectTimeout, StallTimeout time.Duration
	// RetryAfter: after a pull failed, wards asking within this time are
	// refused at once (502) instead of each starting a pull (default 5 s).
	RetryAfter time.Duration
	// HTTP is the client for MP3/AAC/Ogg upstreams (default: no timeout,
	// a stream is read for hours; the connect is bounded by
	// ConnectTimeout).
	HTTP *http.Client
	Log  *slog.Logger
	Now  func() time.Time
}

// UserAgent is what the city sends to the upstream.
const UserAgent = "loa-city restream"

var validName = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)

// Check validates the sources (the config's restream: list); where names
// the file for the message.
func Check(sources []Source) error {
	seen := map[string]bool{}
	urls := map[string]string{}
	for i, s := range sources {
		field := fmt.Sprintf("restream[%d]", i)
		if !validName.MatchString(s.Name) {
			return fmt.Errorf("%s.name: %q: tên chỉ gồm a-z, 0-9 và - / want [a-z0-9-]+", field, s.Name)
		}
		if seen[s.Name] {
			return fmt.Errorf("%s.name: %q: trùng tên / the name is used twice", field, s.Name)
		}
		seen[s.Name] = true
		u, err := url.Parse(s.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("%s.url: %q: cần địa chỉ http(s) / want an http(s) URL", field, s.URL)
		}
		if other, ok := urls[s.URL]; ok {
			return fmt.Errorf("%s.url: %q: đã có ở %s / already re-streamed as %s", field, s.URL, other, other)
		}
		urls[s.URL] = s.Name
	}
	return nil
}

// Service pulls the sources and serves their mounts.
type Service struct {
	cfg    Config
	ctx    context.Context
	cancel context.CancelFunc
	mounts map[string]*mount
	order  []string
}

// New makes a Service (nothing is pulled until a ward listens). Close
// ends every pull.
func New(cfg Config) *Service {
	if cfg.FFmpeg == "" {
		cfg.FFmpeg = "ffmpeg"
	}
	if cfg.Bitrate == 0 {
		cfg.Bitrate = 64
	}
	if cfg.ListenerQueue == 0 {
		cfg.ListenerQueue = 256
	}
	if cfg.Linger == 0 {
		cfg.Linger = 10 * time.Second
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = 10 * time.Second
	}
	if cfg.StallTimeout == 0 {
		cfg.StallTimeout = 5 * time.Second
	}
	if cfg.RetryAfter == 0 {
		cfg.RetryAfter = 5 * time.Second
	}
	if cfg.HTTP == nil {
		cfg.HTTP = &http.Client{Transport: &http.Transport{Proxy: http.ProxyFromEnvironment, ResponseHeaderTimeout: cfg.ConnectTimeout}}
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Service{cfg: cfg, mounts: map[string]*mount{}}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	for _, src := range cfg.Sources {
		s.mounts[src.Name] = &mount{s: s, src: src, log: cfg.Log.With("restream", src.Name)}
		s.order = append(s.order, src.Name)
	}
	return s
}

// mount is one source: its current pull, if any, and how the last ended.
type mount struct {
	s   *Service
	src Source
	log *slog.Logger

	mu       sync.Mutex
	pull     *pull
	lastFail time.Time
	lastErr  string
	mode     string
	pulls    atomic.Int64
}

// pull is one connection to the upstream and its listeners.
type pull struct {
	out    *livecast.Fanout
	cancel context.CancelCauseFunc
	done   chan struct{}
	idle   *time.Timer
	pid    atomic.Int64 // ffmpeg's, while it runs (the benchmark reads it)
}

// errIdle ends a pull nobody listens to.
var errIdle = errors.New("no ward listens")

// ErrUnknown is a mount name the city does not re-stream.
var ErrUnknown = errors.New("no such re-stream")

// Serve is GET RestreamPrefix+NAME for a ward: the MP3 stream from now on,
// starting the pull if none runs. The caller has checked the credential.
func (s *Service) Serve(w http.ResponseWriter, r *http.Request, name string) {
	m := s.mounts[strings.TrimSuffix(name, ".mp3")]
	if m == nil {
		http.Error(w, fmt.Sprintf("không có kênh tiếp sóng %q / %v %q", name, ErrUnknown, name), http.StatusNotFound)
		return
	}
	if r.Method == http.MethodHead { // no pull for a look
		w.Header().Set("Content-Type", "audio/mpeg")
		return
	}
	p, err := m.join()
	if err != nil {
		w.Header().Set("Retry-After", fmt.Sprint(int(s.cfg.RetryAfter.Seconds()+0.5)))
		http.Error(w, fmt.Sprintf("nguồn tiếp sóng %s đang lỗi / the upstream of %s is failing: %v", name, name, err), http.StatusBadGateway)
		return
	}
	p.out.Serve(w, r, "loa "+name)
}

// join returns the running pull, starting one if needed; an error when
// the last pull failed less than RetryAfter ago.
func (m *mount) join() (*pull, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.pull != nil {
		return m.pull, nil
	}
	if err := m.s.ctx.Err(); err != nil {
		return nil, errors.New("the city is shutting down")
	}
	if !m.lastFail.IsZero() && m.s.cfg.Now().Sub(m.lastFail) < m.s.cfg.RetryAfter {
		return nil, errors.New(m.lastErr)
	}
	ctx, cancel := context.WithCancelCause(m.s.ctx)
	// Batches of 100 ms: a ward's connection written 10 times a second,
	// not 38 (measured: BenchmarkRestreamCost); the queue is as long in
	// time as ListenerQueue frames.
	const batch = 100 * time.Millisecond
	out := livecast.NewFanout(max(4, m.s.cfg.ListenerQueue*26/int(batch/time.Millisecond)), m.log)
	out.SetBatch(batch)
	p := &pull{out: out, cancel: cancel, done: make(chan struct{})}
	p.out.OnChange(func(n int) { m.listenersChanged(p, n) })
	m.pull = p
	m.idleLocked(p, 0) // stopped unless a listener comes (a HEAD, a ward gone at once)
	m.pulls.Add(1)
	go m.run(ctx, p)
	return p, nil
}

// listenersChanged stops the pull Linger after its last listener left.
func (m *mount) listenersChanged(p *pull, n int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.idleLocked(p, n)
}

func (m *mount) idleLocked(p *pull, n int) {
	if p.idle != nil {
		p.idle.Stop()
		p.idle = nil
	}
	if n == 0 && m.pull == p {
		p.idle = time.AfterFunc(m.s.cfg.Linger, func() {
			if all, _ := p.out.Listeners(); all == 0 {
				p.cancel(errIdle)
			}
		})
	}
}

// run pulls until the upstream fails or nobody listens, then ends every
// listener's response.
func (m *mount) run(ctx context.Context, p *pull) {
	defer close(p.done)
	m.log.Info("re-stream: pulling the upstream", "url", m.src.URL)
	err := m.pullOnce(ctx, p)
	if c := context.Cause(ctx); c != nil && ctx.Err() != nil {
		err = c
	}
	p.out.Close()
	m.mu.Lock()
	if m.pull == p {
		m.pull = nil
	}
	if p.idle != nil {
		p.idle.Stop()
	}
	switch {
	case errors.Is(err, errIdle):
		m.log.Info("re-stream: no ward listens, the pull stopped")
	case m.s.ctx.Err() != nil:
	default:
		if err == nil {
			err = errors.New("the upstream ended the stream")
		}
		m.lastFail, m.lastErr = m.s.cfg.Now(), err.Error()
		m.log.Warn("re-stream: the upstream failed; the wards pull it directly", "url", m.src.URL, "err", err)
	}
	m.mu.Unlock()
}

// pullOnce makes one connection to the upstream and pumps its audio, as
// MP3 frames, to the listeners until it fails or ctx ends.
func (m *mount) pullOnce(ctx context.Context, p *pull) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go m.watchdog(ctx, cancel, p)
	err := m.pullFrom(ctx, p)
	if ctx.Err() != nil {
		err = context.Cause(ctx) // the watchdog's reason, or the pull stopped
	}
	return err
}

func (m *mount) pullFrom(ctx context.Context, p *pull) error {
	if isHLS(m.src.URL) {
		m.setMode("transcode")
		return m.transcode(ctx, p, nil)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.src.URL, nil)
	if err != nil {
		return err
	}
	req.Header.Set("User-Agent", UserAgent)
	resp, err := m.s.cfg.HTTP.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("connect: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP %s", resp.Status)
	}
	ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	switch {
	case ct == "audio/mpeg" || ct == "audio/mp3" || ct == "audio/x-mpeg":
		m.setMode("passthrough")
		p.out.Pump(resp.Body)
		return ctx.Err()
	case strings.Contains(ct, "mpegurl"):
		resp.Body.Close()
		m.setMode("transcode")
		return m.transcode(ctx, p, nil)
	default:
		m.setMode("transcode")
		return m.transcode(ctx, p, resp.Body)
	}
}

func (m *mount) setMode(mode string) {
	m.mu.Lock()
	m.mode = mode
	m.mu.Unlock()
}

// transcode runs one ffmpeg: from in (AAC, Ogg over HTTP), or from the URL
// itself when in is nil (HLS: ffmpeg reads the playlist and the
// segments, paced by their timestamps so that a segment downloaded at
// once is not a burst).
func (m *mount) transcode(ctx context.Context, p *pull, in io.Reader) error {
	args := []string{"-hide_banner", "-loglevel", "error", "-nostdin"}
	if in == nil {
		args = append(args, "-re", "-user_agent", UserAgent, "-rw_timeout", fmt.Sprint(m.s.cfg.StallTimeout.Microseconds()), "-i", m.src.URL)
	} else {
		args = append(args, "-i", "pipe:0")
	}
	args = append(args, "-vn", "-ac", "1", "-ar", "44100", "-c:a", "libmp3lame", "-b:a", fmt.Sprintf("%dk", m.s.cfg.Bitrate),
		"-write_xing", "0", "-id3v2_version", "0", "-flush_packets", "1", "-f", "mp3", "pipe:1")
	cmd := exec.CommandContext(ctx, m.s.cfg.FFmpeg, args...)
	cmd.SysProcAttr = childAttr()
	cmd.Stdin = in
	var stderr strings.Builder
	cmd.Stderr = livecast.NewLimitedWriter(&stderr, 2048)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start the transcoder %s: %w", m.s.cfg.FFmpeg, err)
	}
	p.pid.Store(int64(cmd.Process.Pid))
	p.out.Pump(stdout)
	err = cmd.Wait()
	p.pid.Store(0)
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	if msg := strings.TrimSpace(stderr.String()); msg != "" {
		return fmt.Errorf("ffmpeg: %s", lastLine(msg))
	}
	if err != nil {
		return fmt.Errorf("ffmpeg: %w", err)
	}
	return nil
}

// watchdog ends a pull that brings no audio: none within ConnectTimeout,
// or none for StallTimeout since the last frame.
func (m *mount) watchdog(ctx context.Context, cancel context.CancelCauseFunc, p *pull) {
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	start := m.s.cfg.Now()
	last, lastAt := int64(0), start
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		now := m.s.cfg.Now()
		n := p.out.Frames()
		if n != last {
			last, lastAt = n, now
			continue
		}
		switch {
		case n == 0 && now.Sub(start) >= m.s.cfg.ConnectTimeout:
			cancel(fmt.Errorf("no audio from the upstream within %s", m.s.cfg.ConnectTimeout))
			return
		case n > 0 && now.Sub(lastAt) >= m.s.cfg.StallTimeout:
			cancel(fmt.Errorf("the upstream sent no audio for %s", m.s.cfg.StallTimeout))
			return
		}
	}
}

// List is every re-stream with its state, in the configuration's order.
func (s *Service) List() []api.Restream {
	out := make([]api.Restream, 0, len(s.order))
	for _, name := range s.order {
		m := s.mounts[name]
		m.mu.Lock()
		r := api.Restream{Name: name, Upstream: m.src.URL, Mount: api.RestreamPrefix + name, Pulls: m.pulls.Load(), Mode: m.mode}
		if m.pull != nil {
			r.Pulling = true
			r.Listeners, _ = m.pull.out.Listeners()
		} else if !m.lastFail.IsZero() {
			r.LastError = m.lastErr
		}
		m.mu.Unlock()
		out = append(out, r)
	}
	return out
}

// Close ends every pull and every ward's response, and waits for them.
func (s *Service) Close() {
	s.cancel()
	for _, m := range s.mounts {
		m.mu.Lock()
		p := m.pull
		m.mu.Unlock()
		if p != nil {
			<-p.done
		}
	}
}

func isHLS(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && strings.EqualFold(path.Ext(u.Path), ".m3u8")
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	lines = slices.DeleteFunc(lines, func(l string) bool { return strings.TrimSpace(l) == "" })
	if len(lines) == 0 {
		return ""
	}
	return lines[len(lines)-1]
}
