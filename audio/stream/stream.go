// Package stream plays an HTTP audio stream (Icecast, SHOUTcast, HLS, or a
// plain audio file over HTTP) as a live source for the mixing engine: a relay of
// VOV or of the city's live announcements.
//
// A Source connects at once and keeps reconnecting (with backoff and
// jitter) for as long as it is open. A network goroutine reads, strips ICY
// metadata, picks MP3 frames out of the bytes, decodes them and resamples
// them to the engine rate into a jitter buffer (package jitter), whose
// servo absorbs the drift between the stream's clock and the sound card's.
// The engine's output goroutine reads the buffer through Stream, which
// never waits: when there is nothing to play it plays silence.
//
// Stats tells how the relay is doing, so that the player can fall back to
// something else when a relay has been failing (State, FailingFor) and the
// technician can see why (LastError).
//
// MP3 (MPEG-1/2/2.5 layer III) is decoded in Go. HLS playlists, AAC
// (ADTS) and Ogg streams are decoded by an ffmpeg child process into the
// same jitter buffer (ffmpeg.go says why). MPEG layer II is refused with
// ErrUnsupported.
package stream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"loa/audio/stream/jitter"
	"loa/internal/backoff"
)

// Config sets up a Source. Zero values take the defaults given.
type Config struct {
	URL string
	// Rate is the engine's sample rate.
	Rate int
	// Buffer is the jitter buffer's target depth (default 1 s): the
	// relay's added latency, and the network hiccup it rides out.
	Buffer time.Duration
	// ConnectTimeout bounds connecting and receiving the response headers
	// (default 5 s). StallTimeout is how long a connection may deliver no
	// audio before it is dropped and made again (default 3 s).
	ConnectTimeout, StallTimeout time.Duration
	// A stream whose audio stays below SilenceDBFS (peak, default −50
	// dBFS) for SilenceAfter (default 10 s) counts as failed: state
	// silent. It stays connected.
	SilenceDBFS  float64
	SilenceAfter time.Duration
	// RetryMin and RetryMax bound the wait between connection attempts
	// (defaults 250 ms and 10 s); it doubles after each failure, with
	// random jitter so that wards do not all reconnect at once.
	RetryMin, RetryMax time.Duration
	// HTTP is the client to use (default: one that also understands
	// SHOUTcast's "ICY 200 OK" status line). It must not set a Timeout:
	// a stream's body is read for hours.
	HTTP *http.Client
	// FFmpeg is the program that decodes HLS, AAC and Ogg streams
	// (default "ffmpeg", found on PATH); MP3 needs none.
	FFmpeg string
	Log    *slog.Logger
	Now    func() time.Time
}

// State is what a Source is doing.
type State string

const (
	Connecting State = "connecting" // first attempt, no answer yet
	Buffering  State = "buffering"  // connected, filling the buffer before playing
	Playing    State = "playing"    // sound is coming through
	Stalled    State = "stalled"    // connected, but no audio arrives
	Silent     State = "silent"     // audio arrives, but it is silence (for SilenceAfter)
	Failed     State = "failed"     // the last attempt failed; retrying (LastError says why)
	Ended      State = "ended"      // a file (not a live stream) was played to its end
)

// Stats is a snapshot of a Source's health.
type Stats struct {
	State State
	// FailingFor is how long the source has not been playing sound: since
	// sound last arrived, or since Open if it never did; 0 while playing.
	FailingFor time.Duration
	// BufferDepth is the audio waiting in the jitter buffer.
	BufferDepth time.Duration
	// Underruns counts the times the buffer ran dry while playing; Skips
	// the times it jumped ahead to the live edge (it had grown too deep).
	Underruns, Skips int64
	// Reconnects counts connections that delivered audio, after the first.
	Reconnects int64
	// BytesIn counts the bytes received (ICY metadata included).
	BytesIn int64
	// DriftPPM is the servo's correction: how much faster (positive) the
	// stream's clock runs than the sound card's, in parts per million.
	DriftPPM float64
	// Codec describes the stream ("MP3 (MPEG-1 layer III) 128 kbps 44100
	// Hz stereo"), empty before the first frame.
	Codec string
	// Title is the ICY StreamTitle, if the server sends one.
	Title string
	// LastError is the most recent failure, even if the source has
	// recovered since; empty if there was none.
	LastError string
}

// Errors a Source reports (wrapped with details).
var (
	ErrConnectTimeout = errors.New("no answer")
	ErrStalled        = errors.New("no audio")
	ErrEnded          = errors.New("the server ended the stream")
	ErrHTTP           = errors.New("HTTP error")
	ErrClosed         = errors.New("stream closed")
)

// Source is a relayed stream. Stream belongs to the engine's output
// goroutine; Stats, Err and Close are safe from any goroutine.
type Source struct {
	cfg    Config
	url    string // redacted, for messages
	client *http.Client
	log    *slog.Logger
	opened time.Time
	cancel context.CancelFunc
	done   chan struct{}

	jb     atomic.Pointer[jitter.Buffer]
	phase  atomic.Int32 // phase*
	closed atomic.Bool

	bytesIn    atomic.Int64
	reconnects atomic.Int64
	everPlayed atomic.Bool
	connected  atomic.Int64 // unix ns of the current connection's start
	reading    atomic.Bool  // inside the body's Read (tests wait for this)
	child      atomic.Int64 // the ffmpeg decoder's pid, 0 if none (benchmarks read it)

	mu    sync.Mutex
	codec string
	title string
	fails backoff.Failures
}

const (
	phaseConnecting = iota
	phaseConnected
	phaseFailed
	phaseEnded
)

// Open starts relaying cfg.URL. It returns at once; the source connects in
// the background, retrying until ctx ends or Close is called.
func Open(ctx context.Context, cfg Config) *Source {
	if cfg.Rate <= 0 {
		cfg.Rate = 44100
	}
	if cfg.Buffer <= 0 {
		cfg.Buffer = time.Second
	}
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = 5 * time.Second
	}
	if cfg.StallTimeout <= 0 {
		cfg.StallTimeout = 3 * time.Second
	}
	if cfg.SilenceDBFS == 0 {
		cfg.SilenceDBFS = -50
	}
	if cfg.SilenceAfter <= 0 {
		cfg.SilenceAfter = 10 * time.Second
	}
	if cfg.RetryMin <= 0 {
		cfg.RetryMin = 250 * time.Millisecond
	}
	if cfg.RetryMax <= 0 {
		cfg.RetryMax = 10 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.FFmpeg == "" {
		cfg.FFmpeg = "ffmpeg"
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	s := &Source{cfg: cfg, client: cfg.HTTP, opened: cfg.Now(), done: make(chan struct{})}
	s.url = cfg.URL
	if u, err := url.Parse(cfg.URL); err == nil {
		s.url = u.Redacted()
	}
	s.log = cfg.Log.With("stream", s.url)
	if s.client == nil {
		s.client = newClient(cfg.ConnectTimeout)
	}
	ctx, s.cancel = context.WithCancel(ctx)
	go s.run(ctx)
	return s
}

// Stream is beep.Streamer's. It never waits: silence stands in for audio
// that has not arrived. It returns ok=false only when the source is done for
// good: after Close, or at the end of a file (not a live stream).
func (s *Source) Stream(dst [][2]float64) (int, bool) {
	if s.closed.Load() {
		return 0, false
	}
	jb := s.jb.Load()
	if jb == nil {
		clear(dst)
		return len(dst), true
	}
	return jb.Stream(dst)
}

// Err is beep.Streamer's: the error that keeps the source from playing
// (nil while it plays, and after Close), or the error that ended a file.
func (s *Source) Err() error {
	if s.closed.Load() {
		return nil
	}
	if jb := s.jb.Load(); jb != nil {
		if err := jb.Err(); err != nil {
			return err
		}
	}
	return s.fails.Err()
}

// Close stops the source. It does not wait for the network goroutine (the
// engine closes a finished clip's source from its output goroutine); that
// ends within moments. Stream returns ok=false from now on.
func (s *Source) Close() error {
	s.closed.Store(true)
	s.cancel()
	return nil
}

// Stats is safe from any goroutine.
func (s *Source) Stats() Stats {
	now := s.cfg.Now()
	st := Stats{
		BytesIn:    s.bytesIn.Load(),
		Reconnects: s.reconnects.Load(),
	}
	s.mu.Lock()
	st.Codec, st.Title = s.codec, s.title
	s.mu.Unlock()
	if err := s.fails.Last(); err != nil {
		st.LastError = err.Error()
	}

	lastSound := s.opened
	jb := s.jb.Load()
	if jb != nil {
		st.BufferDepth = jb.Depth()
		st.Underruns = jb.Underruns()
		st.Skips = jb.Skips()
		st.DriftPPM = jb.DriftPPM()
		if t := jb.LastSound(); t.After(lastSound) {
			lastSound = t
		}
	}
	switch {
	case s.closed.Load():
		st.State = Failed
		st.LastError = ErrClosed.Error()
	case s.phase.Load() == phaseConnecting:
		st.State = Connecting
	case s.phase.Load() == phaseFailed:
		st.State = Failed
	case s.phase.Load() == phaseEnded:
		st.State = Ended
		if jb != nil && jb.Depth() > 0 {
			st.State = Playing
		}
	case s.sinceInput(now, jb) >= s.stallGrace():
		st.State = Stalled
	case jb == nil || !jb.Playing():
		st.State = Buffering
	default:
		since := lastSound
		if c := time.Unix(0, s.connected.Load()); c.After(since) {
			since = c
		}
		if now.Sub(since) >= s.cfg.SilenceAfter {
			st.State = Silent
		} else {
			st.State = Playing
		}
	}
	if st.State != Playing {
		st.FailingFor = now.Sub(lastSound)
	}
	return st
}

// sinceInput is how long the current connection has delivered no audio.
func (s *Source) sinceInput(now time.Time, jb *jitter.Buffer) time.Duration {
	last := time.Unix(0, s.connected.Load())
	if jb != nil {
		if jb.Waiting() {
			return 0
		}
		if t := jb.LastInput(); t.After(last) {
			last = t
		}
	}
	return now.Sub(last)
}

// stallGrace is how long a connection may deliver nothing before it is
// reported stalled (it is dropped after StallTimeout).
func (s *Source) stallGrace() time.Duration {
	return min(s.cfg.StallTimeout/3, time.Second)
}

// recovered says audio comes through again: Err is nil from now on
// (LastError keeps the last failure for the record).
func (s *Source) recovered() { s.fails.Recovered() }

func (s *Source) setCodec(c string) {
	s.mu.Lock()
	s.codec = c
	s.mu.Unlock()
}

func (s *Source) setTitle(t string) {
	s.mu.Lock()
	changed := s.title != t
	s.title = t
	s.mu.Unlock()
	if changed {
		s.log.Info("stream title", "title", t)
	}
}

func (s *Source) wrap(err error) error {
	return fmt.Errorf("stream %s: %w", s.url, err)
}
