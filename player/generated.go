package player

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/gopxl/beep/v2"

	"loa/audio"
	"loa/priority"
)

// Generated is a clip the ward makes itself instead of reading it from
// its store: the technician's test tone (the city's test_tone command).
//
// It stands at level priority.Test on the ladder: above the programs,
// which it mutes while it sounds (they go on by the wall clock underneath,
// and their as-run says "interrupted", as under an alert), and below live
// announcements and alerts. An alert or a live voice that starts cuts it,
// and it is refused while one is on air or waiting: a test must never
// delay or cover a warning. The engine has no bus of its own for the
// level; the clip mixes on the live bus, which mutes the program's, and
// the player keeps it below live and alerts by those cuts.
type Generated struct {
	ID    string
	Kind  string // as-run kind, e.g. "test_tone"
	Title string
	Note  string // as-run note (what was asked)
	// Source is read at the engine rate and ends by itself after Frames.
	Source beep.Streamer
	Frames int64
	// At is when it was asked (the as-run's planned time).
	At time.Time
	// Report, if set, is called once, from the player's goroutine, when
	// the clip is over or could not start.
	Report func(GeneratedOutcome)
}

// GeneratedOutcome is what became of a generated clip.
type GeneratedOutcome struct {
	ID string
	// Err is why it did not play at all (ErrOutputBusy, the engine's).
	Err error
	// Completed: it played to its end; else it was cut (CutBy says by
	// what) or stopped.
	Completed bool
	CutBy     string
	// Started and Ended are when it sounded (zero if it never did).
	Started, Ended time.Time
	// LevelDBFS is the output meter (the engine's sample peak of each
	// block, after the master volume and the limiter: what the sound card
	// is given) while the clip sounded alone, the median of the blocks
	// read; Measured is false when no whole block was read.
	LevelDBFS float64
	Measured  bool
}

// ErrOutputBusy: a generated clip is refused while an alert or a live
// announcement is on air or waiting, or another generated clip plays.
var ErrOutputBusy = errors.New("đang phát cảnh báo, tiếp âm trực tiếp hoặc âm thử khác / an alert, a live announcement or another test is on air")

// meterSettle is how long after a generated clip starts the output meter
// is first read: the programs' mute ramp and the block that straddles the
// start are over by then.
const meterSettle = 250 * time.Millisecond

type generatedState struct {
	Generated
	peaks []float64
	cutBy string
}

// PlayGenerated puts a generated clip on air as soon as the engine can
// take it, unless the output is busy with higher levels (Report then says
// ErrOutputBusy).
func (p *Player) PlayGenerated(g Generated) {
	p.post(func() {
		fail := func(err error) {
			p.record(AsRun{Kind: g.Kind, Program: g.ID, Title: g.Title, Part: -1, Planned: g.At, Result: "failed: " + err.Error(), Note: g.Note})
			if g.Report != nil {
				g.Report(GeneratedOutcome{ID: g.ID, Err: err})
			}
		}
		busy := p.live != nil
		for _, pa := range p.alerts {
			busy = busy || !pa.done
		}
		for _, c := range p.clips {
			busy = busy || (c.gen != nil && !c.ended)
		}
		if busy {
			fail(ErrOutputBusy)
			return
		}
		sf := p.earliest()
		c := &clip{id: p.newID(), kind: "generated", bus: audio.BusLive, startFrame: sf, cur: -1, mutes: true, frames: g.Frames,
			gen: &generatedState{Generated: g}}
		if err := p.eng.Play(audio.Clip{ID: c.id, Bus: audio.BusLive, Start: sf, Source: g.Source, Mute: true,
			DuckRamp: int(p.frames(p.cfg.CutFade))}); err != nil {
			fail(err)
			return
		}
		p.clips[c.id] = c
		p.log.Info("generated clip queued", "kind", g.Kind, "id", g.ID, "level", priority.Test.String())
	})
}

// StopGenerated stops the generated clip id ("" for any) at once.
func (p *Player) StopGenerated(id string) {
	p.post(func() { p.cutGenerated(p.earliest(), id, "stopped") })
}

// cutGenerated stops the generated clips (id "" for all) sounding at or
// after frame sf, with the cut fade ending there.
func (p *Player) cutGenerated(sf int64, id, by string) {
	for _, c := range p.clips {
		if c.gen == nil || c.ended || c.stopping || (id != "" && c.gen.ID != id) {
			continue
		}
		c.stopping = true
		c.stopReason = "cut"
		c.gen.cutBy = by
		ff := p.frames(p.cfg.CutFade)
		if err := p.eng.Stop(c.id, max(sf-ff, p.earliest()), int(ff)); err != nil {
			p.log.Error("audio engine refused a stop", "err", err)
		}
		p.log.Info("generated clip cut", "kind", c.gen.Kind, "id", c.gen.ID, "by", by)
	}
}

// meterGenerated reads the output meter for the generated clips sounding
// alone: the last block mixed lies wholly inside the clip, past its
// settling time.
func (p *Player) meterGenerated() {
	for _, c := range p.clips {
		if c.gen == nil || !c.started || c.ended || c.stopping {
			continue
		}
		pos := p.eng.Position()
		if pos >= c.actual+p.frames(meterSettle) && pos <= c.actual+c.frames {
			if pk := p.eng.PeakDBFS(); !math.IsInf(pk, 0) && !math.IsNaN(pk) {
				c.gen.peaks = append(c.gen.peaks, pk)
			}
		}
	}
}

func (p *Player) generatedEnded(c *clip, ev audio.Event) {
	g := c.gen
	out := GeneratedOutcome{ID: g.ID, Completed: ev.Completed, CutBy: g.cutBy,
		Started: p.tm.TimeAt(c.actual), Ended: p.tm.TimeAt(ev.Frame)}
	if n := len(g.peaks); n > 0 {
		s := append([]float64(nil), g.peaks...)
		sort.Float64s(s)
		out.LevelDBFS, out.Measured = s[n/2], true
	}
	result := "completed"
	switch {
	case ev.Err != nil:
		result = "failed: " + ev.Err.Error()
	case !ev.Completed:
		result = "cut"
	}
	note := g.Note
	if out.Measured {
		note = joinNote(note, fmt.Sprintf("đo được / measured %.1f dBFS", out.LevelDBFS))
	}
	if g.cutBy != "" {
		note = joinNote(note, g.cutBy)
	}
	p.record(AsRun{Kind: g.Kind, Program: g.ID, Title: g.Title, Part: -1, Planned: g.At, Actual: out.Started, End: out.Ended,
		Result: result, Note: note})
	if g.Report != nil {
		g.Report(out)
	}
}

// Tone is a sine of hz at a peak of dbfs for frames frames at rate, with
// 10 ms raised-cosine ramps at both ends so that it neither clicks in nor
// out.
func Tone(rate int, hz, dbfs float64, frames int64) beep.Streamer {
	return &toneStreamer{amp: math.Pow(10, dbfs/20), w: 2 * math.Pi * hz / float64(rate), frames: frames,
		ramp: min(int64(rate/100), frames/2)}
}

type toneStreamer struct {
	amp, w       float64
	frames, ramp int64
	i            int64
}

func (t *toneStreamer) Stream(dst [][2]float64) (int, bool) {
	if t.i >= t.frames {
		return 0, false
	}
	n := 0
	for ; n < len(dst) && t.i < t.frames; n++ {
		g := t.amp
		if k := min(t.i, t.frames-1-t.i); k < t.ramp {
			g *= 0.5 - 0.5*math.Cos(math.Pi*float64(k)/float64(t.ramp))
		}
		v := g * math.Sin(t.w*float64(t.i))
		dst[n] = [2]float64{v, v}
		t.i++
	}
	return n, true
}

func (t *toneStreamer) Err() error { return nil }
