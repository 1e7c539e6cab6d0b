package city

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"sort"
	"sync"
	"time"

	"loa/alert"
	"loa/city/api"
	"loa/natsbus"
)

// Live announcements: the city's announcer speaks into an Icecast mount
// (any source client: ffmpeg, BUTT, Mixxx) and the wards named relay that
// stream on their live bus, over their program (docs/alerts.md). The
// signed start is sent again every liveRepeat while it lasts, so a ward
// that connects late joins; a stop is sent a few times. Sessions live in
// memory: a city restarted meanwhile can still stop them (by id, or all).

const (
	liveRepeat  = 5 * time.Second
	liveDefault = 2 * time.Hour
)

type liveHub struct {
	mu       sync.Mutex
	sessions map[string]*liveSession
}

type liveSession struct {
	info     api.Live
	wire     []byte
	subjects []string
}

func (c *City) liveHub() *liveHub {
	c.liveOnce.Do(func() { c.live = &liveHub{sessions: map[string]*liveSession{}} })
	return c.live
}

// StartLive signs a live announcement and sends it to its wards.
func (c *City) StartLive(ctx context.Context, req api.NewLive, by string) (api.Live, error) {
	h := c.alerts
	if h == nil {
		return api.Live{}, ErrNoNATS
	}
	targets, err := alert.ParseTargets(req.To)
	if err != nil {
		return api.Live{}, badInput("to: %v", err)
	}
	now := c.Now().UTC().Truncate(time.Millisecond)
	life := liveDefault
	if req.ExpiresS != 0 {
		life = time.Duration(req.ExpiresS * float64(time.Second))
	}
	l := &alert.Live{ID: "live-" + c.newAlertID(now), Kind: alert.LiveStart, Issued: now, Expires: now.Add(life),
		Targets: targets, Stream: req.Stream, Mode: req.Mode, DuckDB: req.DuckDB, Title: req.Title}
	if l.Mode == "" {
		l.Mode = "duck"
	}
	if l.Mode == "duck" && l.DuckDB == 0 {
		l.DuckDB = -15
	}
	wards, recipients, err := c.resolveTargets(ctx, targets)
	if err != nil {
		return api.Live{}, err
	}
	l.Recipients = recipients
	if err := l.Check(); err != nil {
		return api.Live{}, badInput("%v", err)
	}
	if err := c.probeStream(ctx, l.Stream); err != nil {
		return api.Live{}, badInput("stream %s does not answer: %v", l.Stream, err)
	}
	wire, err := alert.SignLive(c.key, l)
	if err != nil {
		return api.Live{}, err
	}
	s := &liveSession{wire: wire, subjects: natsbus.LiveSubjects(targets.All, recipients),
		info: api.Live{ID: l.ID, To: targets.String(), Stream: l.Stream, Mode: l.Mode, DuckDB: l.DuckDB, Title: l.Title,
			Issued: l.Issued, Expires: l.Expires, Wards: len(wards), By: by}}
	hub := c.liveHub()
	hub.mu.Lock()
	hub.sessions[l.ID] = s
	hub.mu.Unlock()
	c.publishLive(s.subjects, wire)
	c.Log.Info("live announcement started", "live", l.ID, "to", s.info.To, "stream", l.Stream, "mode", l.Mode, "by", by)
	return s.info, nil
}

// StopLive ends live announcement id (alert.StopAll: whatever is on air).
func (c *City) StopLive(ctx context.Context, id, by string) error {
	h := c.alerts
	if h == nil {
		return ErrNoNATS
	}
	if id != alert.StopAll && !alert.ValidID(id) {
		return badInput("%q is not a live announcement id", id)
	}
	now := c.Now().UTC().Truncate(time.Millisecond)
	hub := c.liveHub()
	hub.mu.Lock()
	s := hub.sessions[id]
	delete(hub.sessions, id)
	if id == alert.StopAll {
		clear(hub.sessions)
	}
	hub.mu.Unlock()
	subjects := []string{natsbus.LiveAll}
	targets := alert.Targets{All: true}
	if s != nil {
		subjects = s.subjects
		targets, _ = alert.ParseTargets(s.info.To)
	}
	var recipients []string
	if !targets.All {
		_, recipients, _ = c.resolveTargets(ctx, targets)
	}
	stop := &alert.Live{ID: id, Kind: alert.LiveStop, Issued: now, Expires: now.Add(time.Hour), Targets: targets, Recipients: recipients}
	wire, err := alert.SignLive(c.key, stop)
	if err != nil {
		return err
	}
	// A few times: core NATS is best effort, and the stop matters.
	for i := 0; i < 3; i++ {
		c.publishLive(subjects, wire)
	}
	c.Log.Info("live announcement stopped", "live", id, "by", by)
	return nil
}

// ListLive lists the live announcements on air.
func (c *City) ListLive() []api.Live {
	hub := c.liveHub()
	hub.mu.Lock()
	defer hub.mu.Unlock()
	out := []api.Live{}
	for _, s := range hub.sessions {
		out = append(out, s.info)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Issued.Before(out[j].Issued) })
	return out
}

func (c *City) publishLive(subjects []string, wire []byte) {
	for _, s := range subjects {
		if err := c.alerts.link.Conn.Publish(s, wire); err != nil {
			c.Log.Warn("live announcement not published", "subject", s, "err", err)
		}
	}
}

// liveLoop sends every live announcement again while it lasts, and drops
// those that expired.
func (c *City) liveLoop(ctx context.Context) {
	t := time.NewTicker(liveRepeat)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := c.Now()
		hub := c.liveHub()
		hub.mu.Lock()
		var resend []*liveSession
		for id, s := range hub.sessions {
			if !now.Before(s.info.Expires) {
				delete(hub.sessions, id)
				continue
			}
			resend = append(resend, s)
		}
		hub.mu.Unlock()
		for _, s := range resend {
			c.publishLive(s.subjects, s.wire)
		}
	}
}

func (c *City) liveRoutes(h func(string, func(http.ResponseWriter, *http.Request, principal), ...string)) {
	h("POST /api/v1/live", c.postLive, "admin", "alerter", "operator")
	h("GET /api/v1/live", c.getLive, "admin", "alerter", "operator", "technician")
	h("DELETE /api/v1/live/{id}", c.deleteLive, "admin", "alerter", "operator")
}

func (c *City) postLive(w http.ResponseWriter, r *http.Request, p principal) {
	var req api.NewLive
	dec := json.NewDecoder(io.LimitReader(r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "body: %v", err)
		return
	}
	res, err := c.StartLive(r.Context(), req, p.name())
	if err != nil {
		c.liveFail(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, res)
}

func (c *City) getLive(w http.ResponseWriter, r *http.Request, p principal) {
	writeJSON(w, http.StatusOK, c.ListLive())
}

func (c *City) deleteLive(w http.ResponseWriter, r *http.Request, p principal) {
	if err := c.StopLive(r.Context(), r.PathValue("id"), p.name()); err != nil {
		c.liveFail(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (c *City) liveFail(w http.ResponseWriter, err error) {
	var bad *BadInputError
	switch {
	case errors.As(err, &bad):
		writeError(w, http.StatusBadRequest, "%v", err)
	case errors.Is(err, ErrNoNATS):
		writeError(w, http.StatusServiceUnavailable, "%v", err)
	default:
		writeError(w, http.StatusInternalServerError, "%v", err)
	}
}
