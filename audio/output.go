package audio

import (
	"context"
	"math"
	"sync"
	"time"
)

// Output is where the engine's frames go: the sound card, a WAV file, or
// nowhere. An output pulls frames from the engine in its own goroutine, at
// its own pace, and tells the player how the sample clock maps to the wall
// clock.
type Output interface {
	// Run pulls from the engine until ctx ends or the output fails.
	Run(ctx context.Context, e *Engine) error
	// Anchor maps output frames to wall-clock instants: frame f reaches the
	// listener at base + f/rate. ok is false until the output has run.
	Anchor() (base time.Time, ok bool)
	// Latency is the delay between a frame being mixed and it being heard.
	Latency() time.Duration
	// Err reports a device failure (nil while healthy).
	Err() error
	// Name says what the output is, for status and logs.
	Name() string
}

// ClockAnchor estimates how the sample clock maps to the wall clock for a
// device that pulls blocks at its own pace. Outputs stamp it every time they
// hand a block over; scheduling delays only ever make a stamp late, so the
// earliest estimate over a window is the best one, and renewing the window
// follows slow drift between the device's clock and the system's. A
// wall-clock jump moves every stamp: it is followed at once.
type ClockAnchor struct {
	mu       sync.Mutex
	rate     int
	latency  time.Duration
	window   time.Duration
	base     time.Time // frame f is heard at base + f/rate
	ok       bool
	winStart time.Time
	winBest  time.Time
	winOK    bool
}

// NewClockAnchor makes an anchor for a device with the given latency
// between handing a frame over and it being heard.
func NewClockAnchor(rate int, latency time.Duration) *ClockAnchor {
	return &ClockAnchor{rate: rate, latency: latency, window: 2 * time.Second}
}

// Stamp records that frame was handed to the device at instant now.
func (a *ClockAnchor) Stamp(frame int64, now time.Time) {
	zero := now.Add(a.latency - FramesToDuration(frame, a.rate))
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.winOK || zero.Before(a.winBest) {
		a.winBest, a.winOK = zero, true
	}
	switch d := zero.Sub(a.base); {
	case !a.ok:
		a.base, a.ok, a.winStart = zero, true, now
	case d > time.Second || d < -time.Second:
		a.base, a.winBest, a.winStart = zero, zero, now
	case now.Sub(a.winStart) >= a.window:
		a.base = a.winBest
		a.winOK = false
		a.winStart = now
	}
}

// Reset forgets the mapping until the next stamp (an output resumed after
// a pause: the sample clock stood still while the wall clock ran).
func (a *ClockAnchor) Reset() {
	a.mu.Lock()
	a.ok, a.winOK = false, false
	a.mu.Unlock()
}

// Base is the instant frame 0 is heard.
func (a *ClockAnchor) Base() (time.Time, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.base, a.ok
}

// FramesToDuration converts a frame count at rate to a duration.
func FramesToDuration(frames int64, rate int) time.Duration {
	return time.Duration(math.Round(float64(frames) * float64(time.Second) / float64(rate)))
}

// DurationToFrames converts a duration to the nearest frame count at rate.
func DurationToFrames(d time.Duration, rate int) int64 {
	return int64(math.Round(d.Seconds() * float64(rate)))
}

// Paced is an output with no device: it pulls frames at the wall-clock rate,
// a little ahead as a sound card's buffer would, and hands them to a sink (a
// WAV file, or nothing). The demo uses it when there is no sound card; the
// null sink serves tests and machines without audio.
type Paced struct {
	rate   int
	buffer time.Duration
	block  int
	sink   func([][2]float64) error
	now    func() time.Time
	name   string
	mu     sync.Mutex
	base   time.Time
	ok     bool
	err    error
}

// NewPaced makes a paced output. sink may be nil (a null sink); now is the
// wall clock (time.Now in production).
func NewPaced(name string, rate int, buffer time.Duration, now func() time.Time, sink func([][2]float64) error) *Paced {
	if buffer <= 0 {
		buffer = 100 * time.Millisecond
	}
	return &Paced{rate: rate, buffer: buffer, block: rate / 50, sink: sink, now: now, name: name}
}

func (p *Paced) Name() string           { return p.name }
func (p *Paced) Latency() time.Duration { return p.buffer }

func (p *Paced) Anchor() (time.Time, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.base, p.ok
}

func (p *Paced) Err() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// Run pulls blocks of 20 ms so that the frames produced stay `buffer` ahead
// of the clock. Frame f is heard at start + f/rate exactly, where start
// follows the wall clock (a jump moves it) while pacing follows the
// monotonic clock.
func (p *Paced) Run(ctx context.Context, e *Engine) error {
	buf := make([][2]float64, p.block)
	start := time.Now()
	produced := e.Position()
	first := produced
	tick := time.NewTicker(time.Second / 50)
	defer tick.Stop()
	for {
		elapsed := time.Since(start)
		p.mu.Lock()
		p.base, p.ok = p.now().Add(-elapsed-FramesToDuration(first, p.rate)), true
		p.mu.Unlock()
		due := first + DurationToFrames(elapsed+p.buffer, p.rate)
		for produced < due {
			n := min(int64(len(buf)), due-produced)
			e.Mix(buf[:n])
			if p.sink != nil {
				if err := p.sink(buf[:n]); err != nil {
					p.mu.Lock()
					p.err = err
					p.mu.Unlock()
					return err
				}
			}
			produced += n
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}
