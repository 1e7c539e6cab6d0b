package player

import (
	"time"
)

// Status is what the player is doing, for health checks and status pages.
type Status struct {
	At           time.Time `json:"at"`
	ClockTrusted bool      `json:"clock_trusted"`
	Program      *OnAir    `json:"program,omitempty"`
	Alert        *OnAir    `json:"alert,omitempty"`
	// Scheduled is true when the schedule has a program on air now (whether
	// or not it sounds: the difference is what silence detection reports).
	Scheduled bool          `json:"scheduled"`
	Steps     int64         `json:"steps"`
	Relays    []RelayStatus `json:"relays,omitempty"`
	Live      *OnAir        `json:"live,omitempty"`
	// AlertsPending counts the alerts queued or on air, not ended (the
	// amplifier powers up for them).
	AlertsPending int `json:"alerts_pending,omitempty"`
	// Test is a generated clip on air (the technician's test tone).
	Test *OnAir `json:"test,omitempty"`
	// Busy is true while the player has anything on air or queued (clips,
	// alerts waiting, a live voice, relay streams open).
	Busy bool `json:"busy"`
}

// OnAir describes the clip on air.
type OnAir struct {
	Kind       string        `json:"kind"`
	ID         string        `json:"id"`
	Title      string        `json:"title,omitempty"`
	Source     string        `json:"source,omitempty"`
	Item       string        `json:"item,omitempty"`
	Part       int           `json:"part"`
	Start      time.Time     `json:"start"`
	End        time.Time     `json:"end,omitempty"`
	Offset     time.Duration `json:"offset_ns"`
	ItemOffset time.Duration `json:"item_offset_ns"`
	// Joined: the station came to this program after its start (it
	// started, got the program or trusted its clock only then): not a
	// late start of a running station.
	Joined bool `json:"joined,omitempty"`
}

// Status returns the latest status (safe from any goroutine).
func (p *Player) Status() Status { return *p.status.Load() }

func (p *Player) publish(now time.Time) {
	st := &Status{At: now, ClockTrusted: p.trusted, Steps: p.lastSteps + 1, Relays: p.relayStatus(),
		Busy: len(p.clips) > 0 || len(p.alerts) > 0 || p.live != nil || len(p.relays) > 0}
	for _, pa := range p.alerts {
		if !pa.done {
			st.AlertsPending++
		}
	}
	if p.sched != nil && p.trusted {
		_, _, st.Scheduled = p.sched.At(now)
	}
	for _, c := range p.sortedClips() {
		if !c.started || c.ended {
			continue
		}
		oa := &OnAir{Kind: c.kind, Part: -1}
		switch c.kind {
		case "program", "fallback":
			oa.ID, oa.Title, oa.Source = c.occ.Program.ID, c.occ.Program.Title, c.occ.Source
			oa.Joined = c.joined
			oa.Start, oa.End = c.occ.Start, c.occ.End
			oa.Offset = now.Sub(c.occ.Start)
			if c.cur >= 0 {
				pp := c.parts[c.cur]
				oa.Item, oa.Part = pp.item, pp.index
				oa.ItemOffset = pp.joined + now.Sub(p.tm.TimeAt(c.curFrame))
			}
			if oa.Offset < 0 {
				continue // queued, not heard yet
			}
			st.Program = oa
		case "live":
			if c.live == nil {
				continue
			}
			oa.ID, oa.Title = c.live.ID, c.live.Title
			oa.Start = p.tm.TimeAt(c.actual)
			oa.Offset = now.Sub(oa.Start)
			st.Live = oa
		case "generated":
			oa.Kind, oa.ID, oa.Title = c.gen.Kind, c.gen.ID, c.gen.Title
			oa.Start = p.tm.TimeAt(c.actual)
			oa.Offset = now.Sub(oa.Start)
			st.Test = oa
		case "alert":
			if c.alert == nil {
				continue
			}
			oa.ID, oa.Title = c.alert.ID, c.alert.Title
			oa.Start = p.tm.TimeAt(c.actual)
			if now.Before(oa.Start) {
				continue
			}
			oa.Offset = now.Sub(oa.Start)
			st.Alert = oa
		}
	}
	p.status.Store(st)

	p.useMu.Lock()
	clear(p.inUse)
	for _, c := range p.clips {
		for _, pp := range c.parts {
			if pp.key != "" {
				p.inUse[pp.key] = true
			}
		}
		if c.alert != nil {
			p.inUse[c.alert.Content] = true
			if c.alert.Chime != "" {
				p.inUse[c.alert.Chime] = true
			}
		}
	}
	for _, pa := range p.alerts {
		p.inUse[pa.Content] = true
	}
	p.useMu.Unlock()
}

// InUse reports whether media key is part of a clip the player has given
// the engine (safe from any goroutine).
func (p *Player) InUse(key string) bool {
	p.useMu.Lock()
	defer p.useMu.Unlock()
	return p.inUse[key]
}
