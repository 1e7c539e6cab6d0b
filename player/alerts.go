package player

import (
	"errors"
	"fmt"
	"time"

	"loa/audio"
	"loa/priority"
)

// AlertPriority is the level of an alert on the priority ladder: the
// ladder's own type (loa/priority), so that an alert keeps one level from
// the city's word to the bus it plays on.
type AlertPriority = priority.Level

const (
	// Urgent (80) waits for the current item to end, at most MaxWait.
	Urgent = priority.Urgent
	// Emergency (100) cuts everything within the output latency.
	Emergency = priority.Emergency
)

// Alert is an alert ready to play: its media are in the store.
type Alert struct {
	ID       string
	Title    string
	Priority AlertPriority
	Chime    string // media key of the chime; "" for none
	Content  string // media key of the content
	Repeat   int    // times the content is played (≥ 1)
	Gap      time.Duration
	Volume   int // 0–100 % of the master volume (0 means 100)
	// At is when the alert should start (the instant it arrived); zero
	// means as soon as possible.
	At      time.Time
	Expires time.Time // zero: never
	// Report, if set, is called (from the player's goroutine) when the
	// alert starts, ends (finished, cancelled) or cannot play (failed,
	// with why).
	Report func(AlertOutcome)
}

// AlertState is where an alert stands, as the player reports it.
type AlertState int

const (
	// AlertStarted: its first sample sounded.
	AlertStarted AlertState = iota + 1
	// AlertFinished: it played to its end.
	AlertFinished
	// AlertCancelled: CancelAlert stopped it, waiting or playing.
	AlertCancelled
	// AlertFailed: it could not play, or not to its end (Err says why).
	AlertFailed
)

func (s AlertState) String() string {
	switch s {
	case AlertStarted:
		return "started"
	case AlertFinished:
		return "finished"
	case AlertCancelled:
		return "cancelled"
	case AlertFailed:
		return "failed"
	}
	return fmt.Sprintf("AlertState(%d)", int(s))
}

// AlertOutcome is one report of what became of an alert: a typed value,
// so that the receiver never parses the player's words back.
type AlertOutcome struct {
	ID    string
	State AlertState
	// Err is why it failed (AlertFailed only): ErrAlertExpired,
	// ErrAlertCut, or the error of its media or of the output.
	Err error
	// At is when (zero: not known; the receiver takes its own clock).
	At time.Time
}

// Why an alert failed, besides the errors of its media and the output.
var (
	// ErrAlertExpired: it expired before it could play.
	ErrAlertExpired = errors.New("expired before it could play")
	// ErrAlertCut: it stopped before its end, neither cancelled nor
	// failing.
	ErrAlertCut = errors.New("cut")
)

type pendingAlert struct {
	Alert
	clip    *clip
	started bool
	done    bool
}

// PlayAlert queues an alert. Alerts of equal priority play in the order
// they arrive; an emergency cuts an urgent alert, which plays again, whole,
// after it.
func (p *Player) PlayAlert(a Alert) {
	if a.Repeat < 1 {
		a.Repeat = 1
	}
	if a.Volume <= 0 {
		a.Volume = 100
	}
	p.post(func() { p.alerts = append(p.alerts, &pendingAlert{Alert: a}) })
}

// CancelAlert stops an alert that is playing or waiting.
func (p *Player) CancelAlert(id string) {
	p.post(func() {
		for _, pa := range p.alerts {
			if pa.ID != id || pa.done {
				continue
			}
			if pa.clip != nil {
				p.stopNow(pa.clip, "cancelled")
				continue
			}
			pa.done = true
			p.report(pa, AlertOutcome{State: AlertCancelled})
			p.record(AsRun{Kind: "alert", Program: pa.ID, Title: pa.Title, Planned: pa.At, Result: "cancelled", Note: pa.Priority.String()})
		}
	})
}

func (p *Player) report(pa *pendingAlert, o AlertOutcome) {
	if pa.Report != nil {
		o.ID = pa.ID
		pa.Report(o)
	}
}

// reconcileAlerts starts the alerts that are waiting, in order.
func (p *Player) reconcileAlerts(now time.Time) {
	pos := p.earliest()
	kept := p.alerts[:0]
	for _, pa := range p.alerts {
		if !pa.done {
			kept = append(kept, pa)
		}
	}
	clear(p.alerts[len(kept):])
	p.alerts = kept

	for _, pa := range p.alerts {
		if pa.clip != nil {
			continue
		}
		if !pa.Expires.IsZero() && !now.Before(pa.Expires) {
			pa.done = true
			p.report(pa, AlertOutcome{State: AlertFailed, Err: ErrAlertExpired, At: now})
			p.record(AsRun{Kind: "alert", Program: pa.ID, Title: pa.Title, Planned: pa.At, Result: "failed: " + ErrAlertExpired.Error()})
			continue
		}
		sf := pos
		if !pa.At.IsZero() {
			if f, ok := p.tm.FrameAt(pa.At); ok {
				sf = max(sf, f)
			}
		}
		// A test tone never covers nor delays a warning: it ends where an
		// emergency starts, to the sample, and as an urgent alert arrives
		// (the urgent one then waits for the program's item, as always).
		arrived := sf
		if pa.Priority == Emergency {
			sf = max(sf, p.busFreeAt(audio.BusEmergency))
			p.preemptUrgent(sf)
			arrived = sf
		} else {
			sf = max(sf, p.busFreeAt(audio.BusEmergency), p.busFreeAt(audio.BusUrgent))
			sf = p.afterCurrentItem(sf, pa)
		}
		p.startAlert(pa, sf)
		if pa.clip != nil {
			p.cutGenerated(arrived, "", "cắt bởi cảnh báo / cut by alert "+pa.ID)
		}
	}
}

// busFreeAt is the frame at which the alerts queued on bus will have ended.
func (p *Player) busFreeAt(bus audio.Bus) int64 {
	var end int64
	for _, c := range p.clips {
		if c.bus == bus && !c.ended && !c.stopping {
			end = max(end, c.startFrame+c.frames)
		}
	}
	return end
}

// afterCurrentItem delays an urgent alert to the end of the program item on
// air at frame sf, at most MaxWait after the alert arrived.
func (p *Player) afterCurrentItem(sf int64, pa *pendingAlert) int64 {
	at := p.tm.TimeAt(sf)
	limit := at.Add(p.cfg.MaxWait)
	if !pa.At.IsZero() {
		limit = pa.At.Add(p.cfg.MaxWait)
	}
	for _, c := range p.clips {
		if c.kind != "program" || c.ended || c.stopping {
			continue
		}
		for _, pp := range c.parts {
			start := pp.planned
			end := pp.planned.Add(pp.length)
			if c.detached {
				continue
			}
			if !at.Before(start) && at.Before(end) {
				if end.After(limit) {
					end = limit
				}
				f, _ := p.tm.FrameAt(end)
				return max(sf, f)
			}
		}
	}
	return sf
}

// preemptUrgent cuts urgent alerts sounding at or after frame sf; they play
// again after the emergency.
func (p *Player) preemptUrgent(sf int64) {
	for _, c := range p.clips {
		if c.bus != audio.BusUrgent || c.ended || c.stopping || c.alert == nil {
			continue
		}
		if c.startFrame+c.frames <= sf {
			continue
		}
		c.stopping = true
		c.stopReason = "requeued"
		p.eng.Stop(c.id, sf, int(p.frames(p.cfg.CutFade)))
		pa := c.alert
		pa.clip = nil
		c.alert = nil
		p.record(AsRun{Kind: "alert", Program: pa.ID, Title: pa.Title, Planned: pa.At, Result: "interrupted", Note: "cut by an emergency alert; plays again after it"})
	}
}

func (p *Player) startAlert(pa *pendingAlert, sf int64) {
	gain := VolumeGain(pa.Volume)
	var parts []audio.Part
	add := func(key string) error {
		m, err := p.media.Lookup(key)
		if err != nil {
			return err
		}
		parts = append(parts, audio.Part{Index: len(parts), Path: m.Path, Frames: m.Frames, Gain: gain * p.normGain(m)})
		return nil
	}
	var err error
	if pa.Chime != "" {
		err = add(pa.Chime)
	}
	for i := 0; i < pa.Repeat && err == nil; i++ {
		if i > 0 && pa.Gap > 0 {
			parts = append(parts, audio.Part{Index: len(parts), Frames: p.frames(pa.Gap)})
		}
		err = add(pa.Content)
	}
	if err != nil {
		pa.done = true
		reason := "failed: " + err.Error()
		p.log.Error("alert cannot play", "alert", pa.ID, "err", err)
		p.report(pa, AlertOutcome{State: AlertFailed, Err: err})
		p.record(AsRun{Kind: "alert", Program: pa.ID, Title: pa.Title, Planned: pa.At, Result: reason})
		return
	}
	bus := audio.BusUrgent
	if pa.Priority == Emergency {
		bus = audio.BusEmergency
	}
	c := &clip{id: p.newID(), kind: "alert", bus: bus, startFrame: sf, cur: -1, alert: pa, mutes: true}
	for _, pt := range parts {
		c.frames += pt.Frames
	}
	seq := audio.NewSequence(p.open, parts)
	if err := p.eng.Play(audio.Clip{ID: c.id, Bus: bus, Start: sf, Source: seq, Mute: true, DuckRamp: int(p.frames(p.cfg.CutFade))}); err != nil {
		p.log.Error("audio engine refused an alert", "alert", pa.ID, "err", err)
		return
	}
	pa.clip = c
	p.clips[c.id] = c
	p.log.Info("alert queued", "alert", pa.ID, "priority", pa.Priority.String(), "starts_in", p.tm.TimeAt(sf).Sub(p.tm.TimeAt(p.earliest())).Round(time.Millisecond))
}

func (p *Player) alertEnded(c *clip, ev audio.Event) {
	pa := c.alert
	if pa == nil {
		return
	}
	end := p.tm.TimeAt(ev.Frame)
	result, out := "completed", AlertOutcome{State: AlertFinished, At: end}
	switch {
	case c.stopReason == "cancelled":
		result, out.State = "cancelled", AlertCancelled
	case ev.Err != nil:
		result, out.State, out.Err = "failed: "+ev.Err.Error(), AlertFailed, ev.Err
	case !ev.Completed:
		result, out.State, out.Err = "cut", AlertFailed, ErrAlertCut
	}
	pa.done = true
	p.report(pa, out)
	e := AsRun{Kind: "alert", Program: pa.ID, Title: pa.Title, Planned: pa.At, Actual: p.tm.TimeAt(c.actual), End: end, Result: result,
		Note: fmt.Sprintf("%s, %d×", pa.Priority, pa.Repeat)}
	if pa.At.IsZero() {
		e.Planned = e.Actual
	}
	p.record(e)
}
