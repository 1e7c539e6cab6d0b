package fleet

import (
	"fmt"
	"sort"
	"time"
)

// Identity alarms: what tells the city that a ward's credentials are used
// by someone else, or that what is said in its name cannot be believed.
// Each is held on the ward's board entry for AlarmHold after it was last
// raised, as a problem of state Identity (identity!).
const (
	// AlarmDuplicateLogin: a second live NATS login with the ward's key.
	AlarmDuplicateLogin = "duplicate_login"
	// AlarmForged: a receipt or as-run line on the ward's subject that is
	// unsigned, or not signed by the ward's registered key.
	AlarmForged = "forged"
	// AlarmContradiction: the ward's receipts contradict its heartbeats.
	AlarmContradiction = "contradiction"
	// AlarmTwoInstances: heartbeats from two running agents as one ward.
	AlarmTwoInstances = "two_instances"
	// AlarmKeyConflict: a second receipt key offered for the ward.
	AlarmKeyConflict = "key_conflict"
)

// AlarmHold is how long an identity alarm stays on the board after it was
// last raised.
const AlarmHold = time.Hour

type alarm struct {
	detail string
	until  time.Time
}

// beatMark is what the contradiction check keeps of a heartbeat.
type beatMark struct {
	sent  int64  // ward clock, unix ms
	alert string // the alert on air ("": none)
}

// identity is a ward entry's identity bookkeeping.
type identity struct {
	alarms map[string]alarm
	beats  [32]beatMark // the latest heartbeats, a ring
	nbeats int
	// started: alert → its started receipt's time (ward clock, unix ms).
	started map[string]int64
	// lastReceipt is when the latest receipt was stored by the bus; it is
	// judged against the heartbeats once a window has passed.
	lastReceipt time.Time
	// procStart, prevStart: when the agent sending the heartbeats started
	// (ward clock, unix s), and the one before it.
	procStart, prevStart int64
}

// Flag raises an identity alarm of kind on ward at now, with detail in
// the technicians' words; raising it again renews it.
func (b *Board) Flag(ward, kind, detail string, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	e := b.entry(ward)
	b.flag(e, kind, detail, now)
	b.evaluate(ward, e, now)
}

func (b *Board) flag(e *wardEntry, kind, detail string, now time.Time) {
	if e.id.alarms == nil {
		e.id.alarms = map[string]alarm{}
	}
	e.id.alarms[kind] = alarm{detail: detail, until: now.Add(AlarmHold)}
}

// activeAlarms are the alarms held at now, in a stable order; expired ones
// are dropped.
func (e *wardEntry) activeAlarms(now time.Time) []Problem {
	if len(e.id.alarms) == 0 {
		return nil
	}
	kinds := make([]string, 0, len(e.id.alarms))
	for k, a := range e.id.alarms {
		if now.After(a.until) {
			delete(e.id.alarms, k)
			continue
		}
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	ps := make([]Problem, len(kinds))
	for i, k := range kinds {
		ps[i] = Problem{Identity, e.id.alarms[k].detail}
	}
	return ps
}

// noteBeat keeps what the contradiction check needs of a heartbeat, and
// spots two agents sending as one ward: each heartbeat says when its agent
// started (sent − uptime); one agent keeps one start, a restart moves it
// on for good, two agents make it go back to a start seen before.
func (b *Board) noteBeat(e *wardEntry, hb *Heartbeat, now time.Time) {
	m := beatMark{sent: hb.Sent}
	if hb.OnAir != nil && hb.OnAir.Kind == "alert" {
		m.alert = hb.OnAir.ID
	}
	e.id.beats[e.id.nbeats%len(e.id.beats)] = m
	e.id.nbeats++
	start := hb.Sent/1000 - hb.Uptime
	const slack = 2 // seconds: the send time's rounding and a small clock step
	if e.id.procStart != 0 && abs64(start-e.id.procStart) > slack {
		if e.id.prevStart != 0 && abs64(start-e.id.prevStart) <= slack {
			b.flag(e, AlarmTwoInstances, fmt.Sprintf("hai trạm cùng gửi tín hiệu / heartbeats from two running agents (started %s and %s by the ward's clock)",
				time.Unix(start, 0).Format("02/01 15:04:05"), time.Unix(e.id.procStart, 0).Format("02/01 15:04:05")), now)
		}
		e.id.prevStart = e.id.procStart
	}
	e.id.procStart = start
}

func abs64(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

// Receipt tells the board of a receipt the ward sent (a verified one:
// forged receipts are refused before): state for alert at at (the ward's
// clock). stored is when the bus stored it (the city's clock), zero when
// it cannot be judged against heartbeats (stored before the city started:
// the heartbeats of that time were not seen).
//
// Two contradictions are flagged:
//   - a "finished" alert whose heartbeats, while it was said to be on air,
//     never showed it (at least two heartbeats in that span, none with the
//     alert): a receipt for something that did not play;
//   - receipts while the ward sends no heartbeats: both go over the ward's
//     one NATS connection, so a ward that can send one can send the other.
func (b *Board) Receipt(ward, alert, state string, at, stored, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	e := b.entry(ward)
	switch state {
	case "started":
		if e.id.started == nil {
			e.id.started = map[string]int64{}
		}
		if len(e.id.started) >= 64 {
			clear(e.id.started)
		}
		e.id.started[alert] = at.UnixMilli()
	case "finished":
		s, ok := e.id.started[alert]
		delete(e.id.started, alert)
		if ok {
			b.checkOnAir(e, alert, s, at.UnixMilli(), now)
		}
	}
	if !stored.IsZero() && stored.After(e.id.lastReceipt) {
		e.id.lastReceipt = stored
	}
	b.evaluate(ward, e, now)
}

// checkOnAir flags a finished alert the heartbeats did not see on air
// between from and to (ward clock, ms). The first and last heartbeat
// interval are left out: a heartbeat just before the start or just after
// the end rightly shows something else.
func (b *Board) checkOnAir(e *wardEntry, alert string, from, to int64, now time.Time) {
	every := int64(b.defaultEvery / time.Millisecond)
	if e.hb != nil && e.hb.Every > 0 {
		every = int64(e.hb.Every * 1000)
	}
	lo, hi := from+every, to-every
	n, seen := 0, false
	for i := 0; i < min(e.id.nbeats, len(e.id.beats)); i++ {
		m := e.id.beats[i]
		if m.sent < lo || m.sent > hi {
			continue
		}
		n++
		seen = seen || m.alert == alert
	}
	if n >= 2 && !seen {
		b.flag(e, AlarmContradiction, fmt.Sprintf("báo nhận mâu thuẫn / receipts contradict heartbeats: alert %s reported on air %s–%s, %d heartbeats then showed no alert",
			alert, time.UnixMilli(from).Format("15:04:05"), time.UnixMilli(to).Format("15:04:05"), n), now)
	}
}

// checkReceipts flags a receipt stored while the ward sent no heartbeat:
// judged once a whole offline window has passed after it, so that a
// heartbeat just behind it clears it.
func (b *Board) checkReceipts(e *wardEntry, now time.Time) {
	r := e.id.lastReceipt
	if r.IsZero() {
		return
	}
	every := b.defaultEvery
	if e.hb != nil && e.hb.Every > 0 {
		every = time.Duration(e.hb.Every * float64(time.Second))
	}
	win := b.th.OfflineWindow(every)
	if now.Sub(r) < win {
		return
	}
	e.id.lastReceipt = time.Time{}
	if e.lastSeen.IsZero() || r.Sub(e.lastSeen) > win {
		last := "never"
		if !e.lastSeen.IsZero() {
			last = e.lastSeen.Format("15:04:05")
		}
		b.flag(e, AlarmContradiction, fmt.Sprintf("báo nhận mâu thuẫn / receipts contradict heartbeats: a receipt at %s while the ward sent no heartbeat (last %s)",
			r.Format("15:04:05"), last), now)
	}
}
