// Package player decides what is on air. Given the schedule, the alerts and
// the live events, and the time, it tells the audio engine which clip to
// play on which bus from which frame, and it writes the as-run log from what
// the engine reports back.
//
// The player does not remember a plan of the day. At every step it asks the
// schedule what should be on air now and in the next seconds, compares that
// with the clips it has given the engine, and corrects the difference. So a
// program loaded while running, a clock that jumps, an agent restarted in
// the middle of a program or an alert that ends all come to the same thing:
// the next step makes the output match what the wall clock says.
package player

import (
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"loa/audio"
	"loa/audio/dsp"
	"loa/internal/cmdkit"
	"loa/schedule"
)

// Config tunes the player. Zero values take the defaults shown.
type Config struct {
	Rate int
	// Lookahead is how far ahead clips are handed to the engine (2 s). It
	// must exceed the step interval plus the output latency.
	Lookahead time.Duration
	// CutFade is the fade when something is cut by a higher priority
	// (20 ms: short enough to be a cut, long enough not to click).
	CutFade time.Duration
	// EndFade is the fade when a program reaches its `duration` (500 ms).
	EndFade time.Duration
	// JoinFade is the fade-in when playback joins an item in its middle
	// (restart recovery, resume after an alert) (20 ms).
	JoinFade time.Duration
	// Resync: when a program on air has drifted this far from where the
	// wall clock says it should be, it is re-joined at the right place
	// (5 s). Clock jumps are handled at once (ClockJumped); this catches
	// what accumulates otherwise — a sound card whose clock runs apart
	// from the system's, a device that stalled — without skipping a
	// bulletin's words over a short stall.
	Resync time.Duration
	// LateGrace: a start missed by more than this applies the program's
	// `late` policy; less is simply played from the right offset (2 s).
	LateGrace time.Duration
	// MaxWait bounds how long an urgent alert waits for the current item to
	// end (60 s).
	MaxWait time.Duration
	// TargetLUFS is the station loudness every item is normalised to
	// (−16 LUFS); MaxGainDB caps the boost of quiet items (+20 dB).
	TargetLUFS float64
	MaxGainDB  float64
	// OnRelayFailure, if set, is called each time a relay is given up for
	// its fallback (the daemon counts loa_relay_failures_total).
	OnRelayFailure func()
}

func (c *Config) defaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&c.Lookahead, 2*time.Second)
	def(&c.CutFade, 20*time.Millisecond)
	def(&c.EndFade, 500*time.Millisecond)
	def(&c.JoinFade, 20*time.Millisecond)
	def(&c.Resync, 5*time.Second)
	def(&c.LateGrace, 2*time.Second)
	def(&c.MaxWait, cmdkit.DefaultMaxWait)
	if c.TargetLUFS == 0 {
		c.TargetLUFS = cmdkit.DefaultTargetLUFS
	}
	if c.MaxGainDB == 0 {
		c.MaxGainDB = 20
	}
}

// MediaInfo is how to play a stored media item.
type MediaInfo struct {
	Path   string // the PCM cache file at the engine rate
	Frames int64
	// LoudnessLUFS of the item; HasLoudness is false for digital silence.
	LoudnessLUFS float64
	HasLoudness  bool
}

// Media finds stored media by key.
type Media interface {
	Lookup(key string) (MediaInfo, error)
}

// AsRun is one line of the broadcast log.
type AsRun struct {
	Kind       string // program | alert | live | relay
	Program    string // program id, or alert id
	Title      string
	Source     string
	Occurrence time.Time
	Part       int // -1: the whole clip
	Item       string
	Planned    time.Time
	Actual     time.Time // zero: never went on air
	End        time.Time
	Result     string // completed | cut | interrupted | missed | skipped | cancelled | failed: reason
	Missed     time.Duration
	Note       string
}

// Recorder receives as-run entries, once per item, when the item is over.
type Recorder interface {
	Record(AsRun)
}

// Player decides what the engine plays. Step does all the work and is
// called by one goroutine (Run, or a render loop); the other methods may be
// called from anywhere.
type Player struct {
	cfg   Config
	eng   *audio.Engine
	tm    TimeMap
	media Media
	open  func(path string) (audio.FrameReader, error)
	rec   Recorder
	log   *slog.Logger

	mu    sync.Mutex
	inbox []func()

	status atomic.Pointer[Status]

	useMu sync.Mutex
	inUse map[string]bool // media keys of the clips given to the engine

	// Owned by Step.
	sched   *schedule.Schedule
	trusted bool
	// muteUntil: programs are off the air until then (MutePrograms).
	muteUntil time.Time
	nextID    uint64
	clips     map[uint64]*clip
	played    map[occKey]bool // occurrences that went on air (for resume vs late)
	skipped   map[occKey]bool
	muted     []span // output frames during which the program bus was muted
	alerts    []*pendingAlert
	openRelay RelayOpener
	relays    map[occKey]*relay
	live      *liveState
	lastStep  time.Time
	lastSteps int64
	// When the player first stepped, last got a schedule, last came to
	// trust the clock: a program that began before all three could have
	// started on time; one that began earlier is joined, not late.
	firstStep, schedSince, trustedSince time.Time

	// Displaced occurrences are logged once, as their start passes.
	dispChecked time.Time
	dispSched   *schedule.Schedule
	dispDay     schedule.Date
	dispList    []schedule.Occurrence
}

// New makes a player. open opens a PCM cache file (audio.OpenPCM).
func New(cfg Config, eng *audio.Engine, tm TimeMap, media Media, open func(string) (audio.FrameReader, error), rec Recorder, log *slog.Logger) *Player {
	cfg.defaults()
	if cfg.Rate == 0 {
		cfg.Rate = eng.Rate()
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := &Player{
		cfg: cfg, eng: eng, tm: tm, media: media, open: open, rec: rec, log: log,
		clips:   map[uint64]*clip{},
		inUse:   map[string]bool{},
		relays:  map[occKey]*relay{},
		played:  map[occKey]bool{},
		skipped: map[occKey]bool{},
	}
	p.status.Store(&Status{})
	return p
}

func (p *Player) post(f func()) {
	p.mu.Lock()
	p.inbox = append(p.inbox, f)
	p.mu.Unlock()
}

// SetSchedule switches to a new schedule at the next step. What is on air
// and still in the new schedule goes on undisturbed.
func (p *Player) SetSchedule(s *schedule.Schedule) {
	p.post(func() {
		p.sched = s
		p.schedSince = p.lastStep
	})
}

// SetClockTrusted allows or stops scheduled playback: nothing is scheduled
// on a clock that may be wrong. Alerts play either way.
func (p *Player) SetClockTrusted(ok bool) {
	p.post(func() {
		if ok && !p.trusted {
			p.trustedSince = p.lastStep
		}
		p.trusted = ok
	})
}

type occKey struct {
	source, program string
	start           int64 // unix ns
}

func keyOf(o schedule.Occurrence) occKey {
	return occKey{o.Source, o.Program.ID, o.Start.UnixNano()}
}

type span struct{ from, to int64 }

// clip is what the player knows of a clip it gave the engine.
type clip struct {
	id    uint64
	kind  string // program | alert | relay | live
	bus   audio.Bus
	occ   schedule.Occurrence
	key   occKey
	from  time.Time // planned start of the stretch it covers
	to    time.Time // planned end of that stretch
	parts []partPlan
	// startFrame is where it was asked to start; actual where it did.
	startFrame  int64
	offset      time.Duration // into the occurrence at startFrame
	started     bool
	actual      int64
	stopping    bool
	stopReason  string // cut | interrupted | cancelled | replaced
	detached    bool   // runs on its own timing (late: restart, or the clock moved back)
	detachNote  string
	relayFailed string     // why the relay in this clip was given up
	relayVia    string     // which source the relay played (the city's re-stream, direct)
	joined      bool       // began inside an occurrence the station could not have started on time
	live        *liveState // a live announcement
	cur         int        // index in parts of the part on air, -1 none
	curFrame    int64
	curStart    time.Time // when the part on air started, by the clock of that moment
	curFailed   error
	alert       *pendingAlert
	ended       bool
	mutes       bool            // mutes the program bus while it sounds
	gen         *generatedState // a generated clip (the test tone)
	frames      int64
}

type partPlan struct {
	index   int // segment index in the occurrence (or part number of an alert)
	item    string
	key     string    // media key, "" for silence or a stream
	planned time.Time // when the part was planned to start
	length  time.Duration
	joined  time.Duration // how far into the part playback began
	capped  bool          // the program's duration ends inside this part
}

// Step brings the output in line with what should be on air at now, and
// handles what the engine reported since the last step.
func (p *Player) Step(now time.Time) {
	if p.firstStep.IsZero() {
		p.firstStep = now
	}
	p.mu.Lock()
	inbox := p.inbox
	p.inbox = nil
	p.mu.Unlock()
	for _, f := range inbox {
		f()
	}
	p.drainEvents()
	p.meterGenerated()
	p.reconcileProgram(now)
	p.reconcileRelays(now)
	p.reportDisplaced(now)
	p.reconcileAlerts(now)
	p.publish(now)
	p.lastStep = now
	p.lastSteps++
	if p.lastSteps%3000 == 0 {
		p.forget(now.Add(-48 * time.Hour))
	}
}

// forget drops what the player remembers of occurrences that started
// before cutoff, so that months of uptime do not grow its memory.
func (p *Player) forget(cutoff time.Time) {
	c := cutoff.UnixNano()
	for k := range p.played {
		if k.start < c {
			delete(p.played, k)
		}
	}
	for k := range p.skipped {
		if k.start < c {
			delete(p.skipped, k)
		}
	}
}

func (p *Player) drainEvents() {
	for {
		select {
		case ev := <-p.eng.Events():
			p.handle(ev)
		default:
			return
		}
	}
}

// earliest is the first output frame the player can still change: the
// engine has mixed up to its position plus its own delay (the limiter's
// look-ahead).
func (p *Player) earliest() int64 { return p.eng.Position() + int64(p.eng.Latency()) }

func (p *Player) frames(d time.Duration) int64 { return audio.DurationToFrames(d, p.cfg.Rate) }

func (p *Player) newID() uint64 {
	p.nextID++
	return p.nextID
}

// interval is a stretch of time during which one occurrence wins the
// program bus.
type interval struct {
	occ      schedule.Occurrence
	from, to time.Time
}

// plan lists who wins the program bus from `from` until `to`, and how long
// each winner keeps it: the last stretch runs past `to` to its real end, so
// that a clip is planned whole, not cut at the edge of the window. The
// winner can only change where an occurrence starts or where the current
// winner ends, so the walk asks At at those instants only.
func plan(s *schedule.Schedule, from, to time.Time, skip map[occKey]bool) []interval {
	var out []interval
	t := from
	for guard := 0; guard < 1000; guard++ {
		o, _, ok := s.At(t)
		ok = ok && !skip[keyOf(o)]
		if !t.Before(to) {
			// Past the window: only to find where the last winner ends.
			if !ok || len(out) == 0 || keyOf(out[len(out)-1].occ) != keyOf(o) || !out[len(out)-1].to.Equal(t) {
				break
			}
		}
		var next time.Time
		if n := s.Next(t, 1); len(n) > 0 {
			next = n[0].Start
		}
		if ok && (next.IsZero() || o.End.Before(next)) {
			next = o.End
		}
		if next.IsZero() {
			break // nothing more, ever
		}
		if ok {
			if k := len(out); k > 0 && keyOf(out[k-1].occ) == keyOf(o) && out[k-1].to.Equal(t) {
				out[k-1].to = next
			} else {
				out = append(out, interval{occ: o, from: t, to: next})
			}
		}
		t = next
	}
	return out
}

func (p *Player) reconcileProgram(now time.Time) {
	pos := p.earliest()
	if _, ok := p.tm.FrameAt(now); !ok {
		return
	}
	var want []interval
	if p.sched != nil && p.trusted && !p.programsMuted(now) {
		want = plan(p.sched, now, now.Add(p.cfg.Lookahead), p.skipped)
	}
	matched := map[uint64]bool{}
	for i := 0; i < len(want); i++ {
		d := want[i]
		c := p.findProgramClip(d)
		if c == nil {
			if c := p.startProgram(d, now, pos); c != nil {
				matched[c.id] = true
			}
			continue
		}
		matched[c.id] = true
		if c.detached {
			continue
		}
		// Same occurrence, already given to the engine: keep it unless it
		// must end earlier, or it has drifted from the wall clock.
		if d.to.Before(c.to) {
			p.stopAt(c, d.to, p.cfg.CutFade, "interrupted")
		} else if d.to.After(c.to) && !c.stopping {
			want = append(want[:i+1], append([]interval{{occ: d.occ, from: c.to, to: d.to}}, want[i+1:]...)...)
		}
		if c.started && !c.stopping {
			if drift := p.drift(c, pos); drift > p.cfg.Resync || drift < -p.cfg.Resync {
				p.log.Warn("program is off the wall clock, re-joining", "program", c.occ.Program.ID, "drift", drift.Round(time.Millisecond))
				p.stopNow(c, "replaced")
				delete(matched, c.id)
				want = append(want[:i+1], append([]interval{{occ: d.occ, from: now, to: d.to}}, want[i+1:]...)...)
			}
		}
	}
	// A clip detached by `late: restart` yields to the next scheduled start.
	for _, c := range p.clips {
		if c.kind != "program" || c.ended || c.stopping {
			continue
		}
		if c.detached {
			for _, d := range want {
				if keyOf(d.occ) != c.key && !d.from.Before(now) {
					p.stopAt(c, d.from, p.cfg.CutFade, "cut")
					break
				}
			}
			continue
		}
		if !matched[c.id] {
			// Not wanted any more: removed by a new program, or the clock
			// moved away from it.
			p.stopNow(c, "cut")
		}
	}
}

func (p *Player) findProgramClip(d interval) *clip {
	k := keyOf(d.occ)
	for _, c := range p.clips {
		if c.kind != "program" || c.ended || c.key != k {
			continue
		}
		if c.detached {
			return c
		}
		if c.stopping {
			continue
		}
		if !d.from.Before(c.from) && d.from.Before(c.to) {
			return c
		}
	}
	return nil
}

// drift is how far the clip's position is ahead of where the wall clock
// says the occurrence is.
func (p *Player) drift(c *clip, pos int64) time.Duration {
	clipPos := c.offset + audio.FramesToDuration(pos-c.actual, p.cfg.Rate)
	wallPos := p.tm.TimeAt(pos).Sub(c.occ.Start)
	return clipPos - wallPos
}

// startProgram gives the engine a clip for the stretch d of an occurrence.
func (p *Player) startProgram(d interval, now time.Time, pos int64) *clip {
	o := d.occ
	k := keyOf(o)
	earliest := p.tm.TimeAt(pos)
	start := d.from
	late := earliest.Sub(start)
	joinFade := 0
	detached := false
	if p.played[k] && d.from.Equal(o.Start) {
		// It aired already: the clock moved back over it.
		return nil
	}
	if r := p.relays[k]; r != nil && r.fallback {
		return nil // its fallback is on air instead
	}
	if late > 0 {
		// The stretch began before the first frame we can still change.
		resume := p.played[k]
		trueStart := d.from.Equal(o.Start)
		if !resume && (!trueStart || late > p.cfg.LateGrace) {
			switch o.Program.Late {
			case schedule.LateSkip:
				p.skipped[k] = true
				p.log.Info("program started while the agent was not playing: skipped (late: skip)", "program", o.Program.ID, "late", late.Round(time.Millisecond))
				p.recordOccurrence(o, "skipped", fmt.Sprintf("late: skip, %s late", late.Round(time.Second)))
				return nil
			case schedule.LateRestart:
				detached = true
			}
		}
		start = earliest
		if !detached {
			joinFade = int(p.frames(p.cfg.JoinFade))
		}
	}
	offset := start.Sub(o.Start)
	if detached {
		offset = 0
	}
	parts, err := p.partsOf(o, offset)
	if err != nil {
		p.log.Error("cannot play program", "program", o.Program.ID, "err", err)
		p.skipped[k] = true
		p.recordOccurrence(o, "failed: "+err.Error(), "")
		return nil
	}
	c := &clip{
		id: p.newID(), kind: "program", bus: audio.BusProgram, occ: o, key: k,
		from: d.from, to: d.to, detached: detached, cur: -1, offset: offset,
	}
	if detached {
		c.detachNote = fmt.Sprintf("late: restart (%s after its start)", earliest.Sub(o.Start).Round(time.Second))
	}
	if late > 0 && !p.played[k] {
		c.joined = !p.firstStep.Before(o.Start) || !p.schedSince.Before(o.Start) || !p.trustedSince.Before(o.Start)
	}
	if detached {
		c.from, c.to = start, start.Add(o.End.Sub(o.Start))
	}
	var seqParts []audio.Part
	for _, pp := range parts {
		seqParts = append(seqParts, pp.part)
		c.parts = append(c.parts, pp.plan)
		c.frames += pp.part.Frames
	}
	sf, _ := p.tm.FrameAt(start)
	sf = max(sf, pos)
	c.startFrame = sf
	src := audio.NewSequence(p.open, seqParts)
	if err := p.eng.Play(audio.Clip{ID: c.id, Bus: audio.BusProgram, Start: sf, Source: src, FadeIn: joinFade}); err != nil {
		p.log.Error("audio engine refused a clip", "program", o.Program.ID, "err", err)
		return nil
	}
	p.clips[c.id] = c
	if o.Program.Relay != "" {
		if r := p.relays[k]; r != nil {
			r.clip = c
		}
	}
	// Missed parts before the join point are logged now: they will never
	// reach the air.
	for i, seg := range o.Segments() {
		if seg.Offset+seg.Duration <= offset && !detached && !p.played[k] {
			p.record(AsRun{Kind: "program", Program: o.Program.ID, Title: o.Program.Title, Source: o.Source, Occurrence: o.Start,
				Part: i, Item: segmentItem(seg), Planned: o.Start.Add(seg.Offset), Result: "missed",
				Missed: seg.Duration, Note: fmt.Sprintf("joined %s after the start", offset.Round(time.Second))})
		}
	}
	// The stretch ends before the occurrence's own end (a higher program
	// takes over), or at its `duration` in the middle of an item: fade out
	// so that the last frame sounds at the planned instant.
	begin, end := o.Start, o.End // the occurrence, on the clip's own timing
	if detached {
		begin, end = start, c.to
	}
	natural := begin.Add(offset).Add(audio.FramesToDuration(c.frames, p.cfg.Rate))
	switch {
	case c.to.Before(o.End) && !detached:
		p.stopAt(c, c.to, p.cfg.CutFade, "interrupted")
	case end.Before(natural.Add(-time.Millisecond)) || (o.Program.Duration > 0 && cutsItem(o)):
		p.stopAt(c, end, p.cfg.EndFade, "cut")
	}
	p.log.Debug("program clip queued", "program", o.Program.ID, "frame", sf, "offset", offset, "to", c.to)
	return c
}

// cutsItem reports whether the occurrence's duration ends inside an item
// (the last segment was shortened), which calls for a fade.
func cutsItem(o schedule.Occurrence) bool {
	segs := o.Segments()
	if len(segs) == 0 || o.Program.Relay != "" {
		return o.Program.Relay != ""
	}
	last := segs[len(segs)-1]
	return last.Media != nil && last.Duration < last.Media.Duration
}

type builtPart struct {
	part audio.Part
	plan partPlan
}

// partsOf turns an occurrence, from offset on, into the parts of a
// sequence.
func (p *Player) partsOf(o schedule.Occurrence, offset time.Duration) ([]builtPart, error) {
	var out []builtPart
	gain := VolumeGain(o.Program.Volume)
	for i, seg := range o.Segments() {
		end := seg.Offset + seg.Duration
		if end <= offset {
			continue
		}
		within := max(offset-seg.Offset, 0)
		bp := builtPart{plan: partPlan{index: i, item: segmentItem(seg), key: segmentKey(seg), planned: o.Start.Add(seg.Offset), length: seg.Duration, joined: within,
			capped: seg.Media != nil && seg.Duration < seg.Media.Duration}}
		frames := p.frames(seg.Duration) - p.frames(within)
		switch {
		case seg.Kind == schedule.SegmentRelay:
			r := p.relayFor(o)
			if r == nil || r.fallback {
				// No stream (render, or no opener): silence on air, and the
				// log says so.
				p.log.Warn("relay not played: silence in its place", "program", o.Program.ID, "url", seg.URL)
				bp.part = audio.Part{Index: i, Frames: frames}
				break
			}
			bp.part = audio.Part{Index: i, Frames: frames, Gain: gain, Reader: audio.NewLevelFollower(r.src, p.cfg.Rate, p.cfg.TargetLUFS)}
		case seg.Media != nil:
			m, err := p.media.Lookup(seg.Media.Key)
			if err != nil {
				return nil, fmt.Errorf("item %s: %w", seg.Media.Ref, err)
			}
			if seg.Duration >= seg.Media.Duration {
				// A whole item: its exact length in frames.
				frames = m.Frames - p.frames(within)
			}
			bp.part = audio.Part{Index: i, Path: m.Path, Offset: p.frames(within), Frames: frames, Gain: gain * p.normGain(m)}
		default:
			bp.part = audio.Part{Index: i, Frames: frames}
		}
		if bp.part.Frames <= 0 {
			continue
		}
		out = append(out, bp)
	}
	return out, nil
}

func segmentKey(seg schedule.Segment) string {
	if seg.Media != nil {
		return seg.Media.Key
	}
	return ""
}

func segmentItem(seg schedule.Segment) string {
	if seg.Media != nil {
		return seg.Media.Ref
	}
	return seg.URL
}

// normGain brings an item to the station's loudness target.
func (p *Player) normGain(m MediaInfo) float64 {
	if !m.HasLoudness {
		return 1
	}
	db := min(p.cfg.TargetLUFS-m.LoudnessLUFS, p.cfg.MaxGainDB)
	return dsp.DBToGain(db)
}

// VolumeGain maps a volume in percent to a gain with a square-law taper:
// 100 % is 0 dB, 50 % is −12 dB, 10 % is −40 dB, which an operator hears as
// roughly even steps.
func VolumeGain(v int) float64 {
	if v <= 0 {
		return 0
	}
	x := float64(min(v, 100)) / 100
	return x * x
}

// stopAt fades clip c out so that it is silent at instant `at`.
func (p *Player) stopAt(c *clip, at time.Time, fade time.Duration, reason string) {
	f, _ := p.tm.FrameAt(at)
	ff := p.frames(fade)
	c.to = at
	c.stopReason = reason
	if err := p.eng.Stop(c.id, f-ff, int(ff)); err != nil {
		p.log.Error("audio engine refused a stop", "err", err)
	}
}

// stopNow cuts clip c as soon as the engine can, with the cut fade.
func (p *Player) stopNow(c *clip, reason string) {
	c.stopping = true
	c.stopReason = reason
	if err := p.eng.Stop(c.id, p.earliest(), int(p.frames(p.cfg.CutFade))); err != nil {
		p.log.Error("audio engine refused a stop", "err", err)
	}
}

func (p *Player) handle(ev audio.Event) {
	c := p.clips[ev.Clip]
	if c == nil {
		return
	}
	switch ev.Kind {
	case audio.ClipStarted:
		c.started = true
		c.actual = ev.Frame
		if c.kind == "program" {
			// A clip that started later than asked still begins at its
			// planned offset: drift() measures from the actual frame, and
			// re-joins it if that puts it off the wall clock.
			p.played[c.key] = true
		}
		if c.mutes {
			p.muted = append(p.muted, span{ev.Frame, -1})
		}
		if c.alert != nil {
			c.alert.started = true
			p.report(c.alert, AlertOutcome{State: AlertStarted, At: p.tm.TimeAt(ev.Frame)})
		}
		if c.live != nil && c.live.Report != nil {
			c.live.Report(c.live.ID, "started", p.tm.TimeAt(ev.Frame))
		}
	case audio.PartStarted, audio.PartFailed:
		p.closePart(c, ev.Frame)
		c.cur = p.partIndex(c, ev.Part)
		c.curFrame = ev.Frame
		c.curStart = p.tm.TimeAt(ev.Frame)
		c.curFailed = nil
		if ev.Kind == audio.PartFailed {
			c.curFailed = ev.Err
			p.log.Error("item could not be played: silence in its place", "program", c.occ.Program.ID, "err", ev.Err)
		}
	case audio.ClipEnded:
		p.closePart(c, ev.Frame)
		c.ended = true
		if c.mutes {
			for i := range p.muted {
				if p.muted[i].to < 0 && p.muted[i].from <= ev.Frame {
					p.muted[i].to = ev.Frame
				}
			}
		}
		if c.alert != nil {
			p.alertEnded(c, ev)
		}
		if c.gen != nil {
			p.generatedEnded(c, ev)
		}
		if c.live != nil {
			p.liveEnded(c, c.live, p.tm.TimeAt(ev.Frame))
			if p.live == c.live {
				p.live = nil
			}
		}
		if c.detached {
			// It ran on its own timing: the wall clock's idea of the same
			// occurrence must not play it again.
			p.skipped[c.key] = true
		}
		delete(p.clips, c.id)
		p.pruneMuted(ev.Frame)
	}
}

func (p *Player) partIndex(c *clip, index int) int {
	for i, pp := range c.parts {
		if pp.index == index {
			return i
		}
	}
	return -1
}

// closePart writes the as-run entry of the part on air in clip c, which
// ended at output frame end.
func (p *Player) closePart(c *clip, end int64) { p.closePartAt(c, end, "") }

// Flush logs the items still on air as they stand, with a note saying why
// (a render that ends, an agent that stops in the middle of them).
func (p *Player) Flush(now time.Time, note string) {
	p.drainEvents()
	end, _ := p.tm.FrameAt(now)
	for _, c := range p.sortedClips() {
		if c.started && !c.ended {
			p.closePartAt(c, end, note)
		}
	}
}

func (p *Player) closePartAt(c *clip, end int64, unfinished string) {
	if c.cur < 0 || (c.kind != "program" && c.kind != "fallback") {
		c.cur = -1
		return
	}
	pp := c.parts[c.cur]
	// Times by the clock of the moment the part started: a clock that
	// jumped since then does not rewrite history.
	actual := c.curStart
	endT := actual.Add(audio.FramesToDuration(end-c.curFrame, p.cfg.Rate))
	played := audio.FramesToDuration(end-c.curFrame, p.cfg.Rate)
	expected := pp.length - pp.joined
	e := AsRun{
		Kind: "program", Program: c.occ.Program.ID, Title: c.occ.Program.Title, Source: c.occ.Source, Occurrence: c.occ.Start,
		Part: pp.index, Item: pp.item, Planned: pp.planned, Actual: actual, End: endT, Result: "completed",
	}
	if c.kind == "fallback" {
		e.Note = "fallback for the relay " + c.occ.Program.Relay
	} else if c.detached {
		e.Note = c.detachNote
	} else if pp.joined > 0 {
		e.Note = fmt.Sprintf("joined at %s", fmtOffset(pp.joined))
	}
	if c.relayVia != "" && pp.key == "" {
		e.Note = joinNote(e.Note, c.relayVia)
	}
	missedByMute := audio.FramesToDuration(p.mutedWithin(c.curFrame, end), p.cfg.Rate)
	short := expected - played
	if unfinished != "" {
		short = 0
		e.Note = joinNote(e.Note, unfinished)
	}
	switch {
	case c.relayFailed != "" && pp.key == "":
		e.Result = "failed: " + c.relayFailed
		if r := p.relays[c.key]; r != nil && r.played {
			e.Result, e.Note = "partial", joinNote(e.Note, "relay given up: "+c.relayFailed)
		}
		e.Missed = max(short, 0)
	case c.curFailed != nil:
		e.Result = "failed: " + c.curFailed.Error()
	case missedByMute > 10*time.Millisecond:
		e.Result = "interrupted"
		e.Missed = missedByMute + max(short, 0)
	case unfinished != "":
		e.Result = "unfinished"
	case short > 50*time.Millisecond:
		e.Result = "cut"
		if c.stopReason == "interrupted" {
			e.Result = "interrupted"
		}
		e.Missed = short
	case pp.capped:
		e.Result = "cut"
		e.Note = joinNote(e.Note, "cut at the program's duration")
	}
	p.record(e)
	c.cur = -1
}

// recordOccurrence logs a whole occurrence that did not play.
func (p *Player) recordOccurrence(o schedule.Occurrence, result, note string) {
	p.record(AsRun{Kind: "program", Program: o.Program.ID, Title: o.Program.Title, Source: o.Source, Occurrence: o.Start,
		Part: -1, Planned: o.Start, Result: result, Note: note, Missed: o.End.Sub(o.Start)})
}

func (p *Player) record(e AsRun) {
	if p.rec != nil {
		p.rec.Record(e)
	}
}

// mutedWithin is how many frames of [from, to) the program bus was muted.
func (p *Player) mutedWithin(from, to int64) int64 {
	var n int64
	for _, s := range p.muted {
		end := s.to
		if end < 0 {
			end = to
		}
		a, b := max(s.from, from), min(end, to)
		if b > a {
			n += b - a
		}
	}
	return n
}

func (p *Player) pruneMuted(now int64) {
	oldest := now
	for _, c := range p.clips {
		if c.cur >= 0 && c.curFrame < oldest {
			oldest = c.curFrame
		}
	}
	kept := p.muted[:0]
	for _, s := range p.muted {
		if s.to < 0 || s.to > oldest {
			kept = append(kept, s)
		}
	}
	p.muted = kept
}

func joinNote(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

func fmtOffset(d time.Duration) string {
	d = d.Round(time.Second)
	return fmt.Sprintf("%02d:%02d", int(d.Minutes()), int(d.Seconds())%60)
}

// sortedClips lists the live clips in start order (for status).
func (p *Player) sortedClips() []*clip {
	out := make([]*clip, 0, len(p.clips))
	for _, c := range p.clips {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].startFrame < out[j].startFrame })
	return out
}

// reportDisplaced logs, as their start passes, the occurrences that never
// air because another program covers them entirely (on equal priority the
// city's program wins over the ward's own).
func (p *Player) reportDisplaced(now time.Time) {
	last := p.dispChecked
	p.dispChecked = now
	if p.sched == nil || !p.trusted || last.IsZero() || !now.After(last) || now.Sub(last) > time.Hour {
		return
	}
	loc := p.sched.Location()
	for d := schedule.DateOf(last.In(loc)); !schedule.DateOf(now.In(loc)).Before(d); d = d.AddDays(1) {
		if p.dispSched != p.sched || p.dispDay != d {
			p.dispSched, p.dispDay, p.dispList = p.sched, d, p.sched.Displaced(d)
		}
		for _, o := range p.dispList {
			if o.Start.After(last) && !o.Start.After(now) {
				note := ""
				if w, _, ok := p.sched.At(o.Start); ok {
					note = fmt.Sprintf("displaced by %q (%s)", w.Program.ID, w.Source)
				}
				p.log.Info("program displaced: another program is on air", "program", o.Program.ID, "source", o.Source, "note", note)
				p.recordOccurrence(o, "displaced", note)
			}
		}
	}
}

// ClockJumped tells the player that the wall clock moved by delta on its
// own (NTP stepping it at boot, an operator setting it). Clips queued for
// the future were placed on the old clock and are placed again. After a
// jump back, what is on air plays on to its end and nothing that already
// aired plays a second time; after a jump forward, the program on air is
// re-joined where the wall clock now says.
func (p *Player) ClockJumped(delta time.Duration) {
	p.post(func() {
		for _, c := range p.clips {
			if c.kind != "program" || c.ended || c.stopping {
				continue
			}
			if !c.started {
				p.stopNow(c, "replaced")
				continue
			}
			if delta > 0 {
				// Forward: re-joined at once where the clock now says.
				p.stopNow(c, "replaced")
				continue
			}
			if delta < 0 {
				c.detached = true
				c.detachNote = fmt.Sprintf("the clock moved back %s while on air: played to its end", (-delta).Round(time.Second))
				c.to = p.tm.TimeAt(c.actual).Add(audio.FramesToDuration(c.frames, p.cfg.Rate))
			}
		}
	})
}
