// Package capture plays a ward's line-in or microphone as a live source for
// the mixing engine (a live announcement from the ward's own desk).
//
// The audio is read from an `arecord` child process (alsa-utils) rather than
// through cgo, so that cgo stays limited to oto's ALSA output: a capture
// device that hangs or fails takes down a child process, not the agent. The
// child writes raw 16-bit stereo at the engine rate; a reader goroutine puts
// it into the same never-waiting jitter buffer as network relays (package
// audio/stream/jitter), whose servo absorbs the drift between the capture
// card's clock and the output card's (two cards, two crystals; on one card
// they agree and the correction stays at zero). If arecord exits or stops
// delivering, it is started again with backoff, as long as the source is
// open.
package capture

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"loa/internal/backoff"
	"log/slog"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"loa/audio/stream/jitter"
)

// Config sets up a Source. Zero values take the defaults given.
type Config struct {
	// Device is the ALSA PCM to capture from (default "default"). A
	// "plughw:CARD,DEV" converts the rate and format if the card cannot
	// capture 16-bit stereo at Rate; "hw:" does not.
	Device string
	// Rate is the engine's sample rate; capture runs at it.
	Rate int
	// Buffer is the jitter buffer's target depth (default 200 ms): the
	// added latency.
	Buffer time.Duration
	// StallTimeout is how long arecord may deliver nothing before it is
	// killed and started again (default 2 s).
	StallTimeout time.Duration
	// Input below SilenceDBFS (peak, default −50 dBFS) for SilenceAfter
	// (default 10 s) is reported silent (an unplugged microphone).
	SilenceDBFS  float64
	SilenceAfter time.Duration
	// RetryMin and RetryMax bound the wait between restarts (defaults
	// 250 ms and 5 s), doubling with jitter.
	RetryMin, RetryMax time.Duration
	// Arecord is the program (default "arecord", from alsa-utils).
	Arecord string
	Log     *slog.Logger
	Now     func() time.Time
}

// State is what a Source is doing.
type State string

const (
	Starting  State = "starting"  // arecord started, no audio yet
	Buffering State = "buffering" // filling the buffer before playing
	Playing   State = "playing"   // sound is coming through
	Stalled   State = "stalled"   // arecord runs but delivers nothing
	Silent    State = "silent"    // audio arrives, but it is silence (for SilenceAfter)
	Failed    State = "failed"    // arecord failed; restarting (LastError says why)
)

// Stats is a snapshot of a Source's health.
type Stats struct {
	State State
	// FailingFor is how long the source has not been playing sound (since
	// sound last arrived, or since Open); 0 while playing.
	FailingFor  time.Duration
	BufferDepth time.Duration
	// Underruns counts the times the buffer ran dry while playing; Skips
	// the times it jumped ahead because it had grown too deep.
	Underruns, Skips int64
	// Restarts counts the times arecord was started again.
	Restarts int64
	// DriftPPM is the servo's correction: how much faster the capture
	// clock runs than the output's, in parts per million.
	DriftPPM  float64
	LastError string
}

// ErrStalled is reported when arecord delivers nothing for StallTimeout.
var ErrStalled = errors.New("no audio")

// Source is a capture device as a live source. Stream belongs to the
// engine's output goroutine; Stats, Err and Close are safe from any
// goroutine.
type Source struct {
	cfg    Config
	log    *slog.Logger
	jb     *jitter.Buffer
	opened time.Time
	cancel context.CancelFunc
	done   chan struct{}

	closed   atomic.Bool
	phase    atomic.Int32
	started  atomic.Int64 // unix ns of arecord's last start
	restarts atomic.Int64
	pid      atomic.Int64 // arecord's, for tests

	fails backoff.Failures
}

const (
	phaseStarting = iota
	phaseRunning
	phaseFailed
)

// startTimeout is how long Open waits for arecord's first audio.
const startTimeout = 3 * time.Second

// Open starts capturing. It waits for arecord's first audio (at most 3 s):
// if arecord cannot be started or exits at once (no such device, device
// busy), Open returns its error. After that, failures are retried in the
// background until ctx ends or Close is called.
func Open(ctx context.Context, cfg Config) (*Source, error) {
	if cfg.Device == "" {
		cfg.Device = "default"
	}
	if cfg.Rate <= 0 {
		cfg.Rate = 44100
	}
	if cfg.Buffer <= 0 {
		cfg.Buffer = 200 * time.Millisecond
	}
	if cfg.StallTimeout <= 0 {
		cfg.StallTimeout = 2 * time.Second
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
		cfg.RetryMax = 5 * time.Second
	}
	if cfg.Arecord == "" {
		cfg.Arecord = "arecord"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	s := &Source{cfg: cfg, log: cfg.Log.With("device", cfg.Device), opened: cfg.Now(), done: make(chan struct{})}
	s.jb = jitter.New(jitter.Config{InRate: cfg.Rate, OutRate: cfg.Rate, Target: cfg.Buffer, SilenceDBFS: cfg.SilenceDBFS, Now: cfg.Now})
	ctx, s.cancel = context.WithCancel(ctx)

	first := make(chan error, 1)
	go s.run(ctx, first)
	select {
	case err := <-first:
		if err != nil {
			s.cancel()
			<-s.done
			return nil, err
		}
	case <-time.After(startTimeout):
		// Running, but silent so far: the source reports it.
	}
	return s, nil
}

// Stream is beep.Streamer's. It never waits: silence stands in for audio
// that has not arrived. It returns ok=false only after Close.
func (s *Source) Stream(dst [][2]float64) (int, bool) {
	if s.closed.Load() {
		return 0, false
	}
	return s.jb.Stream(dst)
}

// Err is the error that keeps the source from playing (nil while it plays,
// and after Close).
func (s *Source) Err() error {
	if s.closed.Load() {
		return nil
	}
	return s.fails.Err()
}

// Close stops capturing. It does not wait for arecord to exit (the engine
// may call it from its output goroutine); that takes moments.
func (s *Source) Close() error {
	s.closed.Store(true)
	s.cancel()
	return nil
}

// Stats is safe from any goroutine.
func (s *Source) Stats() Stats {
	now := s.cfg.Now()
	st := Stats{
		BufferDepth: s.jb.Depth(),
		Underruns:   s.jb.Underruns(),
		Skips:       s.jb.Skips(),
		Restarts:    s.restarts.Load(),
		DriftPPM:    s.jb.DriftPPM(),
	}
	if err := s.fails.Last(); err != nil {
		st.LastError = err.Error()
	}
	lastSound := s.opened
	if t := s.jb.LastSound(); t.After(lastSound) {
		lastSound = t
	}
	started := time.Unix(0, s.started.Load())
	lastInput := s.jb.LastInput()
	switch {
	case s.closed.Load():
		st.State, st.LastError = Failed, "capture closed"
	case s.phase.Load() == phaseFailed:
		st.State = Failed
	case s.phase.Load() == phaseStarting:
		st.State = Starting
	case !lastInput.After(started) && now.Sub(started) < s.stallGrace():
		st.State = Starting
	case now.Sub(lastInput) >= s.stallGrace():
		st.State = Stalled
	case !s.jb.Playing():
		st.State = Buffering
	case now.Sub(maxTime(lastSound, started)) >= s.cfg.SilenceAfter:
		st.State = Silent
	default:
		st.State = Playing
	}
	if st.State != Playing {
		st.FailingFor = now.Sub(lastSound)
	}
	return st
}

func (s *Source) stallGrace() time.Duration { return min(s.cfg.StallTimeout/2, time.Second) }

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// run starts arecord, reads it, and starts it again when it fails, until
// ctx ends. The first attempt's outcome goes to first.
func (s *Source) run(ctx context.Context, first chan<- error) {
	defer close(s.done)
	loop := backoff.Loop{
		Retry:    backoff.Retry{Min: s.cfg.RetryMin, Max: s.cfg.RetryMax},
		Failures: &s.fails, Log: s.log, Now: s.cfg.Now, What: "capture",
		Failed: func(error) { s.phase.Store(phaseFailed) },
	}
	loop.Run(ctx, func(ctx context.Context, attempt int) (bool, error) {
		if attempt > 0 {
			s.restarts.Add(1)
		}
		got, err := s.capture(ctx, first)
		first = nil
		if err == nil { // arecord does not end on its own: a failure too
			err = errors.New("arecord ended")
		}
		return got, fmt.Errorf("capture %s: %w", s.cfg.Device, err)
	})
}

// capture runs arecord once, until it fails or ctx ends. It reports the
// first audio (or the failure before it) on first, if not nil.
func (s *Source) capture(parent context.Context, first chan<- error) (got bool, err error) {
	ctx, cancel := context.WithCancelCause(parent)
	defer cancel(nil)
	cmd := exec.CommandContext(ctx, s.cfg.Arecord, "-q", "-D", s.cfg.Device,
		"-f", "S16_LE", "-c", "2", "-r", strconv.Itoa(s.cfg.Rate), "-t", "raw",
		"--buffer-time=200000", "--period-time=20000")
	cmd.WaitDelay = time.Second
	stderr := &tailBuffer{max: 4096}
	cmd.Stderr = stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return false, err
	}
	report := func(err error) {
		if first != nil {
			if err != nil {
				err = fmt.Errorf("capture %s: %w", s.cfg.Device, err)
			}
			first <- err
			first = nil
		}
	}
	if err := cmd.Start(); err != nil {
		err = fmt.Errorf("start %s: %w", s.cfg.Arecord, err)
		report(err)
		return false, err
	}
	s.pid.Store(int64(cmd.Process.Pid))
	// The buffer's Restart counts as input; started comes after it, so
	// that the old audio still playing out is not taken for the new
	// arecord's (Stats says starting until the new one delivers).
	s.jb.Restart(s.cfg.Rate)
	s.started.Store(s.cfg.Now().UnixNano())
	s.phase.Store(phaseRunning)
	go s.watchdog(ctx, cancel)

	buf := make([]byte, 4*1024)
	frames := make([][2]float64, 1024)
	have := 0
	var readErr error
	for {
		n, err := out.Read(buf[have:])
		have += n
		k := have / 4
		for i := range k {
			frames[i] = [2]float64{
				float64(int16(binary.LittleEndian.Uint16(buf[4*i:]))) / 32768,
				float64(int16(binary.LittleEndian.Uint16(buf[4*i+2:]))) / 32768,
			}
		}
		if k > 0 {
			if !got {
				got = true
				report(nil)
				s.fails.Recovered()
				s.log.Info("capturing", "rate", s.cfg.Rate)
			}
			s.jb.Write(ctx, frames[:k])
			have = copy(buf, buf[4*k:have])
		}
		if err != nil {
			readErr = err
			break
		}
	}
	waitErr := cmd.Wait()
	if c := context.Cause(ctx); c != nil && parent.Err() == nil && ctx.Err() != nil {
		err = c
	} else {
		err = exitError(waitErr, readErr, stderr.String())
	}
	report(err)
	return got, err
}

// exitError says why arecord stopped, with its last message.
func exitError(waitErr, readErr error, stderr string) error {
	msg := lastLine(stderr)
	switch {
	case waitErr != nil && msg != "":
		return fmt.Errorf("arecord: %v: %s", waitErr, msg)
	case waitErr != nil:
		return fmt.Errorf("arecord: %w", waitErr)
	case msg != "":
		return fmt.Errorf("arecord exited: %s", msg)
	case readErr != nil && readErr != io.EOF:
		return fmt.Errorf("arecord: %w", readErr)
	}
	return errors.New("arecord exited")
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return s
}

// watchdog kills arecord when it has delivered nothing for StallTimeout.
func (s *Source) watchdog(ctx context.Context, cancel context.CancelCauseFunc) {
	tick := time.NewTicker(min(s.cfg.StallTimeout/4, 250*time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		last := maxTime(time.Unix(0, s.started.Load()), s.jb.LastInput())
		if s.cfg.Now().Sub(last) >= s.cfg.StallTimeout {
			cancel(fmt.Errorf("%w from arecord for %v", ErrStalled, s.cfg.StallTimeout))
			return
		}
	}
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   bytes.Buffer
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b.Write(p)
	if t.b.Len() > t.max {
		t.b.Next(t.b.Len() - t.max)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.b.String()
}
