package player

import (
	"fmt"
	"time"

	"loa/audio"
	"loa/audio/stream"
	"loa/schedule"
)

// RelaySource is a live stream played by a relay program (stream.Source).
// One that also has a Via() string method (the agent's relay through the
// city's re-stream) has it written in the as-run row's note: which source
// played.
type RelaySource interface {
	Stream([][2]float64) (int, bool)
	Stats() stream.Stats
	Close() error
}

// RelayOpener opens the stream of a relay program. It is called a few
// seconds before the program starts, so that the stream is buffered when
// its first sample is due.
type RelayOpener func(url string) RelaySource

// relayLead is how long before its start a relay's stream is opened.
const relayLead = 8 * time.Second

// relayFailAfter is how long a relay may fail (no connection, a stall,
// silence) before the program's fallback items play instead.
const relayFailAfter = 10 * time.Second

// relay is a relay program on air or about to be.
type relay struct {
	occ      schedule.Occurrence
	src      RelaySource
	fallback bool   // the fallback items (or silence) are on air instead
	reason   string // why the relay was given up
	failures int
	played   bool  // the stream has been on air at some point
	clip     *clip // the relay clip on air, nil while the fallback plays
}

// SetRelayOpener lets the player play relays (without it a relay program
// is silence, logged as failed).
func (p *Player) SetRelayOpener(open RelayOpener) { p.post(func() { p.openRelay = open }) }

// relayFor returns the relay of an occurrence, opening its stream if needed.
func (p *Player) relayFor(o schedule.Occurrence) *relay {
	k := keyOf(o)
	if r := p.relays[k]; r != nil {
		return r
	}
	if p.openRelay == nil || o.Program.Relay == "" {
		return nil
	}
	r := &relay{occ: o, src: p.openRelay(o.Program.Relay)}
	p.relays[k] = r
	p.log.Info("relay stream opened", "program", o.Program.ID, "url", o.Program.Relay)
	return r
}

// reconcileRelays opens the streams of relays about to start, gives up a
// relay that has failed for 10 s (its fallback items play instead), and
// closes the streams of relays that have ended.
func (p *Player) reconcileRelays(now time.Time) {
	if p.sched != nil && p.trusted && p.openRelay != nil {
		for _, o := range p.sched.Next(now, 4) {
			if o.Program.Relay != "" && o.Start.Sub(now) <= relayLead {
				p.relayFor(o)
			}
		}
	}
	for k, r := range p.relays {
		if v, ok := r.src.(interface{ Via() string }); ok && r.clip != nil {
			r.clip.relayVia = v.Via()
		}
		if !now.Before(r.occ.End) {
			r.src.Close()
			delete(p.relays, k)
			continue
		}
		if r.fallback || r.clip == nil || !r.clip.started || r.clip.ended || r.clip.stopping {
			continue
		}
		st := r.src.Stats()
		if st.State == stream.Playing {
			r.played = true
		}
		if st.State == stream.Playing || st.FailingFor < relayFailAfter {
			continue
		}
		r.fallback = true
		r.failures++
		r.reason = fmt.Sprintf("%s for %s", st.State, st.FailingFor.Round(time.Second))
		if st.LastError != "" {
			r.reason += ": " + st.LastError
		}
		p.log.Error("relay failed: playing the fallback", "program", r.occ.Program.ID, "url", r.occ.Program.Relay, "reason", r.reason)
		if p.cfg.OnRelayFailure != nil {
			p.cfg.OnRelayFailure()
		}
		c := r.clip
		c.relayFailed = r.reason
		p.stopNow(c, "relay failed")
		r.clip = nil
		p.startFallback(r, now)
	}
}

// startFallback plays the program's fallback items from now to the end of
// the relay's window (silence when there are none).
func (p *Player) startFallback(r *relay, now time.Time) {
	o := r.occ
	if len(o.Program.Fallback) == 0 {
		return
	}
	start := p.tm.TimeAt(p.earliest())
	left := o.End.Sub(start)
	var parts []audio.Part
	c := &clip{id: p.newID(), kind: "fallback", bus: audio.BusProgram, occ: o, key: keyOf(o), from: start, to: o.End, cur: -1, detached: true}
	gain := VolumeGain(o.Program.Volume)
	var at time.Duration
	for i, ref := range o.Program.Fallback {
		if at >= left {
			break
		}
		m, err := p.media.Lookup(ref.Key)
		if err != nil {
			p.log.Error("fallback item missing", "program", o.Program.ID, "item", ref.Ref, "err", err)
			continue
		}
		frames := min(m.Frames, p.frames(left-at))
		parts = append(parts, audio.Part{Index: i, Path: m.Path, Frames: frames, Gain: gain * p.normGain(m)})
		c.parts = append(c.parts, partPlan{index: i, item: ref.Ref, key: ref.Key, planned: start.Add(at), length: audio.FramesToDuration(frames, p.cfg.Rate),
			capped: frames < m.Frames})
		c.frames += frames
		at += audio.FramesToDuration(frames, p.cfg.Rate)
	}
	if len(parts) == 0 {
		return
	}
	sf := p.earliest()
	c.startFrame = sf
	if err := p.eng.Play(audio.Clip{ID: c.id, Bus: audio.BusProgram, Start: sf, Source: audio.NewSequence(p.open, parts), FadeIn: int(p.frames(p.cfg.CutFade))}); err != nil {
		p.log.Error("audio engine refused the fallback", "err", err)
		return
	}
	p.clips[c.id] = c
	if o.End.Before(start.Add(at)) || at >= left {
		p.stopAt(c, o.End, p.cfg.EndFade, "cut")
	}
}

// RelayStatus is a relay's state, for health and status.
type RelayStatus struct {
	Program    string        `json:"program"`
	URL        string        `json:"url"`
	State      string        `json:"state"`
	FailingFor time.Duration `json:"failing_for_ns"`
	Buffer     time.Duration `json:"buffer_ns"`
	Fallback   bool          `json:"fallback"`
	Reason     string        `json:"reason,omitempty"`
	Title      string        `json:"title,omitempty"`
	// Via is which source plays (the city's re-stream, or direct).
	Via string `json:"via,omitempty"`
}

func (p *Player) relayStatus() []RelayStatus {
	var out []RelayStatus
	for _, r := range p.relays {
		st := r.src.Stats()
		rs := RelayStatus{Program: r.occ.Program.ID, URL: r.occ.Program.Relay, State: string(st.State),
			FailingFor: st.FailingFor, Buffer: st.BufferDepth, Fallback: r.fallback, Reason: r.reason, Title: st.Title}
		if v, ok := r.src.(interface{ Via() string }); ok {
			rs.Via = v.Via()
		}
		out = append(out, rs)
	}
	return out
}

// Close releases the relay streams (the daemon stopping).
func (p *Player) Close() {
	p.post(func() {
		for k, r := range p.relays {
			r.src.Close()
			delete(p.relays, k)
		}
	})
}
