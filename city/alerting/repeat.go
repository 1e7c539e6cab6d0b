package alerting

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"loa/city/api"
	"loa/sqlite"
)

// Repeat until (docs/alerts.md "Repeat until"): the disaster practice of
// QĐ 18/2021 is to broadcast a warning "every 2 hours until it is replaced
// or cancelled". An alert asked with every_h and until is sent once, and
// the city keeps its request as a schedule (RepeatStore, so a restarted
// city keeps it); RepeatDue, called by the city every few seconds, re-sends
// it when due as an Update of the last alert of the series (a ward still
// playing the previous one stops it and plays the new). The series stops
// at until, when any of its alerts is cancelled, or when someone else's
// Update replaces its last alert. A re-send is not approved again: the
// series was approved (or sent) once, as a whole.

// Bounds of a repeat.
const (
	minRepeatEvery = 15 * time.Minute
	maxRepeatEvery = 24 * time.Hour
	maxRepeatSpan  = 7 * 24 * time.Hour
)

// RepeatStore keeps the repeated alerts' schedules (the city's SQLite
// database).
type RepeatStore interface {
	AddAlertRepeat(ctx context.Context, r sqlite.AlertRepeat) error
	ActiveAlertRepeats(ctx context.Context) ([]sqlite.AlertRepeat, error)
	AlertRepeats(ctx context.Context, limit int) ([]sqlite.AlertRepeat, error)
	SetAlertRepeat(ctx context.Context, r sqlite.AlertRepeat) error
}

// checkRepeat checks a request's every_h and until at now.
func (s *Service) checkRepeat(req api.NewAlert, now time.Time) error {
	if req.EveryH == 0 && req.Until == nil {
		return nil
	}
	if s.repeats == nil {
		return badInput("every_h: thành phố này không lặp cảnh báo / this city does not repeat alerts")
	}
	every := time.Duration(req.EveryH * float64(time.Hour))
	if req.EveryH == 0 || every < minRepeatEvery || every > maxRepeatEvery {
		return badInput("every_h: lặp lại mỗi %g giờ: cần từ 0,25 đến 24 giờ / repeat every %g hours: want 0.25 to 24 hours (with until)", req.EveryH, req.EveryH)
	}
	if req.Until == nil {
		return badInput("until: cần thời điểm kết thúc việc lặp lại / give the time the repeats end (with every_h)")
	}
	if !req.Until.After(now.Add(every)) || req.Until.After(now.Add(maxRepeatSpan)) {
		return badInput("until: %s: cần sau lần lặp đầu (%s) và trong vòng 7 ngày / want after the first repeat (%s) and within 7 days",
			req.Until.In(s.loc).Format("02/01/2006 15:04"), now.Add(every).In(s.loc).Format("02/01/2006 15:04"), now.Add(every).In(s.loc).Format("02/01/2006 15:04"))
	}
	return nil
}

// startRepeat records the schedule of an alert a just sent for req.
func (s *Service) startRepeat(ctx context.Context, req api.NewAlert, id string, issued time.Time, by string) error {
	if req.EveryH == 0 || s.repeats == nil {
		return nil
	}
	every, until := time.Duration(req.EveryH*float64(time.Hour)), *req.Until
	req.EveryH, req.Until, req.Update = 0, nil, "" // a re-send is one alert
	req.BreakGlass, req.Confirm, req.Reason = false, "", ""
	body, err := json.Marshal(req)
	if err != nil {
		return err
	}
	r := sqlite.AlertRepeat{ID: id, SentBy: by, Request: body, Every: every, Until: until, Next: issued.Add(every), Last: id, Sent: 1, State: "active"}
	if err := s.repeats.AddAlertRepeat(ctx, r); err != nil {
		return fmt.Errorf("record the repeats of alert %s: %w", id, err)
	}
	s.log.Info("alert repeats", "alert", id, "every", every, "until", until, "by", by)
	s.audit(ctx, by, "alert.repeat_start", id, fmt.Sprintf("every %s until %s", every, until.In(s.loc).Format(time.RFC3339)))
	return nil
}

// stopRepeat stops the schedule alert id belongs to, if any, as by
// cancelled it; it returns the schedule's last alert ("" none).
func (s *Service) stopRepeat(ctx context.Context, id, by string) string {
	s.repeatMu.Lock()
	defer s.repeatMu.Unlock()
	r, ok := s.repeatOf(ctx, id)
	if !ok {
		return ""
	}
	r.State, r.Reason = "stopped", "cancelled by "+by
	s.setRepeat(ctx, r, "alert repeats stopped: cancelled")
	s.audit(ctx, by, "alert.repeat_stop", r.ID, fmt.Sprintf("cancelled after %d sends (last %s)", r.Sent, r.Last))
	return r.Last
}

// RepeatDue re-sends every repeated alert due at now, ends those past
// their end, and stops those cancelled or replaced; it returns how many
// were re-sent. The city calls it every few seconds.
func (s *Service) RepeatDue(ctx context.Context) int {
	if s.repeats == nil {
		return 0
	}
	s.repeatMu.Lock()
	defer s.repeatMu.Unlock()
	list, err := s.repeats.ActiveAlertRepeats(ctx)
	if err != nil {
		s.log.Error("repeated alerts: cannot read the schedules", "err", err)
		return 0
	}
	sent := 0
	for _, r := range list {
		now := s.now()
		if now.Before(r.Next) {
			continue
		}
		if s.repeatOnce(ctx, r, now) {
			sent++
		}
	}
	return sent
}

// repeatOnce re-sends r, due at now, or ends or stops it.
func (s *Service) repeatOnce(ctx context.Context, r sqlite.AlertRepeat, now time.Time) bool {
	if !now.Before(r.Until) {
		r.State, r.Reason = "ended", "until "+r.Until.In(s.loc).Format("02/01 15:04")
		s.setRepeat(ctx, r, "alert repeats ended")
		return false
	}
	last, err := s.store.Alert(ctx, r.Last)
	if err != nil {
		s.log.Error("repeated alert: its last alert cannot be read", "repeat", r.ID, "alert", r.Last, "err", err)
		return false
	}
	if last.CancelledBy != "" {
		r.State, r.Reason = "stopped", "stopped by "+last.CancelledBy
		s.setRepeat(ctx, r, "alert repeats stopped: cancelled or replaced")
		return false
	}
	var req api.NewAlert
	if err := json.Unmarshal(r.Request, &req); err != nil {
		r.State, r.Reason = "failed", fmt.Sprintf("request as stored: %v", err)
		s.setRepeat(ctx, r, "ALERT REPEAT FAILED")
		return false
	}
	if now.Before(last.Expires) {
		req.Update = r.Last // replaces the one still current at the wards
	}
	a, plan, err := s.planAlert(ctx, req, r.SentBy)
	if err == nil {
		var queued bool
		_, queued, err = s.deliver(ctx, req, a, plan, r.SentBy)
		if queued {
			err = nil // recorded, published as soon as NATS takes it (reported loudly by deliver)
		}
	}
	switch {
	case errors.Is(err, ErrNoNATS):
		s.log.Error("ALERT NOT REPEATED: NATS is not running; retrying", "repeat", r.ID)
		return false
	case errors.Is(err, ErrAlertConflict):
		r.State, r.Reason = "stopped", err.Error()
		s.setRepeat(ctx, r, "alert repeats stopped: replaced meanwhile")
		return false
	case err != nil:
		r.State, r.Reason = "failed", err.Error()
		s.setRepeat(ctx, r, "ALERT REPEAT FAILED")
		s.audit(ctx, r.SentBy, "alert.repeat_failed", r.ID, err.Error())
		return false
	}
	r.Last, r.Sent = a.ID, r.Sent+1
	for !now.Before(r.Next) {
		r.Next = r.Next.Add(r.Every)
	}
	if !r.Next.Before(r.Until) {
		r.State, r.Reason = "ended", "until "+r.Until.In(s.loc).Format("02/01 15:04")
	}
	s.setRepeat(ctx, r, "alert repeated")
	s.audit(ctx, r.SentBy, "alert.repeat", a.ID, fmt.Sprintf("repeat %d of %s (every %s until %s)", r.Sent, r.ID, r.Every, r.Until.In(s.loc).Format(time.RFC3339)))
	return true
}

func (s *Service) setRepeat(ctx context.Context, r sqlite.AlertRepeat, msg string) {
	lvl := s.log.Info
	if r.State == "failed" {
		lvl = s.log.Error
	}
	lvl(msg, "repeat", r.ID, "last", r.Last, "sent", r.Sent, "state", r.State, "next", r.Next, "reason", r.Reason)
	if err := s.repeats.SetAlertRepeat(context.WithoutCancel(ctx), r); err != nil {
		s.log.Error("repeated alert: its schedule cannot be recorded", "repeat", r.ID, "err", err)
	}
}

// repeatOf is the active schedule id belongs to (its first or its last
// alert), if any.
func (s *Service) repeatOf(ctx context.Context, id string) (sqlite.AlertRepeat, bool) {
	if s.repeats == nil {
		return sqlite.AlertRepeat{}, false
	}
	list, err := s.repeats.ActiveAlertRepeats(ctx)
	if err != nil {
		s.log.Error("repeated alerts: cannot read the schedules", "err", err)
		return sqlite.AlertRepeat{}, false
	}
	for _, r := range list {
		if r.ID == id || r.Last == id {
			return r, true
		}
	}
	return sqlite.AlertRepeat{}, false
}

// Repeats lists the latest repeated alerts, newest first.
func (s *Service) Repeats(ctx context.Context, limit int) ([]api.AlertRepeat, error) {
	out := []api.AlertRepeat{}
	if s.repeats == nil {
		return out, nil
	}
	list, err := s.repeats.AlertRepeats(ctx, limit)
	if err != nil {
		return nil, err
	}
	for _, r := range list {
		var req api.NewAlert
		json.Unmarshal(r.Request, &req) // written by startRepeat
		j := api.AlertRepeat{ID: r.ID, SentBy: r.SentBy, Targets: req.To, EveryH: r.Every.Hours(), Until: r.Until.UTC(), Last: r.Last, Sent: r.Sent, State: r.State, Reason: r.Reason}
		if r.State == "active" {
			t := r.Next.UTC()
			j.Next = &t
		}
		out = append(out, j)
	}
	return out, nil
}
