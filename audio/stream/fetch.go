package stream

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"html"
	"io"
	"loa/internal/backoff"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	gomp3 "github.com/hajimehoshi/go-mp3"

	"loa/audio/stream/jitter"
)

// run connects, plays, and reconnects until ctx ends.
func (s *Source) run(ctx context.Context) {
	defer close(s.done)
	var resume int64 // bytes of a file already played (bounded streams)
	loop := backoff.Loop{
		Retry:    backoff.Retry{Min: s.cfg.RetryMin, Max: s.cfg.RetryMax},
		Failures: &s.fails, Log: s.log, Now: s.cfg.Now, What: "stream",
		Failed: func(error) { s.phase.Store(phaseFailed) },
	}
	loop.Run(ctx, func(ctx context.Context, _ int) (bool, error) {
		played, err := s.session(ctx, &resume)
		if ctx.Err() != nil {
			return played, ctx.Err()
		}
		if err == nil { // a file, played to its end
			s.phase.Store(phaseEnded)
			s.log.Info("stream ended")
			return played, nil
		}
		return played, s.wrap(err)
	})
}

var errDone = errors.New("done")

// session makes one connection and plays it until it fails. It returns nil
// when a bounded stream (a file) was played to its end, and whether any
// audio came through.
func (s *Source) session(parent context.Context, resume *int64) (played bool, err error) {
	ctx, cancel := context.WithCancelCause(parent)
	defer cancel(errDone)
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("the MP3 decoder crashed: %v", r)
		}
		// A cancelled read says "context canceled"; the cause says why.
		if err != nil && parent.Err() == nil {
			if c := context.Cause(ctx); c != nil && c != errDone && ctx.Err() != nil {
				err = c
			}
		}
	}()

	if isHLSURL(s.cfg.URL) {
		return s.ffmpegSession(ctx, cancel, nil, "HLS", false)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.cfg.URL, nil)
	if err != nil {
		return false, fmt.Errorf("bad URL: %w", err)
	}
	req.Header.Set("Icy-MetaData", "1")
	req.Header.Set("User-Agent", "loa-agent relay")
	if *resume > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", *resume))
	}
	timer := time.AfterFunc(s.cfg.ConnectTimeout, func() {
		cancel(fmt.Errorf("%w within %v", ErrConnectTimeout, s.cfg.ConnectTimeout))
	})
	resp, err := s.client.Do(req)
	timer.Stop()
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL is in the message already
		}
		var te interface{ Timeout() bool }
		if errors.As(err, &te) && te.Timeout() {
			return false, fmt.Errorf("%w within %v: %v", ErrConnectTimeout, s.cfg.ConnectTimeout, err)
		}
		return false, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusPartialContent {
		return false, fmt.Errorf("%w: %s", ErrHTTP, resp.Status)
	}
	k, err := checkType(resp.Header.Get("Content-Type"))
	if err != nil {
		return false, err
	}
	if k == kindHLS {
		resp.Body.Close()
		return s.ffmpegSession(ctx, cancel, nil, "HLS", false)
	}
	bounded := resp.ContentLength > 0 && resp.Header.Get("icy-metaint") == ""
	skip := int64(0)
	if *resume > 0 && resp.StatusCode == http.StatusOK {
		skip = *resume // the server ignored Range: play from where we were
	}

	s.connected.Store(s.cfg.Now().UnixNano())
	s.phase.Store(phaseConnected)

	var body io.Reader = &countingReader{r: resp.Body, s: s}
	if skip > 0 {
		if _, err := io.CopyN(io.Discard, body, skip); err != nil {
			return false, err
		}
	}
	if bounded {
		body = &offsetReader{r: body, pos: resume}
	}
	if mi := resp.Header.Get("icy-metaint"); mi != "" {
		n, err := strconv.Atoi(mi)
		if err != nil || n <= 0 || n > 1<<20 {
			return false, fmt.Errorf("bad icy-metaint header %q", mi)
		}
		body = &icyReader{r: body, every: n, left: n, title: s.setTitle}
	}
	if k == kindPiped {
		return s.ffmpegSession(ctx, cancel, body, resp.Header.Get("Content-Type"), bounded)
	}
	// The watchdog drops a connection that delivers no audio.
	wctx, stopWatchdog := context.WithCancel(ctx)
	go s.watchdog(wctx, cancel)
	played, err = s.play(ctx, body, bounded)
	stopWatchdog()
	var f *foreignStream
	if errors.As(err, &f) {
		// AAC or Ogg without a content type that said so: ffmpeg
		// decodes it from the bytes already read on.
		s.log.Info("stream is not MP3: decoding with ffmpeg", "format", f.format)
		return s.ffmpegSession(ctx, cancel, f.rest, f.format, bounded)
	}
	return played, err
}

// foreignStream is a stream found to be AAC or Ogg before any MP3 frame;
// rest reads it from its first AAC/Ogg byte on.
type foreignStream struct {
	format string
	rest   io.Reader
}

func (f *foreignStream) Error() string { return "a " + f.format + " stream" }

// play decodes MP3 from body into the jitter buffer until body fails or
// ends. It returns nil at the end of a bounded stream.
func (s *Source) play(ctx context.Context, body io.Reader, bounded bool) (played bool, err error) {
	fr := newFramer(body)
	pcm := make([]byte, 4*1152)
	frames := make([][2]float64, 1152)
	for {
		dec, err := gomp3.NewDecoder(fr)
		if err != nil {
			if fr.foreign != "" && fr.frames == 0 && fr.err == nil {
				held := append([]byte(nil), fr.buf[fr.off:fr.end]...)
				return played, &foreignStream{format: fr.foreign, rest: io.MultiReader(bytes.NewReader(held), fr.r)}
			}
			return played, decodeErr(fr, err)
		}
		jb := s.buffer(dec.SampleRate(), bounded)
		jb.Restart(dec.SampleRate())
		s.setCodec(fr.ref.String())
		for {
			n, err := dec.Read(pcm)
			n /= 4
			for i := range n {
				frames[i] = [2]float64{
					float64(int16(binary.LittleEndian.Uint16(pcm[4*i:]))) / 32768,
					float64(int16(binary.LittleEndian.Uint16(pcm[4*i+2:]))) / 32768,
				}
			}
			if n > 0 {
				if !played {
					played = true
					s.recovered()
					if s.everPlayed.Swap(true) {
						s.reconnects.Add(1)
						s.log.Info("stream reconnected")
					} else {
						s.log.Info("stream playing", "codec", fr.ref.String())
					}
				}
				if err := jb.Write(ctx, frames[:n]); err != nil {
					return played, err
				}
			}
			if err == nil {
				continue
			}
			if err == io.EOF && fr.takeChanged() {
				s.log.Info("stream format changed", "codec", fr.ref.String())
				break // a new decoder for the new format
			}
			// A body with a Content-Length ends with io.EOF only when
			// complete (net/http says io.ErrUnexpectedEOF otherwise).
			if err == io.EOF && fr.err == io.EOF && bounded {
				jb.End(nil)
				return played, nil
			}
			return played, decodeErr(fr, err)
		}
	}
}

// decodeErr says why decoding stopped: the network's error if there was
// one (the decoder reports it as the end of the stream).
func decodeErr(fr *framer, err error) error {
	if fr.err != nil && fr.err != io.EOF {
		return fr.err
	}
	if err == io.EOF || fr.err == io.EOF {
		return ErrEnded
	}
	return fmt.Errorf("MP3: %w", err)
}

// buffer returns the jitter buffer, made at the first connection.
func (s *Source) buffer(rate int, bounded bool) *jitter.Buffer {
	if jb := s.jb.Load(); jb != nil {
		return jb
	}
	jb := jitter.New(jitter.Config{
		InRate: rate, OutRate: s.cfg.Rate, Target: s.cfg.Buffer, Bounded: bounded,
		SilenceDBFS: s.cfg.SilenceDBFS, Now: s.cfg.Now,
	})
	s.jb.Store(jb)
	return jb
}

// watchdog cancels the connection when no audio has arrived for
// StallTimeout (a bounded stream waiting for room is not stalled).
func (s *Source) watchdog(ctx context.Context, cancel context.CancelCauseFunc) {
	tick := time.NewTicker(min(s.cfg.StallTimeout/4, 250*time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if d := s.sinceInput(s.cfg.Now(), s.jb.Load()); d >= s.cfg.StallTimeout {
			cancel(fmt.Errorf("%w for %v", ErrStalled, s.cfg.StallTimeout))
			return
		}
	}
}

// checkType says how a stream of content type ct is decoded, and refuses
// the types no relay can play. Types that say nothing
// (application/octet-stream, none) are left to the framer, which hands
// AAC (ADTS) and Ogg over to ffmpeg when it finds them.
func checkType(ct string) (kind, error) {
	if ct == "" {
		return kindMP3, nil
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return kindMP3, nil
	}
	switch mt {
	case "audio/aac", "audio/aacp", "audio/x-aac", "audio/mp4", "audio/x-m4a", "audio/mp4a-latm", "audio/3gpp",
		"application/ogg", "audio/ogg", "audio/opus", "audio/vorbis", "audio/flac", "audio/x-flac", "audio/webm":
		return kindPiped, nil
	case "application/vnd.apple.mpegurl", "application/x-mpegurl", "audio/x-mpegurl", "audio/mpegurl":
		return kindHLS, nil
	case "audio/x-scpls", "application/pls+xml":
		return kindMP3, fmt.Errorf("%w: a playlist (content type %s); give the stream URL inside it", ErrUnsupported, mt)
	}
	if strings.HasPrefix(mt, "text/") || mt == "application/json" || mt == "application/xml" {
		return kindMP3, fmt.Errorf("%w: the server sent %s, not an audio stream", ErrNotMP3, mt)
	}
	return kindMP3, nil
}

// countingReader counts the body's bytes and marks the time spent waiting
// for them.
type countingReader struct {
	r io.Reader
	s *Source
}

func (c *countingReader) Read(p []byte) (int, error) {
	c.s.reading.Store(true)
	n, err := c.r.Read(p)
	c.s.reading.Store(false)
	c.s.bytesIn.Add(int64(n))
	return n, err
}

// offsetReader keeps the position in a file, to resume there.
type offsetReader struct {
	r   io.Reader
	pos *int64
}

func (o *offsetReader) Read(p []byte) (int, error) {
	n, err := o.r.Read(p)
	*o.pos += int64(n)
	return n, err
}

// icyReader strips the metadata that an Icecast/SHOUTcast server
// interleaves every `every` bytes of audio when asked with Icy-MetaData: 1
// (a length byte L, then 16·L bytes of "StreamTitle='…';").
type icyReader struct {
	r     io.Reader
	every int
	left  int // audio bytes before the next metadata block
	meta  [255 * 16]byte
	title func(string)
}

func (m *icyReader) Read(p []byte) (int, error) {
	if m.left == 0 {
		var l [1]byte
		if _, err := io.ReadFull(m.r, l[:]); err != nil {
			return 0, err
		}
		if n := int(l[0]) * 16; n > 0 {
			if _, err := io.ReadFull(m.r, m.meta[:n]); err != nil {
				return 0, err
			}
			if t, ok := streamTitle(m.meta[:n]); ok {
				m.title(t)
			}
		}
		m.left = m.every
	}
	n, err := m.r.Read(p[:min(len(p), m.left)])
	m.left -= n
	return n, err
}

// streamTitle finds StreamTitle='…'; in an ICY metadata block. The text is
// UTF-8 when it is valid UTF-8, else Latin-1. Icecast 2.4 converts titles
// to Latin-1 for MP3 mounts and writes what Latin-1 lacks (most of
// Vietnamese: "ế") as HTML character references ("&#7871;"), which are
// decoded here.
func streamTitle(b []byte) (string, bool) {
	b = bytes.TrimRight(b, "\x00")
	const key = "StreamTitle='"
	i := bytes.Index(b, []byte(key))
	if i < 0 {
		return "", false
	}
	v := b[i+len(key):]
	if j := bytes.Index(v, []byte("';")); j >= 0 {
		v = v[:j]
	} else {
		v = bytes.TrimSuffix(v, []byte("'"))
	}
	t := string(v)
	if !utf8.Valid(v) {
		r := make([]rune, len(v))
		for i, c := range v {
			r[i] = rune(c)
		}
		t = string(r)
	}
	if strings.Contains(t, "&") {
		t = html.UnescapeString(t)
	}
	return t, true
}

// newClient makes the default HTTP client: no overall timeout (a stream is
// read for hours), a bounded wait for the response headers, and a dialer
// that turns SHOUTcast v1's "ICY 200 OK" status line into HTTP/1.0 so that
// net/http accepts it.
func newClient(connectTimeout time.Duration) *http.Client {
	d := &net.Dialer{Timeout: connectTimeout, KeepAlive: 30 * time.Second}
	return &http.Client{Transport: &http.Transport{
		Proxy: http.ProxyFromEnvironment,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return &icyConn{Conn: c}, nil
		},
		TLSHandshakeTimeout:   connectTimeout,
		ResponseHeaderTimeout: connectTimeout,
		DisableCompression:    true,
		DisableKeepAlives:     true,
	}}
}

// icyConn rewrites a leading "ICY " status line to "HTTP/1.0 ".
type icyConn struct {
	net.Conn
	checked bool
	pending []byte
}

func (c *icyConn) Read(p []byte) (int, error) {
	if !c.checked {
		c.checked = true
		var head [4]byte
		n, err := io.ReadFull(c.Conn, head[:])
		c.pending = head[:n]
		if n == 4 && string(head[:]) == "ICY " {
			c.pending = []byte("HTTP/1.0 ")
		}
		if err != nil && n == 0 {
			return 0, err
		}
	}
	if len(c.pending) > 0 {
		n := copy(p, c.pending)
		c.pending = c.pending[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}
