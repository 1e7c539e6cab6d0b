package console

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"loa/alert"
	"loa/city/api"
	"loa/internal/wsock"
)

// Live from the browser (Phát trực tiếp): the page records the official's
// microphone with MediaRecorder and sends the chunks over a WebSocket to
// /live/socket; the city transcodes them once and the chosen wards relay
// the result (city/livecast) as a live announcement started through the
// alerting service, exactly like POST /api/v1/live. A WebSocket rather
// than a streamed POST: browsers stream a request body only over HTTP/2,
// and the city may well serve HTTP/1.1 behind no proxy; a socket also
// carries the city's answers (on air, wards relaying) back on the same
// connection, and its end is the end of the broadcast.

// LiveStudio opens broadcasts from the browser (city/livecast).
type LiveStudio interface {
	// Begin starts transcoding a broadcast to req.To; base is the city's
	// URL as the wards reach it.
	Begin(ctx context.Context, base string, req api.NewLive, by string) (LiveBroadcast, error)
}

// LiveBroadcast is one browser's voice on its way to the wards.
type LiveBroadcast interface {
	Write(chunk []byte) (int, error)
	// Announce starts the live announcement once audio flows.
	Announce(ctx context.Context) (api.Live, error)
	// Relays is how many wards pull the stream now.
	Relays() int
	// Done is closed when the transcoder ended.
	Done() <-chan struct{}
	// End stops the announcement and the transcoder.
	End(ctx context.Context)
}

// liveRoles may speak to the wards (as POST /api/v1/live).
var liveRoles = []string{"admin", "alerter", "operator"}

// liveIdle ends a broadcast whose browser sent nothing for this long: a
// phone that lost its connection without closing it. MediaRecorder sends
// a chunk every 100 ms.
const liveIdle = 3 * time.Second

type liveTarget struct {
	Value, Label string
	Group        bool
}

type liveData struct {
	CanSpeak bool
	Wards    []liveTarget
	Groups   []liveTarget
	DuckDB   float64
}

func (c *Console) getLive(w http.ResponseWriter, r *http.Request, s *Session) {
	p := c.newPage(r, s, "live")
	d := liveData{CanSpeak: c.deps.Live != nil && slices.Contains(liveRoles, s.Role), DuckDB: -15}
	all, err := c.deps.Schedules.Wards(r.Context())
	if err != nil {
		c.internal(w, r, s, "live", err)
		return
	}
	wards := all
	// A scoped user is offered her wards, and only groups wholly hers.
	wards = scopedWards(s, wards)
	groups := map[string]bool{}
	for _, wd := range wards {
		label := wd.ID
		if wd.DisplayName != "" {
			label = wd.DisplayName + " (" + wd.ID + ")"
		}
		d.Wards = append(d.Wards, liveTarget{Value: wd.ID, Label: label})
		for _, g := range wd.Groups {
			groups[g] = true
		}
	}
	for _, g := range slices.Sorted(func(yield func(string) bool) {
		for g := range groups {
			if !yield(g) {
				return
			}
		}
	}) {
		if s.Scope.CityWide() || s.Scope.AllowsTarget("group:"+g, placesOf(all)) {
			d.Groups = append(d.Groups, liveTarget{Value: "group:" + g, Label: g, Group: true})
		}
	}
	p.Data = d
	w.Header().Set("Content-Security-Policy", "default-src 'self'; connect-src 'self'; media-src 'self' blob:; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
	c.render(w, r, http.StatusOK, "live", p)
}

// liveStart is the page's first message on the socket.
type liveStart struct {
	CSRF   string  `json:"csrf"`
	To     string  `json:"to"`
	Mode   string  `json:"mode"`
	DuckDB float64 `json:"duck_db"`
}

// liveEvent is what the city says on the socket.
type liveEvent struct {
	State  string `json:"state"` // starting | live | ended | error
	ID     string `json:"id,omitempty"`
	Relays int    `json:"relays"`
	Wards  int    `json:"wards,omitempty"`
	Error  string `json:"error,omitempty"`
}

// socketOrigin: a WebSocket is not covered by the same-origin policy, so
// the socket insists on the browser's Origin naming the city itself
// (cross-site WebSocket hijacking with the official's cookie).
func socketOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return false
	}
	u, err := url.Parse(o)
	if err != nil || u.Host != r.Host {
		return false
	}
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin":
		return true
	}
	return false
}

func (c *Console) getLiveSocket(w http.ResponseWriter, r *http.Request, s *Session) {
	l := langOf(r)
	if !socketOrigin(r) {
		c.deps.Log.Warn("console: refused a cross-site live socket", "user", s.User, "origin", r.Header.Get("Origin"), "from", clientIP(r))
		http.Error(w, T(l, "csrf"), http.StatusForbidden)
		return
	}
	if c.deps.Live == nil || !slices.Contains(liveRoles, s.Role) {
		http.Error(w, T(l, "live.forbidden"), http.StatusForbidden)
		return
	}
	ws, err := wsock.Upgrade(w, r)
	if err != nil {
		return
	}
	defer ws.Close()
	send := func(e liveEvent) {
		b, _ := json.Marshal(e)
		ws.WriteText(b)
	}
	fail := func(key string, args ...any) {
		send(liveEvent{State: "error", Error: fmt.Sprintf(T(l, key), args...)})
	}
	ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	op, msg, err := ws.ReadMessage()
	var start liveStart
	if err != nil || op != wsock.Text || json.Unmarshal(msg, &start) != nil {
		fail("live.bad")
		return
	}
	if !csrfOK(&http.Request{Header: http.Header{"X-Csrf-Token": {start.CSRF}}}, *s) {
		fail("csrf")
		return
	}
	if _, err := alert.ParseTargets(start.To); err != nil || start.To == "" {
		fail("live.bad.to")
		return
	}
	if !c.allowsTargets(r, s, start.To) {
		c.deps.Log.Warn("console: live refused outside the user's scope", "user", s.User, "to", start.To, "scope", s.Scope.String())
		fail("scope.refused")
		return
	}
	if start.Mode != "duck" && start.Mode != "exclusive" {
		fail("live.bad.mode")
		return
	}
	if start.Mode == "duck" && (start.DuckDB >= 0 || start.DuckDB < -60) {
		fail("live.bad.duck")
		return
	}
	if start.Mode == "exclusive" {
		start.DuckDB = 0
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	ctx := context.WithoutCancel(r.Context())
	b, err := c.deps.Live.Begin(ctx, scheme+"://"+r.Host, api.NewLive{To: start.To, Mode: start.Mode, DuckDB: start.DuckDB, Title: "Phát trực tiếp: " + s.User}, s.User)
	if err != nil {
		c.deps.Log.Error("console: live broadcast", "user", s.User, "err", err)
		fail("live.failed", err.Error())
		return
	}
	defer b.End(ctx)
	send(liveEvent{State: "starting"})

	// The socket's reader feeds the transcoder; everything else (on air,
	// relays, the end) is reported from here.
	type announced struct {
		live api.Live
		err  error
	}
	onAir := make(chan announced, 1)
	go func() {
		lv, err := b.Announce(ctx)
		onAir <- announced{lv, err}
	}()
	readErr := make(chan error, 1)
	stop := make(chan struct{})
	go func() {
		for {
			ws.SetReadDeadline(time.Now().Add(liveIdle))
			op, msg, err := ws.ReadMessage()
			if err != nil {
				readErr <- err
				return
			}
			if op == wsock.Text && strings.TrimSpace(string(msg)) == "stop" {
				close(stop)
				return
			}
			if op == wsock.Binary {
				if _, err := b.Write(msg); err != nil {
					readErr <- err
					return
				}
			}
		}
	}()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var live api.Live
	why := ""
	for why == "" {
		select {
		case a := <-onAir:
			if a.err != nil {
				c.deps.Log.Error("console: live announcement not started", "user", s.User, "err", a.err)
				fail("live.failed", a.err.Error())
				return
			}
			live = a.live
			c.record(r, s.User, "console live start", live.ID, fmt.Sprintf("to=%s mode=%s duck_db=%g", live.To, live.Mode, live.DuckDB))
			send(liveEvent{State: "live", ID: live.ID, Wards: live.Wards, Relays: b.Relays()})
		case <-tick.C:
			if live.ID != "" {
				send(liveEvent{State: "live", ID: live.ID, Wards: live.Wards, Relays: b.Relays()})
			}
		case <-stop:
			why = "stopped"
		case err := <-readErr:
			why = "connection lost"
			if errors.Is(err, wsock.ErrClosed) {
				why = "page closed"
			}
		case <-b.Done():
			why = "transcoder ended"
			fail("live.failed", "ffmpeg")
		}
	}
	// The stop is in the audit log before the wards hear it end, so whoever
	// sees the end finds who ended it and why.
	if live.ID != "" {
		c.record(r, s.User, "console live stop", live.ID, why)
	}
	b.End(ctx)
	c.deps.Log.Info("console: live broadcast ended", "user", s.User, "live", live.ID, "why", why)
	send(liveEvent{State: "ended", ID: live.ID})
}
