// Package jitter is the buffer between a live audio source that runs on its
// own clock (a network stream, a line-in) and the mixing engine, which pulls
// at the sound card's clock. It is shared by audio/stream and audio/capture.
//
// The engine's output goroutine must never wait, so the two sides meet in a
// lock-free single-producer, single-consumer ring: the producer (a network
// or capture goroutine) resamples what it receives to the engine rate and
// writes it; the consumer (Stream, on the output goroutine) reads what is
// there and plays silence when nothing is.
//
// Two clocks never agree: a stream encoded at "44.1 kHz" and a sound card
// at "44.1 kHz" differ by up to ±0.1 %, 3.6 s an hour. Left alone the buffer
// would run dry or grow without bound over a two-hour relay. A servo keeps
// its depth at the target: the consumer low-passes the depth it sees after
// every read (τ = 10 s of its sample clock), and a PI controller turns the
// error into a correction of the resampling ratio, limited to ±0.3 %
// (5 cents of pitch, reached only after a large disturbance; a 0.1 % drift
// is followed by a ratio change of 1.7 cents). The correction changes
// slowly (the controller's time constant is minutes), so it is inaudible.
//
// What the servo cannot absorb is handled at the edges:
//   - before playback starts (and after an underrun), the consumer waits
//     until the buffer holds the target and at least the target's duration
//     has passed since the producer (re)connected, keeping only the newest
//     audio: an Icecast server sends seconds of audio at once when a
//     listener connects, and that must not become latency;
//   - a live buffer that grows past a high-water mark (the producer caught
//     up after a network hiccup, or the consumer was not pulling) skips to
//     the newest audio with a 10 ms crossfade;
//   - an underrun fades out over what is left, plays silence, and waits for
//     the target again (with a 10 ms fade-in).
//
// A bounded source (an HTTP file, not a live stream) is different: the
// producer waits for room instead of dropping, nothing is skipped and the
// servo is off, because the file has no clock of its own.
package jitter

import (
	"context"
	"math"
	"sync/atomic"
	"time"
)

// Config sets up a Buffer.
type Config struct {
	// InRate is the producer's sample rate (Restart can change it), OutRate
	// the engine's.
	InRate, OutRate int
	// Target is the depth the buffer keeps (default 1 s).
	Target time.Duration
	// Bounded says the producer's input is finite and has no clock of its
	// own (a file served over HTTP): Write waits for room, nothing is
	// dropped or skipped, the ratio is not servoed.
	Bounded bool
	// SilenceDBFS is the peak level under which input counts as silence
	// (default −50 dBFS).
	SilenceDBFS float64
	// Now is the wall clock (default time.Now).
	Now func() time.Time
}

// Servo constants (see the package comment). The loop is
// depth' = drift − corr, corr = kp·e + ki·∫e with e the filtered depth
// error in seconds: critically damped for ki = kp²/4; a steady 0.1 % drift
// makes the depth peak about drift/(e·kp/2) = 74 ms away from its target
// before the integral takes it back.
const (
	servoTau = 10.0 // s, low-pass of the measured depth
	// servoSettle: the seconds of playing over which the setpoint is
	// taken (the mean depth) before the servo acts.
	servoSettle = 2.0
	servoKp     = 0.01   // 1/s
	servoKi     = 2.5e-5 // 1/s², = kp²/4
	maxCorr     = 3e-3   // ±0.3 %
	// integBand: errors beyond it (s) are not integrated. A 0.25 % drift
	// peaks at 184 ms.
	integBand = 0.25
)

// Buffer is the jitter buffer. Restart, Write and End belong to the
// producer's goroutine, Stream and Err to the consumer's; the statistics
// methods are safe from any goroutine.
type Buffer struct {
	rate       int
	target     int64 // frames
	highWater  int64
	bounded    bool
	silenceAmp float64
	now        func() time.Time
	fadeLen    int

	ring []([2]float32)
	mask int64
	w, r atomic.Int64 // frames written and read since the start

	corr       atomic.Uint64 // float64 bits: the servo's ratio correction
	started    atomic.Int64  // unix ns of the last Restart
	lastInput  atomic.Int64  // unix ns of the last Write
	lastSound  atomic.Int64  // unix ns of the last Write above the silence level
	playing    atomic.Bool
	waiting    atomic.Bool // the producer waits for room
	ended      atomic.Bool
	endErr     error // written before ended is set
	underruns  atomic.Int64
	skips      atomic.Int64
	overflowed atomic.Int64 // frames dropped because the ring was full
	space      chan struct{}

	// Producer's.
	rs     *resampler
	inRate int
	out    [][2]float64

	// Consumer's.
	fade     int // frames of fade-in left
	filt     float64
	setpoint float64
	// settleSum and settleT: the depth integrated over the settling time.
	settleSum, settleT float64
	integ              float64
	servoOn            bool
	finished           bool
}

// New makes a buffer. Its capacity is the high-water mark plus 3 s, rounded
// up to a power of two, in float32 frames (0.35 MB a second at 44.1 kHz:
// 2 MB for the default 1 s target). The 3 s are the head room for a
// source opened before anyone pulls it (a relay opened early to be
// buffered at its start time).
func New(cfg Config) *Buffer {
	if cfg.Target <= 0 {
		cfg.Target = time.Second
	}
	if cfg.SilenceDBFS == 0 {
		cfg.SilenceDBFS = -50
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	rate := int64(cfg.OutRate)
	target := max(int64(cfg.Target.Seconds()*float64(rate)), rate/20) // at least 50 ms
	b := &Buffer{
		rate:       cfg.OutRate,
		target:     target,
		highWater:  target + max(target, rate/2),
		bounded:    cfg.Bounded,
		silenceAmp: math.Pow(10, cfg.SilenceDBFS/20),
		now:        cfg.Now,
		fadeLen:    max(cfg.OutRate/100, 1),
		space:      make(chan struct{}, 1),
	}
	size := int64(1)
	for size < b.highWater+3*rate {
		size <<= 1
	}
	b.ring = make([][2]float32, size)
	b.mask = size - 1
	now := cfg.Now().UnixNano()
	b.started.Store(now)
	b.lastInput.Store(now)
	b.Restart(cfg.InRate)
	return b
}

// ---- producer ----

// Restart tells the buffer that the producer starts over (a new connection,
// a restarted capture), possibly at another input rate. Audio still in the
// buffer plays on; if the consumer is waiting for the target, it waits at
// least the target's duration from now, so that a server's initial burst
// is not taken for latency.
func (b *Buffer) Restart(inRate int) {
	if b.rs == nil || inRate != b.inRate {
		b.rs = newResampler(inRate, b.rate)
		b.inRate = inRate
	} else {
		b.rs.reset()
	}
	now := b.now().UnixNano()
	b.started.Store(now)
	b.lastInput.Store(now)
}

// Write resamples frames (at the input rate) and appends them. A live
// buffer never waits: what does not fit is dropped (see Overflowed). A
// bounded one waits for room until ctx ends.
func (b *Buffer) Write(ctx context.Context, frames [][2]float64) error {
	if len(frames) == 0 {
		return nil
	}
	now := b.now().UnixNano()
	b.lastInput.Store(now)
	peak := 0.0
	for _, f := range frames {
		peak = max(peak, math.Abs(f[0]), math.Abs(f[1]))
	}
	if peak >= b.silenceAmp {
		b.lastSound.Store(now)
	}
	corr := 0.0
	if !b.bounded {
		corr = math.Float64frombits(b.corr.Load())
	}
	b.out = b.rs.process(frames, b.out[:0], corr)
	err := b.push(ctx, b.out)
	if b.bounded {
		b.lastInput.Store(b.now().UnixNano()) // the wait for room was not a stall
	}
	return err
}

func (b *Buffer) push(ctx context.Context, out [][2]float64) error {
	size := int64(len(b.ring))
	for len(out) > 0 {
		w := b.w.Load()
		free := size - (w - b.r.Load())
		if free <= 0 {
			if !b.bounded || ctx == nil {
				b.overflowed.Add(int64(len(out)))
				return nil
			}
			b.waiting.Store(true)
			select {
			case <-b.space:
				b.waiting.Store(false)
				continue
			case <-ctx.Done():
				b.waiting.Store(false)
				return ctx.Err()
			}
		}
		k := min(free, int64(len(out)))
		for i := range k {
			f := out[i]
			b.ring[(w+i)&b.mask] = [2]float32{float32(f[0]), float32(f[1])}
		}
		b.w.Store(w + k)
		out = out[k:]
	}
	return nil
}

// End says the producer is done for good; err (nil for a clean end) is
// what Err reports once the buffer has played out.
func (b *Buffer) End(err error) {
	// Flush the resampler's look-ahead: the last input frames come out
	// when what follows them is known to be nothing. (Without waiting:
	// what does not fit is dropped.)
	zeros := make([][2]float64, b.rs.half)
	b.out = b.rs.process(zeros, b.out[:0], 0)
	b.out = b.out[:min(len(b.out), int(math.Ceil(float64(b.rs.half)/b.rs.nom)))]
	b.push(nil, b.out)
	b.endErr = err
	b.ended.Store(true)
	select {
	case b.space <- struct{}{}:
	default:
	}
}

// ---- consumer ----

// Stream is beep.Streamer's: it fills dst from the buffer, with silence
// where there is nothing to play, and never waits. It returns ok=false only
// after End, once everything written has been played.
func (b *Buffer) Stream(dst [][2]float64) (int, bool) {
	if b.finished {
		return 0, false
	}
	n := int64(len(dst))
	ended := b.ended.Load() // before w: once ended, w is final
	w := b.w.Load()
	r := b.r.Load()
	depth := w - r

	if !b.playing.Load() {
		if !b.bounded && !ended && depth > b.target {
			r = w - b.target // keep only the newest
			b.r.Store(r)
			depth = b.target
		}
		waited := b.now().UnixNano()-b.started.Load() >= int64(b.target)*int64(time.Second)/int64(b.rate)
		start := depth >= b.target && (b.bounded || waited) || ended && depth > 0
		if !start {
			if ended {
				b.finished = true
				return 0, false
			}
			clear(dst)
			return int(n), true
		}
		b.playing.Store(true)
		b.fade = b.fadeLen
		b.restartServo()
	}

	done := int64(0)
	if !b.bounded && depth > b.highWater {
		// Skip to the newest audio, crossfading from where we are.
		nr := w - b.target
		k := min(n, int64(b.fadeLen))
		for i := range k {
			g := (float64(i) + 0.5) / float64(k)
			a := b.ring[(r+i)&b.mask]
			c := b.ring[(nr+i)&b.mask]
			dst[i] = [2]float64{
				float64(a[0])*(1-g) + float64(c[0])*g,
				float64(a[1])*(1-g) + float64(c[1])*g,
			}
		}
		r = nr + k
		depth = w - r
		done = k
		b.skips.Add(1)
		b.restartServo()
	}

	k := min(n-done, depth)
	for i := range k {
		f := b.ring[(r+i)&b.mask]
		dst[done+i] = [2]float64{float64(f[0]), float64(f[1])}
	}
	if b.fade > 0 {
		for i := int64(0); i < k && b.fade > 0; i++ {
			g := 1 - float64(b.fade)/float64(b.fadeLen+1)
			dst[done+i][0] *= g
			dst[done+i][1] *= g
			b.fade--
		}
	}
	r += k
	b.r.Store(r)
	done += k
	if b.bounded {
		select {
		case b.space <- struct{}{}:
		default:
		}
	}

	if done < n {
		if ended {
			// Played out: the rest of this block is the end.
			b.playing.Store(false)
			return int(done), true
		}
		// Underrun: fade out what there was, then silence until the
		// buffer holds the target again.
		f := min(done, int64(b.fadeLen))
		for i := range f {
			g := float64(i+1) / float64(f+1)
			dst[done-1-i][0] *= g
			dst[done-1-i][1] *= g
		}
		clear(dst[done:])
		b.underruns.Add(1)
		b.playing.Store(false)
		// What arrives while we wait is resampled at the drift found so
		// far, without the proportional term of the drained buffer.
		b.corr.Store(math.Float64bits(servoKi * b.integ))
		return int(n), true
	}

	if !b.bounded {
		b.servo(w-r, n)
	}
	return int(n), true
}

// restartServo makes the servo take a new setpoint (playback restarted or
// skipped ahead: the depth has a new level).
func (b *Buffer) restartServo() {
	b.servoOn = false
	b.settleSum, b.settleT = 0, 0
}

// servo updates the ratio correction from the depth after a read of n
// frames (the consumer's sample clock is the time base).
func (b *Buffer) servo(depth, n int64) {
	d := float64(depth) / float64(b.rate)
	dt := float64(n) / float64(b.rate)
	if !b.servoOn {
		// Hold the depth where playback (re)started: the target, less
		// what the first reads took and where the producer's chunks
		// happened to fall. Aiming at the target itself would start
		// the ratio off by a few hundred ppm for nothing, and so would
		// one reading of a depth that saw-tooths by a chunk: the
		// setpoint is the mean depth of the first servoSettle seconds,
		// during which only the drift found so far (the integral, kept)
		// corrects the ratio.
		b.settleSum += d * dt
		b.settleT += dt
		if b.settleT < servoSettle {
			b.corr.Store(math.Float64bits(servoKi * b.integ))
			return
		}
		b.setpoint = b.settleSum / b.settleT
		b.filt = b.setpoint
		b.settleSum, b.settleT = 0, 0
		b.servoOn = true
	}
	b.filt += min(dt/servoTau, 1) * (d - b.filt)
	e := b.filt - b.setpoint
	// Only small errors are drift. A large one is a network event (the
	// buffer draining while the producer is stalled, a catch-up burst):
	// the proportional term answers it, the integral must not learn it.
	if math.Abs(e) < integBand {
		b.integ += e * dt
	}
	lim := maxCorr / servoKi
	b.integ = max(-lim, min(lim, b.integ))
	c := servoKp*e + servoKi*b.integ
	c = max(-maxCorr, min(maxCorr, c))
	b.corr.Store(math.Float64bits(c))
}

// Err is the error End was given, once the buffer has played out.
func (b *Buffer) Err() error {
	if b.finished {
		return b.endErr
	}
	return nil
}

// ---- statistics, safe from any goroutine ----

// Depth is how much audio the buffer holds.
func (b *Buffer) Depth() time.Duration {
	d := b.w.Load() - b.r.Load()
	return time.Duration(d) * time.Second / time.Duration(b.rate)
}

// Playing says whether the consumer is playing from the buffer (false while
// it waits for the target: at the start and after an underrun).
func (b *Buffer) Playing() bool { return b.playing.Load() }

// Underruns counts the times the buffer ran dry while playing.
func (b *Buffer) Underruns() int64 { return b.underruns.Load() }

// Skips counts the times a live buffer skipped ahead past its high-water
// mark.
func (b *Buffer) Skips() int64 { return b.skips.Load() }

// Overflowed counts the frames a live buffer dropped because it was full
// (nobody was pulling).
func (b *Buffer) Overflowed() int64 { return b.overflowed.Load() }

// DriftPPM is the servo's correction of the ratio in parts per million:
// positive when the producer's clock runs fast against the consumer's.
func (b *Buffer) DriftPPM() float64 {
	return math.Float64frombits(b.corr.Load()) * 1e6
}

// LastInput is when the producer last wrote audio (or the last Restart,
// or New).
func (b *Buffer) LastInput() time.Time { return time.Unix(0, b.lastInput.Load()) }

// LastSound is when the producer last wrote audio above the silence level
// (the zero time if it never did).
func (b *Buffer) LastSound() time.Time {
	if ns := b.lastSound.Load(); ns != 0 {
		return time.Unix(0, ns)
	}
	return time.Time{}
}

// Waiting says whether the producer of a bounded buffer is waiting for
// room (so the absence of new input is not a stall).
func (b *Buffer) Waiting() bool { return b.waiting.Load() }

// Target is the depth the buffer keeps.
func (b *Buffer) Target() time.Duration {
	return time.Duration(b.target) * time.Second / time.Duration(b.rate)
}
