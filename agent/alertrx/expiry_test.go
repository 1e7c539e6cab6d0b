package alertrx

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"loa/alert"
)

// The expiry rule on virtual time: an emergency alert is refused as
// expired only by the station's clock and the NATS server's together, or by
// an independently trusted station clock when the server cannot be asked.
func TestAlertExpiredRule(t *testing.T) {
	issued := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	expires := issued.Add(30 * time.Minute)
	ntp := StationClock{Trusted: true, Source: "ntp"}
	city := StationClock{Trusted: true, Source: "city"}
	untrusted := StationClock{Source: "none"}
	fwd := issued.Add(25 * time.Hour) // a station clock pushed 25 h ahead
	cases := []struct {
		name     string
		prio     alert.Priority
		station  time.Time
		clock    StationClock
		server   time.Time
		expired  bool
		deadline time.Time
	}{
		{"live by the station", alert.Emergency, issued.Add(time.Minute), ntp, time.Time{}, false, expires},
		{"urgent, expired by the station", alert.Urgent, fwd, city, issued.Add(time.Minute), true, time.Time{}},
		{"city clock +25h, server live", alert.Emergency, fwd, city, issued.Add(time.Minute), false, fwd.Add(29 * time.Minute)},
		{"city clock +25h, no server", alert.Emergency, fwd, city, time.Time{}, false, fwd.Add(30 * time.Minute)},
		{"untrusted +25h, no server", alert.Emergency, fwd, untrusted, time.Time{}, false, fwd.Add(30 * time.Minute)},
		{"ntp +25h (NTP forged), server live", alert.Emergency, fwd, ntp, issued.Add(time.Minute), false, fwd.Add(29 * time.Minute)},
		{"ntp, expired, no server", alert.Emergency, fwd, ntp, time.Time{}, true, time.Time{}},
		{"back after 2 days: both expired", alert.Emergency, issued.Add(48 * time.Hour), city, issued.Add(48 * time.Hour), true, time.Time{}},
		{"both expired, ntp", alert.Emergency, issued.Add(48 * time.Hour), ntp, issued.Add(48 * time.Hour), true, time.Time{}},
		{"expired at the very instant", alert.Emergency, expires, ntp, expires, true, time.Time{}},
	}
	for _, c := range cases {
		v := alertExpired(expiryInput{Priority: c.prio, Issued: issued, Expires: expires, Station: c.station, Clock: c.clock, Server: c.server})
		if v.Expired != c.expired || (!c.expired && !v.Deadline.Equal(c.deadline)) {
			t.Errorf("%s: expired %v deadline %s (%s), want %v %s", c.name, v.Expired, v.Deadline, v.Why, c.expired, c.deadline)
		}
		if v.Expired && !strings.Contains(v.Why, "expired") {
			t.Errorf("%s: why %q", c.name, v.Why)
		}
	}
}

// Through the receiver: with the station's clock set 25 h ahead from the
// city, a signed emergency alert issued now plays, until what is left of
// its life by the NATS server's clock; an urgent one is refused; one the
// server also finds expired is refused.
func TestAlertReceiverExpiryOnAWrongClock(t *testing.T) {
	e := newRxEnv(t)
	real := e.now
	server := real
	var serverErr error
	e.rx.cfg.Clock = func() StationClock { return StationClock{Trusted: true, Source: "city"} }
	e.rx.cfg.ServerTime = func(context.Context) (time.Time, error) { return server, serverErr }
	// Alerts issued now by the real clock, for 30 min.
	fresh, urgent, noServer, old := e.alert("cb-fresh"), e.alert("cb-urgent"), e.alert("cb-no-server"), e.alert("cb-old")
	urgent.Priority = alert.Urgent
	e.now = real.Add(25 * time.Hour) // the station's clock

	e.handle(e.sign(fresh), 1)
	if got := e.pl.ids(); len(got) != 1 || got[0] != "cb-fresh" {
		t.Fatalf("played %v, want the emergency alert", got)
	}
	e.pl.mu.Lock()
	pa := e.pl.played[0]
	e.pl.mu.Unlock()
	if want := e.now.Add(30 * time.Minute); !pa.Expires.Equal(want) {
		t.Fatalf("player deadline %s, want %s (station clock + life left by the server)", pa.Expires, want)
	}
	e.handle(e.sign(urgent), 2)
	if r := e.lastReport(); r.Alert != "cb-urgent" || r.Reason != alert.ReasonExpired {
		t.Fatalf("urgent alert on a clock that says expired: %+v", r)
	}

	// The server cannot be asked: the city-set clock alone does not refuse.
	serverErr, server = errors.New("link down"), time.Time{}
	e.handle(e.sign(noServer), 3)
	if got := e.pl.ids(); len(got) != 2 {
		t.Fatalf("played %v: the city-set clock alone refused an emergency alert", got)
	}

	// Expired by both clocks (a ward back after a day offline): refused.
	serverErr, server = nil, real.Add(25*time.Hour)
	e.handle(e.sign(old), 4)
	if r := e.lastReport(); r.Alert != "cb-old" || r.Reason != alert.ReasonExpired || len(e.pl.ids()) != 2 {
		t.Fatalf("expired by both clocks: %+v, played %v", r, e.pl.ids())
	}
}
