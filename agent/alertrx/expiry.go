package alertrx

import (
	"context"
	"fmt"
	"time"

	"loa/alert"
	"loa/priority"
)

// expiryInput is what the expiry decision of a verified alert looks at.
type expiryInput struct {
	Priority        alert.Priority
	Issued, Expires time.Time // signed by the city
	// Station is the station's clock when the alert is judged, Clock how
	// far it is trusted.
	Station time.Time
	Clock   StationClock
	// Server is the clock of the NATS server that delivered the alert,
	// asked at that moment (zero: it could not be asked). It is the city's
	// side, but not the HTTP time the station may have been set from.
	Server time.Time
}

// expiryVerdict is the decision: refused as expired, or played until
// Deadline on the station's clock.
type expiryVerdict struct {
	Expired  bool
	Deadline time.Time
	// Why says which clocks decided (for the log and the report).
	Why string
}

// alertExpired is the expiry rule (docs/alerts.md, "Expiry and the
// station's clock"). An urgent alert is refused once its expiry is past by
// the station's clock. A verified emergency alert is refused as expired
// only when
//
//  1. the station's clock says it has expired, and
//  2. the NATS server that delivered it says so too, by its own clock
//     asked at that moment; when the server cannot be asked, only a
//     station clock trusted independently of the city (NTP, or
//     `clock: trust`) may refuse it.
//
// So an emergency alert is never dropped on an untrusted or city-set
// clock alone: a time answer forged or a city clock gone wrong that moved
// the station's clock cannot silence a warning. One that has expired by
// both clocks (a ward back after days offline) is still refused. When an
// emergency alert is played although the station's clock says it has
// expired, its deadline on the station's clock is what is left of its life
// by the clock that judged it alive: Expires − Server, or its whole life
// (Expires − Issued) when the server could not be asked.
func alertExpired(in expiryInput) expiryVerdict {
	if in.Station.Before(in.Expires) {
		return expiryVerdict{Deadline: in.Expires}
	}
	late := in.Station.Sub(in.Expires).Round(time.Second)
	byStation := fmt.Sprintf("expired %s ago (at %s) by the station's clock (%s)", late, in.Expires.Format(time.RFC3339), clockWords(in.Clock))
	if in.Priority.Level() != priority.Emergency {
		return expiryVerdict{Expired: true, Why: byStation}
	}
	switch {
	case !in.Server.IsZero() && !in.Server.Before(in.Expires):
		return expiryVerdict{Expired: true, Why: byStation + fmt.Sprintf(" and %s ago by the NATS server's clock",
			in.Server.Sub(in.Expires).Round(time.Second))}
	case !in.Server.IsZero():
		return expiryVerdict{Deadline: in.Station.Add(in.Expires.Sub(in.Server)),
			Why: byStation + fmt.Sprintf(", but live for %s more by the NATS server's clock: played", in.Expires.Sub(in.Server).Round(time.Second))}
	case in.Clock.Independent():
		return expiryVerdict{Expired: true, Why: byStation + " (the NATS server's clock could not be asked)"}
	}
	life := in.Expires.Sub(in.Issued)
	return expiryVerdict{Deadline: in.Station.Add(life),
		Why: byStation + ", which is not trusted independently of the city, and the NATS server's clock could not be asked: played, for its whole life (" + life.String() + ")"}
}

// StationClock is what the expiry rule needs to know of the station's
// clock: whether it is trusted, and from what (ntp | config | city | none).
// The agent's clock state (agent.ClockState) is the source of it.
type StationClock struct {
	Trusted bool
	Source  string
}

// Independent reports whether the clock is trusted from something other
// than the city (NTP, or `clock: trust`): the one kind of clock an alert
// may be refused as expired on (see alertExpired).
func (c StationClock) Independent() bool {
	return c.Trusted && (c.Source == "ntp" || c.Source == "config")
}

func clockWords(c StationClock) string {
	switch {
	case !c.Trusted:
		return "not trusted"
	case c.Source == "city":
		return "set from the city"
	}
	return "trusted, " + c.Source
}

// judgeExpiry applies alertExpired to a, asking the NATS server for its
// clock only when the station's clock says the alert has expired and it is
// an emergency (one request on the link that just delivered it).
func (r *Receiver) judgeExpiry(ctx context.Context, a *alert.Alert, now time.Time) expiryVerdict {
	in := expiryInput{Priority: a.Priority, Issued: a.Issued, Expires: a.Expires, Station: now,
		Clock: StationClock{Trusted: true, Source: "config"}}
	if r.cfg.Clock != nil {
		in.Clock = r.cfg.Clock()
	}
	if !now.Before(a.Expires) && a.Priority.Level() == priority.Emergency {
		if st := r.serverTime(); st != nil {
			sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			t, err := st(sctx)
			cancel()
			if err != nil {
				r.log.Warn("the NATS server's clock could not be asked", "alert", a.ID, "err", err)
			}
			in.Server = t
		}
	}
	v := alertExpired(in)
	if !v.Expired && v.Why != "" {
		r.log.Warn("emergency alert played although the station's clock says it has expired", "alert", a.ID, "why", v.Why)
	}
	return v
}

// serverTime is how the receiver asks the NATS server for its clock
// (Config.ServerTime, else the link's, set by Run); nil: it cannot.
func (r *Receiver) serverTime() func(context.Context) (time.Time, error) {
	if r.cfg.ServerTime != nil {
		return r.cfg.ServerTime
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.linkTime
}
