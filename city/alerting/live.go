package alerting

import (
	"context"
	"sort"
	"sync"
	"time"

	"loa/alert"
	"loa/city/api"
	"loa/internal/cmdkit"
)

// Live announcements: the city's announcer speaks into an Icecast mount
// (any source client: ffmpeg, BUTT, Mixxx) and the wards named relay that
// stream on their live bus, over their program (docs/alerts.md). The
// signed start is sent again every LiveRepeat while it lasts, so a ward
// that connects late joins; a stop is sent a few times. Sessions live in
// memory: a city restarted meanwhile can still stop them (by id, or all).

const (
	// LiveRepeat is how often a live announcement's start is sent again.
	LiveRepeat  = 5 * time.Second
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

// StartLive signs a live announcement and sends it to its wards.
func (s *Service) StartLive(ctx context.Context, req api.NewLive, by string) (api.Live, error) {
	pub := s.publisher()
	if pub == nil {
		return api.Live{}, ErrNoNATS
	}
	targets, err := alert.ParseTargets(req.To)
	if err != nil {
		return api.Live{}, badInput("to: %v", err)
	}
	now := s.now().UTC().Truncate(time.Millisecond)
	life := liveDefault
	if req.ExpiresS != 0 {
		life = time.Duration(req.ExpiresS * float64(time.Second))
	}
	l := &alert.Live{ID: "live-" + s.newAlertID(now), Kind: alert.LiveStart, Issued: now, Expires: now.Add(life),
		Targets: targets, Stream: req.Stream, Mode: req.Mode, DuckDB: req.DuckDB, Title: req.Title}
	if l.Mode == "" {
		l.Mode = "duck"
	}
	if l.Mode == "duck" && l.DuckDB == 0 {
		l.DuckDB = cmdkit.DefaultDuckDB
	}
	wards, recipients, err := s.resolveTargets(ctx, targets)
	if err != nil {
		return api.Live{}, err
	}
	l.Recipients = recipients
	if err := l.Check(); err != nil {
		return api.Live{}, badInput("%v", err)
	}
	if err := s.streams.ProbeStream(ctx, l.Stream); err != nil {
		return api.Live{}, badInput("stream %s does not answer: %v", l.Stream, err)
	}
	wire, err := alert.SignLive(s.key, l)
	if err != nil {
		return api.Live{}, err
	}
	ls := &liveSession{wire: wire, subjects: pub.LiveSubjects(targets, recipients),
		info: api.Live{ID: l.ID, To: targets.String(), Stream: l.Stream, Mode: l.Mode, DuckDB: l.DuckDB, Title: l.Title,
			Issued: l.Issued, Expires: l.Expires, Wards: len(wards), By: by}}
	hub := &s.live
	hub.mu.Lock()
	hub.sessions[l.ID] = ls
	hub.mu.Unlock()
	s.announce(pub, ls.subjects, wire)
	s.log.Info("live announcement started", "live", l.ID, "to", ls.info.To, "stream", l.Stream, "mode", l.Mode, "by", by)
	return ls.info, nil
}

// StopLive ends live announcement id (alert.StopAll: whatever is on air).
func (s *Service) StopLive(ctx context.Context, id, by string) error {
	pub := s.publisher()
	if pub == nil {
		return ErrNoNATS
	}
	if id != alert.StopAll && !alert.ValidID(id) {
		return badInput("%q is not a live announcement id", id)
	}
	now := s.now().UTC().Truncate(time.Millisecond)
	hub := &s.live
	hub.mu.Lock()
	ls := hub.sessions[id]
	delete(hub.sessions, id)
	if id == alert.StopAll {
		clear(hub.sessions)
	}
	hub.mu.Unlock()
	targets := alert.Targets{All: true}
	var subjects []string
	if ls != nil {
		subjects = ls.subjects
		targets, _ = alert.ParseTargets(ls.info.To)
	} else {
		subjects = pub.LiveSubjects(targets, nil)
	}
	var recipients []string
	if !targets.All {
		_, recipients, _ = s.resolveTargets(ctx, targets)
	}
	stop := &alert.Live{ID: id, Kind: alert.LiveStop, Issued: now, Expires: now.Add(time.Hour), Targets: targets, Recipients: recipients}
	wire, err := alert.SignLive(s.key, stop)
	if err != nil {
		return err
	}
	// A few times: core NATS is best effort, and the stop matters.
	for i := 0; i < 3; i++ {
		s.announce(pub, subjects, wire)
	}
	s.log.Info("live announcement stopped", "live", id, "by", by)
	return nil
}

// ListLive lists the live announcements on air.
func (s *Service) ListLive() []api.Live {
	hub := &s.live
	hub.mu.Lock()
	defer hub.mu.Unlock()
	out := []api.Live{}
	for _, ls := range hub.sessions {
		out = append(out, ls.info)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Issued.Before(out[j].Issued) })
	return out
}

func (s *Service) announce(pub Publisher, subjects []string, wire []byte) {
	for _, subj := range subjects {
		if err := pub.Announce(subj, wire); err != nil {
			s.log.Warn("live announcement not published", "subject", subj, "err", err)
		}
	}
}

// RepeatLive sends every live announcement again every LiveRepeat while
// it lasts, and drops those that expired, until ctx ends.
func (s *Service) RepeatLive(ctx context.Context) {
	t := time.NewTicker(LiveRepeat)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s.resendLive()
	}
}

// resendLive sends the live announcements on air again once.
func (s *Service) resendLive() {
	pub := s.publisher()
	if pub == nil {
		return
	}
	now := s.now()
	hub := &s.live
	hub.mu.Lock()
	var resend []*liveSession
	for id, ls := range hub.sessions {
		if !now.Before(ls.info.Expires) {
			delete(hub.sessions, id)
			continue
		}
		resend = append(resend, ls)
	}
	hub.mu.Unlock()
	for _, ls := range resend {
		s.announce(pub, ls.subjects, ls.wire)
	}
}
