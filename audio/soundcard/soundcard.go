//go:build cgo

// Package soundcard is the output to a real sound card: oto v3 over ALSA.
//
// oto has traps that this package exists to contain (design.md §7): a
// context can be created once per process and never closed or reopened, a
// device failure shows only in Context.Err(), and an underrun is recovered
// silently. So the card is opened once, Err is polled, and a stall of the
// sample clock (the device no longer pulling) counts as a failure too. The
// daemon's answer to a failed card is to report it and exit after a hold
// time, so that systemd starts a fresh process that can open the device
// again.
package soundcard

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ebitengine/oto/v3"

	"loa/audio"
)

// Card is the sound card output.
type Card struct {
	rate, channels int
	buffer         time.Duration
	block          int
	now            func() time.Time
	ctx            *oto.Context
	anchor         *audio.ClockAnchor
	adjust         time.Duration

	engine    atomic.Pointer[audio.Engine]
	mix       [][2]float64
	lastRead  atomic.Int64 // unix ns of the last pull
	suspended atomic.Bool
	mu        sync.Mutex
	err       error
}

var opened atomic.Bool

// Open opens the default ALSA device at rate with 1 or 2 channels and an
// ALSA buffer of the given length (≥ 50 ms on a Raspberry Pi). It waits
// until the device is ready or has failed.
//
// A device that does not pass Probe is a *DeviceError, and oto is left
// untouched: Open may be called again.
func Open(rate, channels int, buffer time.Duration, now func() time.Time) (*Card, error) {
	if err := Probe(rate, channels); err != nil {
		return nil, err
	}
	if !opened.CompareAndSwap(false, true) {
		return nil, errors.New("sound card: already opened in this process (oto allows one context)")
	}
	ctx, ready, err := oto.NewContext(&oto.NewContextOptions{
		SampleRate:   rate,
		ChannelCount: channels,
		Format:       oto.FormatFloat32LE,
		BufferSize:   buffer,
	})
	if err != nil {
		return nil, fmt.Errorf("sound card: %w", err)
	}
	<-ready
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("sound card: %w", err)
	}
	c := &Card{rate: rate, channels: channels, buffer: buffer, now: now, ctx: ctx, block: rate / 100}
	c.mix = make([][2]float64, c.block)
	c.anchor = audio.NewClockAnchor(rate, c.Latency())
	return c, nil
}

// playerBuffer is oto's own buffer in front of ALSA's. oto's writer takes
// one ALSA period (half the ALSA buffer) at a time from it and fills any
// shortfall with silence, without a word: so it must always hold a whole
// period. One period plus one engine block is the smallest that never
// starves; more would only add latency.
func (c *Card) playerBuffer() time.Duration {
	return c.buffer/2 + time.Duration(c.block)*time.Second/time.Duration(c.rate)
}

// Latency is the delay from a frame being mixed to it leaving the card:
// oto's buffer plus ALSA's, plus the device's own (SetLatencyAdjust).
func (c *Card) Latency() time.Duration { return c.buffer + c.playerBuffer() + c.adjust }

// SetLatencyAdjust adds what the device itself delays beyond the ALSA
// buffer (a USB card's FIFO, a PulseAudio server's own buffer), measured
// once per kind of device, so that starts land on time. Call it before Run.
func (c *Card) SetLatencyAdjust(d time.Duration) {
	c.adjust = d
	c.anchor = audio.NewClockAnchor(c.rate, c.Latency())
}

// Name describes the output.
func (c *Card) Name() string { return "alsa" }

// Anchor maps output frames to wall-clock instants.
func (c *Card) Anchor() (time.Time, bool) { return c.anchor.Base() }

// Err is the device failure, if any.
func (c *Card) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return c.err
	}
	if err := c.ctx.Err(); err != nil {
		return fmt.Errorf("sound card: %w", err)
	}
	return nil
}

func (c *Card) fail(err error) {
	c.mu.Lock()
	if c.err == nil {
		c.err = err
	}
	c.mu.Unlock()
}

// Run plays the engine through the card until ctx ends or the device
// fails. A device that stops pulling samples for 2 s counts as failed.
func (c *Card) Run(ctx context.Context, e *audio.Engine) error {
	c.engine.Store(e)
	c.lastRead.Store(time.Now().UnixNano())
	p := c.ctx.NewPlayer(reader{c})
	bytesPerFrame := 4 * c.channels
	p.SetBufferSize(int(c.playerBuffer().Seconds()*float64(c.rate)) * bytesPerFrame)
	p.Play()
	defer p.Pause()
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if err := c.Err(); err != nil {
			return err
		}
		if err := p.Err(); err != nil {
			c.fail(fmt.Errorf("sound card player: %w", err))
			return c.Err()
		}
		if c.suspended.Load() {
			continue
		}
		if stall := time.Since(time.Unix(0, c.lastRead.Load())); stall > 2*time.Second {
			c.fail(fmt.Errorf("sound card stopped taking samples %s ago", stall.Round(time.Millisecond)))
			return c.Err()
		}
	}
}

// Suspend stops the card pulling samples while the station is idle: no
// mixing of silence, no wake-ups. The sample clock stands still.
func (c *Card) Suspend() error {
	if c.suspended.Swap(true) {
		return nil
	}
	return c.ctx.Suspend()
}

// Resume starts the card again. The clock anchor is forgotten until the
// first pull, so that nothing is scheduled on the clock of before.
func (c *Card) Resume() error {
	if !c.suspended.Load() {
		return nil
	}
	c.anchor.Reset()
	c.lastRead.Store(time.Now().UnixNano())
	c.suspended.Store(false)
	return c.ctx.Resume()
}

// Suspended reports whether the card is suspended.
func (c *Card) Suspended() bool { return c.suspended.Load() }

// reader is what oto pulls from: one block of the engine's mix per call,
// as float32 little endian.
type reader struct{ c *Card }

func (r reader) Read(b []byte) (int, error) {
	c := r.c
	e := c.engine.Load()
	bpf := 4 * c.channels
	n := min(len(b)/bpf, c.block)
	if n == 0 || e == nil {
		return 0, nil
	}
	c.anchor.Stamp(e.Position(), c.now())
	c.lastRead.Store(time.Now().UnixNano())
	buf := c.mix[:n]
	e.Mix(buf)
	i := 0
	for _, f := range buf {
		if c.channels == 1 {
			binary.LittleEndian.PutUint32(b[i:], math.Float32bits(float32((f[0]+f[1])/2)))
			i += 4
			continue
		}
		binary.LittleEndian.PutUint32(b[i:], math.Float32bits(float32(f[0])))
		binary.LittleEndian.PutUint32(b[i+4:], math.Float32bits(float32(f[1])))
		i += 8
	}
	return n * bpf, nil
}

var _ audio.Output = (*Card)(nil)
