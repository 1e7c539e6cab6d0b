package audio

import (
	"errors"
	"io"
	"math"
	"sync/atomic"
	"time"

	"github.com/gopxl/beep/v2"

	"loa/audio/dsp"
	"loa/priority"
)

// Bus is a level of the priority ladder (design.md §3): the ladder's own
// type (loa/priority). A clip on a higher bus can lower or mute every bus
// below it while it sounds.
type Bus = priority.Level

// The engine's buses, lowest first.
const (
	BusProgram   = priority.Program   // 50: the day's timeline
	BusLive      = priority.Live      // 60: live announcements and their ducking
	BusUrgent    = priority.Urgent    // 80: urgent alerts
	BusEmergency = priority.Emergency // 100: emergency alerts
	numBuses     = 4
)

// busSlot is where a bus's clips are kept: 0 (program) to numBuses-1
// (emergency). A level between rungs mixes on the highest bus not above
// it; one below the program's, on the program's.
func busSlot(b Bus) int {
	switch {
	case b >= BusEmergency:
		return 3
	case b >= BusUrgent:
		return 2
	case b >= BusLive:
		return 1
	}
	return 0
}

// Clip is one thing to play on a bus: a program occurrence (chime and items),
// an alert with its repeats, a relay or a live stream.
type Clip struct {
	ID  uint64
	Bus Bus
	// Start is the output frame at which the clip's first sample sounds. A
	// start already in the past plays at once.
	Start int64
	// Source is read at the engine rate. A *Sequence also reports its parts.
	Source beep.Streamer
	// Gain is the linear gain of the clip (loudness normalisation and volume
	// are folded into a Sequence's parts; this is for the whole clip).
	Gain float64
	// FadeIn is the length in frames of the fade at the start (0: none, for
	// sample-exact scheduled starts).
	FadeIn int
	// While the clip sounds, every lower bus is muted (Mute) or lowered by
	// DuckDB (negative; 0 leaves them alone). DuckRamp is how many frames
	// the lower buses take to get there, and to come back after the clip.
	Mute     bool
	DuckDB   float64
	DuckRamp int
}

// EventKind tells what an Event reports.
type EventKind int

const (
	ClipStarted EventKind = iota // first frame of the clip reached the output
	PartStarted                  // a part of a Sequence began
	PartFailed                   // a part of a Sequence could not be read; silence stands in for it
	ClipEnded                    // the clip finished (Completed) or was stopped
)

// Event is reported by the engine from the output goroutine. Frame is the
// output frame at which the thing happened.
type Event struct {
	Kind      EventKind
	Clip      uint64
	Part      int
	Frame     int64
	Completed bool  // ClipEnded: the source ran out by itself
	Err       error // PartFailed, or ClipEnded when the source failed
}

// ErrEngineStalled is returned when a command cannot be queued because the
// output has stopped pulling audio (device failure).
var ErrEngineStalled = errors.New("audio engine is not running: the output stopped pulling samples")

type command struct {
	play *Clip
	stop *stopCommand
	gain *float64
}

type stopCommand struct {
	id   uint64
	at   int64 // output frame at which the fade-out starts
	fade int
}

// Engine mixes the buses into output frames. Exactly one goroutine (the
// output) calls Mix; every other goroutine talks to it through Play and Stop,
// which queue commands that Mix applies before it renders. So no lock is ever
// taken inside a streamer, and beep's streamers are only touched by the
// output goroutine.
type Engine struct {
	rate     int
	cmds     chan command
	events   chan Event
	dropped  atomic.Int64
	position atomic.Int64 // output frames produced so far
	peakBits atomic.Uint64
	silent   atomic.Int64 // consecutive frames below the silence threshold while a clip sounds
	active   atomic.Int32 // clips sounding in the last mix

	// Owned by the output goroutine.
	clips      [numBuses][]*clipState
	activity   [numBuses][]span
	duck       [numBuses]*dsp.Ramp
	release    [numBuses]int // frames for a ducked bus to come back up
	master     float64
	limiter    Limiter
	bufs       [numBuses][][2]float64
	tmp        [][2]float64
	silenceAmp float64
	mixPos     int64 // frame label of the next frame the mixer renders
}

// Limiter is the output stage: it must keep the sum within the ceiling and
// report its fixed delay in frames.
type Limiter interface {
	Process(frames [][2]float64)
	Latency() int
}

// EngineConfig sets up an Engine.
type EngineConfig struct {
	Rate int
	// Limiter on the sum (nil: none). Its delay is compensated: a clip
	// scheduled at frame F still sounds at output frame F.
	Limiter Limiter
	// SilenceDBFS is the level under which output counts as silent
	// (default −50 dBFS).
	SilenceDBFS float64
}

// NewEngine makes an engine. Events must be drained (Events()); when nobody
// reads them, the oldest are dropped rather than blocking the output.
func NewEngine(cfg EngineConfig) *Engine {
	if cfg.SilenceDBFS == 0 {
		cfg.SilenceDBFS = -50
	}
	e := &Engine{
		rate:       cfg.Rate,
		cmds:       make(chan command, 256),
		events:     make(chan Event, 1024),
		master:     1,
		limiter:    cfg.Limiter,
		silenceAmp: dsp.DBToGain(cfg.SilenceDBFS),
	}
	for b := range e.duck {
		e.duck[b] = dsp.NewRamp(1)
	}
	if e.limiter != nil {
		e.mixPos = int64(e.limiter.Latency())
	}
	e.peakBits.Store(math.Float64bits(0))
	return e
}

// Rate is the engine's sample rate.
func (e *Engine) Rate() int { return e.rate }

// Events delivers what happened on the output, in order.
func (e *Engine) Events() <-chan Event { return e.events }

// DroppedEvents counts events lost because nobody read them.
func (e *Engine) DroppedEvents() int64 { return e.dropped.Load() }

// Position is the number of frames the output has taken so far: the sample
// clock.
func (e *Engine) Position() int64 { return e.position.Load() }

// Latency is the engine's own delay in frames (the limiter's look-ahead),
// already compensated in clip start frames.
func (e *Engine) Latency() int {
	if e.limiter == nil {
		return 0
	}
	return e.limiter.Latency()
}

// PeakDBFS is the sample peak of the last mixed block, in dBFS.
func (e *Engine) PeakDBFS() float64 {
	return dsp.GainToDB(math.Float64frombits(e.peakBits.Load()))
}

// SilentFor is how long the output has stayed below the silence threshold
// while at least one clip was sounding.
func (e *Engine) SilentFor() time.Duration {
	return time.Duration(e.silent.Load()) * time.Second / time.Duration(e.rate)
}

// Sounding is the number of clips that were playing in the last mixed block.
func (e *Engine) Sounding() int { return int(e.active.Load()) }

// Play queues a clip. It fails only when the output has stopped pulling.
func (e *Engine) Play(c Clip) error {
	if c.Gain == 0 {
		c.Gain = 1
	}
	return e.send(command{play: &c})
}

// Stop fades out clip id over fade frames starting at output frame at (now if
// already past) and removes it. Stopping an unknown or ended clip does
// nothing.
func (e *Engine) Stop(id uint64, at int64, fade int) error {
	return e.send(command{stop: &stopCommand{id: id, at: at, fade: fade}})
}

// SetMaster sets the station master gain (linear) applied to the sum.
func (e *Engine) SetMaster(gain float64) error {
	return e.send(command{gain: &gain})
}

func (e *Engine) send(c command) error {
	select {
	case e.cmds <- c:
		return nil
	default:
	}
	t := time.NewTimer(2 * time.Second)
	defer t.Stop()
	select {
	case e.cmds <- c:
		return nil
	case <-t.C:
		return ErrEngineStalled
	}
}

func (e *Engine) emit(ev Event) {
	select {
	case e.events <- ev:
	default:
		e.dropped.Add(1)
	}
}

type clipState struct {
	Clip
	started  bool
	env      *dsp.Ramp // fade in / fade out
	stopAt   int64     // output frame at which the fade-out starts; -1: none
	stopFade int
	stopping bool
	fadeLeft int // frames of the fade-out still to play
}

func (e *Engine) apply() {
	for {
		select {
		case c := <-e.cmds:
			switch {
			case c.play != nil:
				cs := &clipState{Clip: *c.play, stopAt: -1, env: dsp.NewRamp(1)}
				if cs.FadeIn > 0 {
					cs.env = dsp.NewRamp(0)
				}
				slot := busSlot(cs.Bus)
				e.clips[slot] = append(e.clips[slot], cs)
			case c.stop != nil:
				for b := range e.clips {
					for _, cs := range e.clips[b] {
						if cs.ID == c.stop.id && !cs.stopping {
							cs.stopAt = c.stop.at
							cs.stopFade = c.stop.fade
						}
					}
				}
			case c.gain != nil:
				e.master = *c.gain
			}
		default:
			return
		}
	}
}

// span is the part of a mixed block in which one clip sounded.
type span struct {
	from, to int
	duck     float64
	ramp     int
}

// Mix renders the next len(dst) output frames. It is called by one goroutine
// only, the output's.
func (e *Engine) Mix(dst [][2]float64) {
	e.apply()
	n := len(dst)
	e.grow(n)
	// The mixer runs ahead of the output by the limiter's delay: the frame
	// rendered at index i of this block leaves the limiter at output frame
	// base+i, which is the frame every clip start and event refers to.
	base := e.mixPos
	sounding := 0
	for b := range e.activity {
		e.activity[b] = e.activity[b][:0]
	}

	for b := range numBuses {
		buf := e.bufs[b][:n]
		clear(buf)
		kept := e.clips[b][:0]
		for _, cs := range e.clips[b] {
			from := int(cs.Start - base)
			if from >= n {
				kept = append(kept, cs)
				continue
			}
			from = max(from, 0)
			if !cs.started {
				cs.started = true
				if cs.FadeIn > 0 {
					cs.env.SetTarget(1, cs.FadeIn)
				}
				e.emit(Event{Kind: ClipStarted, Clip: cs.ID, Frame: base + int64(from)})
			}
			end, done, err := e.renderClip(cs, buf, from, n, base)
			if end > from {
				duck := dsp.DBToGain(cs.DuckDB)
				if cs.Mute {
					duck = 0
				}
				e.activity[b] = append(e.activity[b], span{from, end, duck, cs.DuckRamp})
				sounding++
			}
			if !done {
				kept = append(kept, cs)
				continue
			}
			e.emit(Event{Kind: ClipEnded, Clip: cs.ID, Frame: base + int64(end), Completed: !cs.stopping && err == nil, Err: err})
			if c, ok := cs.Source.(io.Closer); ok {
				c.Close()
			}
		}
		clear(e.clips[b][len(kept):])
		e.clips[b] = kept
	}

	// Ducking: each bus follows the lowest gain asked by the clips sounding
	// on the buses above it; the target changes only at the edges of their
	// activity, so the block is walked in segments between those edges.
	clear(dst)
	for b := numBuses - 1; b >= 0; b-- {
		buf := e.bufs[b][:n]
		r := e.duck[b]
		for at := 0; at < n; {
			target, rampLen, next := 1.0, 0, n
			for hb := b + 1; hb < numBuses; hb++ {
				for _, s := range e.activity[hb] {
					switch {
					case s.from <= at && at < s.to:
						if s.duck < target {
							target, rampLen = s.duck, s.ramp
						}
						next = min(next, s.to)
					case s.from > at:
						next = min(next, s.from)
					}
				}
			}
			if target != r.Target() {
				if target > r.Target() {
					// Coming back: at the pace of the clip that held the bus down.
					rampLen = e.release[b]
				} else {
					e.release[b] = rampLen
				}
				r.SetTarget(target, rampLen)
			}
			seg := buf[at:next]
			r.Process(seg)
			for i := range seg {
				dst[at+i][0] += seg[i][0]
				dst[at+i][1] += seg[i][1]
			}
			at = next
		}
	}

	if e.master != 1 {
		for i := range dst {
			dst[i][0] *= e.master
			dst[i][1] *= e.master
		}
	}
	if e.limiter != nil {
		e.limiter.Process(dst)
	}

	peak := 0.0
	for i := range dst {
		peak = max(peak, math.Abs(dst[i][0]), math.Abs(dst[i][1]))
	}
	e.peakBits.Store(math.Float64bits(peak))
	if sounding > 0 && peak < e.silenceAmp {
		e.silent.Add(int64(n))
	} else {
		e.silent.Store(0)
	}
	e.active.Store(int32(sounding))
	e.mixPos += int64(n)
	e.position.Add(int64(n))
}

// renderClip reads the clip into buf[from:n], applying its gain and
// envelope. It returns where the clip stopped sounding in this block, and
// whether it is finished.
func (e *Engine) renderClip(cs *clipState, buf [][2]float64, from, n int, base int64) (end int, done bool, err error) {
	want := n - from
	if cs.stopAt >= 0 && !cs.stopping {
		stopIdx := max(int(cs.stopAt-base), from)
		if stopIdx == from {
			cs.beginStop()
		} else if stopIdx < n {
			// Play up to the stop, and the fade after it, no further.
			want = min(want, stopIdx-from+cs.stopFade)
		}
	}
	if cs.stopping {
		want = min(want, cs.fadeLeft)
		if want == 0 {
			return from, true, nil
		}
	}
	tmp := e.tmp[:want]
	got := 0
	for got < want {
		k, ok := cs.Source.Stream(tmp[got:])
		if seq, isSeq := cs.Source.(*Sequence); isSeq {
			seq.drain(func(part int, at int64, perr error) {
				ev := Event{Kind: PartStarted, Clip: cs.ID, Part: part, Frame: base + int64(from) + (at - cs.produced(seq, got, k))}
				if perr != nil {
					ev.Kind, ev.Err = PartFailed, perr
				}
				e.emit(ev)
			})
		}
		got += k
		if !ok {
			if s, canFail := cs.Source.(interface{ Err() error }); canFail {
				err = s.Err()
			}
			done = true
			break
		}
		if k == 0 {
			break // nothing available now (a stream waiting for data): silence
		}
	}
	seg := tmp[:got]
	// Frames before split play as they are; from split on, the fade-out.
	split := got
	switch {
	case cs.stopping:
		split = 0
	case cs.stopAt >= 0:
		split = min(max(int(cs.stopAt-base)-from, 0), got)
	}
	cs.env.Process(seg[:split])
	if split < got {
		if !cs.stopping {
			cs.beginStop()
		}
		cs.env.Process(seg[split:])
		cs.fadeLeft -= got - split
	}
	g := cs.Gain
	for i := range seg {
		buf[from+i][0] += seg[i][0] * g
		buf[from+i][1] += seg[i][1] * g
	}
	if cs.stopping && cs.fadeLeft <= 0 {
		done = true
	}
	return from + got, done, err
}

func (cs *clipState) beginStop() {
	cs.stopping = true
	cs.fadeLeft = cs.stopFade
	cs.env.SetTarget(0, cs.stopFade)
}

// produced is the sequence position at the start of the current block:
// part events carry sequence positions, turned into output frames here.
func (cs *clipState) produced(seq *Sequence, gotBefore, k int) int64 {
	return seq.pos - int64(gotBefore+k)
}

func (e *Engine) grow(n int) {
	if cap(e.tmp) >= n {
		return
	}
	e.tmp = make([][2]float64, n)
	for b := range e.bufs {
		e.bufs[b] = make([][2]float64, n)
	}
}
