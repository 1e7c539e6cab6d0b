package player

import (
	"fmt"
	"time"

	"loa/audio"
	"loa/internal/cmdkit"
)

// LiveSource is a live voice: a stream from the city's Icecast, or the
// ward's own line-in (capture.Source). It never blocks.
type LiveSource interface {
	Stream([][2]float64) (int, bool)
	Close() error
}

// Live is a live announcement (level 60 of the ladder): the voice on the
// live bus, the program lowered under it (duck) or muted (exclusive). An
// emergency or urgent alert still cuts over it.
type Live struct {
	ID        string
	Title     string
	Source    LiveSource
	Exclusive bool
	// DuckDB lowers the program under the voice (default −15 dB).
	DuckDB float64
	// Ramp is how long the program takes to go down and come back (0.5 s).
	Ramp time.Duration
	// Report, if set, is called with "started" and "finished".
	Report func(id, state string, at time.Time)
}

type liveState struct {
	Live
	clip     *clip
	started  time.Time
	streamer *liveStreamer
}

// LiveDeadAfter ends a live announcement whose source has failed for this
// long without recovering (the city or the official's phone gone, a relay
// that cannot reconnect): the program comes back instead of staying
// lowered or muted under silence until the announcement expires.
const LiveDeadAfter = 15 * time.Second

// failingSource is a live source that can say it is failing (the stream
// relay and the line-in capture: their Err is nil while they play).
type failingSource interface{ Err() error }

// StartLive puts a live voice on air at once. A second live announcement
// replaces the first.
func (p *Player) StartLive(l Live) {
	if l.DuckDB == 0 {
		l.DuckDB = cmdkit.DefaultDuckDB
	}
	if l.Ramp == 0 {
		l.Ramp = 500 * time.Millisecond
	}
	p.post(func() {
		if p.live != nil {
			p.stopLive("replaced")
		}
		ramp := int(p.frames(l.Ramp))
		c := &clip{id: p.newID(), kind: "live", bus: audio.BusLive, cur: -1, startFrame: p.earliest(), mutes: l.Exclusive}
		ls := &liveStreamer{src: l.Source, deadAfter: p.frames(LiveDeadAfter)}
		clip := audio.Clip{ID: c.id, Bus: audio.BusLive, Start: c.startFrame, Source: ls, FadeIn: ramp,
			DuckDB: l.DuckDB, Mute: l.Exclusive, DuckRamp: ramp}
		if err := p.eng.Play(clip); err != nil {
			p.log.Error("audio engine refused the live voice", "live", l.ID, "err", err)
			l.Source.Close()
			return
		}
		p.clips[c.id] = c
		p.cutGenerated(c.startFrame, "", "cắt bởi tiếp âm trực tiếp / cut by live announcement "+l.ID)
		p.live = &liveState{Live: l, clip: c, streamer: ls}
		c.live = p.live
		mode := fmt.Sprintf("duck %.0f dB", l.DuckDB)
		if l.Exclusive {
			mode = "exclusive"
		}
		p.log.Info("live announcement on air", "live", l.ID, "mode", mode)
	})
}

// StopLive ends the live announcement id ("" for whichever is on air).
func (p *Player) StopLive(id string) {
	p.post(func() {
		if p.live != nil && (id == "" || p.live.ID == id) {
			p.stopLive("stopped")
		}
	})
}

func (p *Player) stopLive(reason string) {
	l := p.live
	p.live = nil
	c := l.clip
	if c.ended {
		return
	}
	c.stopReason = reason
	c.stopping = true
	p.eng.Stop(c.id, p.earliest(), int(p.frames(l.Ramp)))
}

// liveEnded logs a live announcement when its clip has ended.
func (p *Player) liveEnded(c *clip, l *liveState, end time.Time) {
	started := p.tm.TimeAt(c.actual)
	result := "completed"
	if c.stopReason == "replaced" {
		result = "cut"
	}
	mode := fmt.Sprintf("duck %.0f dB", l.DuckDB)
	if l.Exclusive {
		mode = "exclusive"
	}
	if l.streamer != nil && l.streamer.dead != nil {
		result = "failed"
		mode += fmt.Sprintf("; nguồn hỏng %s / source failed for %s: %v", LiveDeadAfter, LiveDeadAfter, l.streamer.dead)
		p.log.Warn("live announcement ended: its source failed", "live", l.ID, "for", LiveDeadAfter, "err", l.streamer.dead)
	}
	p.record(AsRun{Kind: "live", Program: l.ID, Title: l.Title, Planned: started, Actual: started, End: end, Result: result, Note: mode})
	if l.Report != nil {
		l.Report(l.ID, "finished", end)
	}
}

// liveStreamer lets the engine read the live source and close it when the
// clip ends. It ends the voice when the source has been failing for
// deadAfter frames in a row (counted on the engine's own clock, so
// virtual time ends it the same).
type liveStreamer struct {
	src       LiveSource
	deadAfter int64
	failing   int64
	dead      error // why it was ended, once it was
}

func (s *liveStreamer) Stream(dst [][2]float64) (int, bool) {
	n, ok := s.src.Stream(dst)
	if !ok {
		return n, false
	}
	if f, can := s.src.(failingSource); can {
		if err := f.Err(); err != nil {
			s.failing += int64(len(dst))
			if s.failing >= s.deadAfter {
				s.dead = err
				return 0, false
			}
		} else {
			s.failing = 0
		}
	}
	clear(dst[n:])
	return len(dst), true
}

func (s *liveStreamer) Err() error   { return nil }
func (s *liveStreamer) Close() error { return s.src.Close() }
