package alerting

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sort"
	"strings"
	"time"

	"loa/alert"
	"loa/city/api"
	"loa/sqlite"
)

// Alert defaults.
const (
	defaultVoice = "vi"
	// defaultSpeed: slower than espeak-ng's 175 words a minute; horn
	// speakers in a street echo.
	defaultSpeed = 150
	defaultGap   = 10 * time.Second
)

// newAlertID names an alert: cb-YYYYMMDD-HHMMSS-xxxxxx (cảnh báo), in the
// city's time, sortable, unique.
func (s *Service) newAlertID(now time.Time) string {
	b := make([]byte, 3)
	rand.Read(b)
	return "cb-" + now.In(s.loc).Format("20060102-150405") + "-" + hex.EncodeToString(b)
}

// Send validates a request, renders its text, signs the alert, records it
// and publishes it. Every check is made before anything is recorded: a
// request with any problem sends nothing (cmdkit.BadInputError). When
// NATS does not take every copy within 5 s the alert stays recorded as
// queued, is published as soon as NATS takes it, and Send returns queued
// and ErrAlertNotPublished: the operator must know it has not gone out
// (never queued without an error).
func (s *Service) Send(ctx context.Context, req api.NewAlert, by string) (res api.Alert, queued bool, err error) {
	a, plan, err := s.planAlert(ctx, req, by)
	if err != nil {
		return res, false, err
	}
	if s.needsApproval(a, plan.wards) {
		if !req.BreakGlass {
			return res, false, s.hold(ctx, req, a, plan.wards, by)
		}
		if err := s.checkBreakGlass(req, a); err != nil {
			return res, false, err
		}
		if s.publisher() == nil {
			return res, false, ErrNoNATS
		}
		s.breakGlass(ctx, req, a, plan.wards, by)
	}
	return s.deliver(ctx, req, a, plan, by)
}

// deliver renders, signs, records and publishes a planned alert (Send
// after the two-person rule, or an approval).
func (s *Service) deliver(ctx context.Context, req api.NewAlert, a *alert.Alert, plan alertPlan, by string) (res api.Alert, queued bool, err error) {
	pub := s.publisher()
	if pub == nil {
		return res, false, ErrNoNATS
	}
	plan.subjects = pub.AlertSubjects(a.Targets, a.Recipients)
	// Now the things that take time or leave traces: speech, chime.
	if req.Text != "" {
		m, err := s.media.Speak(ctx, a.ID, req.Text, a.Content.Voice, a.Content.Speed, by)
		if err != nil {
			return res, false, err
		}
		a.Content.Media = mediaRef(m)
	}
	if err := s.testPrefix(ctx, a, by); err != nil {
		return res, false, err
	}
	if a.Chime != nil {
		m, err := s.media.Chime(ctx)
		if err != nil {
			return res, false, err
		}
		a.Chime = mediaRef(m)
	}
	if err := s.commitAlert(ctx, a, plan, by); err != nil {
		return res, false, err
	}
	if err := s.startRepeat(ctx, req, a.ID, a.Issued, by); err != nil {
		// Sent once all the same; the operator is told the repeats are not kept.
		s.log.Error("ALERT NOT REPEATED: its schedule could not be recorded", "alert", a.ID, "err", err)
	}
	s.log.Info("alert sent", "alert", a.ID, "msg_type", a.MsgType, "status", a.Status, "priority", a.Priority,
		"targets", a.Targets.String(), "wards", len(plan.wards), "by", by)
	if err := s.publishAlert(ctx, a.ID); err != nil {
		return res, true, err
	}
	res, err = s.Status(ctx, a.ID)
	return res, false, err
}

// alertPlan is what the city resolved for an alert: its wards and the
// subjects its copies go on.
type alertPlan struct {
	wards    []string
	subjects []string
	cancels  []string // alerts an Update stops
}

// placeholder stands for media chosen once the alert is known to be good,
// so that the alert's checks run before anything is rendered.
func placeholder() *alert.Media { return &alert.Media{SHA256: strings.Repeat("0", 64), Size: 1} }

func mediaRef(m sqlite.CityMedia) *alert.Media {
	return &alert.Media{SHA256: m.SHA256, Size: m.Size, DurationMS: m.Duration().Milliseconds(), URL: "/api/v1/media/" + m.SHA256}
}

// planAlert checks a request and builds the alert (its text not yet
// rendered, its chime not yet chosen, its subjects not yet named).
func (s *Service) planAlert(ctx context.Context, req api.NewAlert, by string) (*alert.Alert, alertPlan, error) {
	var plan alertPlan
	now := s.now().UTC().Truncate(time.Millisecond)
	kinds := 0
	for _, set := range []bool{req.Text != "", req.Media != "", req.Stream != ""} {
		if set {
			kinds++
		}
	}
	switch kinds {
	case 0:
		return nil, plan, badInput("nothing to play: give text, media or a stream")
	case 2, 3:
		return nil, plan, badInput("give one of text, media and stream, not %d", kinds)
	}
	targets, err := alert.ParseTargets(req.To)
	if err != nil {
		return nil, plan, badInput("to: %v", err)
	}
	a := &alert.Alert{
		ID: s.newAlertID(now), MsgType: alert.MsgAlert, Status: alert.StatusActual, Sender: by + "@" + s.cfg.Sender,
		Issued: now, Priority: alert.Urgent, Targets: targets, Repeat: 1, Volume: 100, GapMS: defaultGap.Milliseconds(),
		Language: "vi-VN", Event: req.Event, Headline: req.Headline, Urgency: req.Urgency, Severity: req.Severity,
		Certainty: req.Certainty, Area: req.Area, Description: req.Description, Instruction: req.Instruction,
	}
	if req.Priority != "" {
		a.Priority = alert.Priority(req.Priority)
		if a.Priority != alert.Emergency && a.Priority != alert.Urgent {
			return nil, plan, badInput("priority %q: want emergency or urgent", req.Priority)
		}
	}
	if req.Status != "" {
		a.Status = alert.Status(req.Status)
	} else if s.cfg.Training {
		a.Status = alert.StatusTest
	}
	if req.Repeat != 0 {
		a.Repeat = req.Repeat
	}
	if req.GapS != nil {
		a.GapMS = int64(math.Round(*req.GapS * 1000))
	}
	if req.Volume != nil {
		if v := *req.Volume; v < 1 || v > 100 {
			return nil, plan, badInput("âm lượng / volume %d: cần từ 1 đến 100 (%% âm lượng chung của đài; cảnh báo ở mức 0 không ai nghe thấy) / want 1-100 (%% of the station's master volume; an alert at 0 warns nobody); leave it out for 100", v)
		}
		a.Volume = *req.Volume
	}
	life := s.cfg.DefaultExpires
	if req.ExpiresS != 0 {
		life = time.Duration(req.ExpiresS * float64(time.Second))
		if life <= 0 || life > s.cfg.MaxExpires {
			return nil, plan, badInput("expires: %s, want more than 0 and at most %s (alerts.max_expires)", life.Round(time.Second), s.cfg.MaxExpires)
		}
	}
	a.Expires = now.Add(life)
	if err := s.checkRepeat(req, now); err != nil {
		return nil, plan, err
	}
	if req.Chime == nil || *req.Chime {
		a.Chime = placeholder() // chosen when sent
	}

	switch {
	case req.Text != "":
		if err := alert.CheckSpeechText(req.Text); err != nil {
			return nil, plan, badInput("text: %v", err)
		}
		a.Content.Text, a.Content.Voice, a.Content.Speed = req.Text, req.Voice, req.Speed
		if a.Content.Voice == "" {
			a.Content.Voice = defaultVoice
		}
		if a.Content.Speed == 0 {
			a.Content.Speed = defaultSpeed
		}
		a.Content.Media = placeholder() // rendered when sent

	case req.Media != "":
		m, err := s.media.Find(ctx, req.Media)
		if err != nil {
			return nil, plan, err
		}
		a.Content.Media = mediaRef(m)
	case req.Stream != "":
		if err := alert.CheckStreamURL(req.Stream); err != nil {
			return nil, plan, badInput("stream: %v", err)
		}
		d := time.Duration(req.DurationS * float64(time.Second))
		if d <= 0 || d > alert.MaxStream {
			return nil, plan, badInput("duration: a stream alert needs a duration, more than 0 and at most %s", alert.MaxStream)
		}
		a.Content.Stream, a.Content.DurationMS = req.Stream, d.Milliseconds()
	}

	if req.Update != "" {
		old, err := s.store.Alert(ctx, req.Update)
		if errors.Is(err, sqlite.ErrNotFound) {
			return nil, plan, badInput("update: no alert %s", req.Update)
		}
		if err != nil {
			return nil, plan, err
		}
		if err := s.stoppable(old, now); err != nil {
			return nil, plan, err
		}
		a.MsgType, a.References = alert.MsgUpdate, []string{old.ID}
		plan.cancels = []string{old.ID}
	}

	// Whom it is for: every ward and group named must exist.
	plan.wards, a.Recipients, err = s.resolveTargets(ctx, targets)
	if err != nil {
		return nil, plan, err
	}
	if err := a.Check(); err != nil {
		return nil, plan, badInput("%v", err)
	}
	// Last, because it waits on the network: the stream must answer now.
	if a.Content.Stream != "" {
		if err := s.streams.ProbeStream(ctx, a.Content.Stream); err != nil {
			return nil, plan, badInput("stream %s does not answer: %v", a.Content.Stream, err)
		}
	}
	return a, plan, nil
}

// resolveTargets turns targets into the wards they mean (every ward and
// group named must exist) and, unless the targets are all, the sorted
// recipients list that travels signed with an alert or a live message.
func (s *Service) resolveTargets(ctx context.Context, targets alert.Targets) (wards, recipients []string, err error) {
	if targets.All {
		all, err := s.store.WardIDs(ctx)
		if err != nil {
			return nil, nil, err
		}
		if len(all) == 0 {
			return nil, nil, badInput("to all: no ward is registered (loa-city ward add)")
		}
		return all, nil, nil
	}
	set := map[string]bool{}
	for _, id := range targets.Wards {
		if err := s.store.Ward(ctx, id); errors.Is(err, sqlite.ErrNotFound) {
			return nil, nil, badInput("to: ward %s does not exist (loactl wards lists them)", id)
		} else if err != nil {
			return nil, nil, err
		}
		set[id] = true
	}
	for _, g := range targets.Groups {
		ws, err := s.store.WardsInGroup(ctx, g)
		if err != nil {
			return nil, nil, err
		}
		if len(ws) == 0 {
			return nil, nil, badInput("to: group %s has no ward", g)
		}
		for _, w := range ws {
			set[w] = true
		}
	}
	for w := range set {
		recipients = append(recipients, w)
	}
	sort.Strings(recipients)
	return recipients, recipients, nil
}

// stoppable checks that an alert can still be cancelled or updated.
func (s *Service) stoppable(old sqlite.CityAlert, now time.Time) error {
	switch {
	case old.MsgType == string(alert.MsgCancel):
		return fmt.Errorf("%w: %s is a cancel, not an alert", ErrAlertConflict, old.ID)
	case old.CancelledBy != "":
		return fmt.Errorf("%w: alert %s was already stopped by %s", ErrAlertConflict, old.ID, old.CancelledBy)
	case !now.Before(old.Expires):
		return fmt.Errorf("%w: alert %s expired at %s", ErrAlertConflict, old.ID, old.Expires.In(s.loc).Format("2006-01-02 15:04:05"))
	}
	return nil
}

// commitAlert signs a and records it with its wards, copies and media, and
// the alerts it stops, in one transaction.
func (s *Service) commitAlert(ctx context.Context, a *alert.Alert, plan alertPlan, by string) error {
	_, raw, err := alert.Sign(s.key, a)
	if err != nil {
		return err
	}
	payload, err := a.Encode()
	if err != nil {
		return err
	}
	var media []string
	if a.Content.Media != nil {
		media = append(media, a.Content.Media.SHA256)
	}
	if a.Chime != nil {
		media = append(media, a.Chime.SHA256)
	}
	row := sqlite.CityAlert{ID: a.ID, MsgType: string(a.MsgType), Refs: a.References, Status: string(a.Status), Priority: string(a.Priority),
		Issued: a.Issued, Expires: a.Expires, SentBy: by, Targets: a.Targets.String(), Headline: a.Headline,
		Payload: payload, Envelope: raw, Wards: plan.wards, Subjects: plan.subjects, Media: media}
	return s.store.AddAlert(ctx, row, plan.cancels)
}

// publishAlert publishes the copies of alert id not yet in JetStream,
// trying for up to 5 s (a cluster electing a new leader). Copies left are
// retried in the background, and the alert is a failure the caller must
// make loud (ErrAlertNotPublished): it is not on its way.
func (s *Service) publishAlert(ctx context.Context, id string) error {
	deadline := time.Now().Add(s.sendWait)
	for {
		left := s.publishPending(ctx, id)
		if left == 0 {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			h := &s.health
			h.mu.Lock()
			h.sendFailed++
			h.unpublished = max(h.unpublished, left)
			h.mu.Unlock()
			err := &notPublished{id: id, pending: left, cause: h.lastErr()}
			s.log.Error("ALERT NOT SENT: NATS did not take every copy; retrying in the background", "alert", id, "pending", left, "err", err.cause)
			return err
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// PublishPending publishes the pending copies of every unexpired alert
// and returns how many are left (the city calls it every 2 s, and at once
// when NATS comes back).
func (s *Service) PublishPending(ctx context.Context) int { return s.publishPending(ctx) }

// publishPending publishes the pending copies of unexpired alerts (of
// only the alerts named, if any) and returns how many are left.
func (s *Service) publishPending(ctx context.Context, only ...string) int {
	pub := s.publisher()
	if pub == nil {
		return 0
	}
	s.pubMu.Lock()
	defer s.pubMu.Unlock()
	pend, err := s.store.PendingCopies(ctx, s.now())
	if err != nil {
		s.log.Error("pending alert copies", "err", err)
		return 1
	}
	var todo []sqlite.AlertCopy
	for _, cp := range pend {
		if len(only) > 0 && cp.Alert != only[0] {
			continue
		}
		todo = append(todo, cp)
	}
	// The round's copies go out pipelined, then their acknowledgements are
	// awaited (Publisher), then all are recorded in one transaction: the
	// k-th copy waits neither for the k-1 acknowledgements before it nor
	// for a SQLite commit each (which, contended by the receipt writer,
	// was measured at up to 1.8 s on a loaded machine; bench/README.md).
	tr := publishTrace{began: time.Now()}
	var r Round
	if len(todo) > 0 {
		r = pub.PublishCopies(ctx, todo)
	}
	for _, err := range r.Errs {
		s.health.failed(pub.Reason(err), err, s.now())
	}
	tr.acked(len(r.Acked))
	if len(r.Acked) > 0 {
		wctx := context.WithoutCancel(ctx)
		if err := s.store.MarkPublished(wctx, r.Acked, s.now()); err != nil {
			// Published all the same; the next round publishes them again
			// and JetStream drops them as duplicates (same message id).
			s.log.Error("alert copies published but not recorded", "alert", r.Acked[0].Alert, "n", len(r.Acked), "err", err)
		}
		tr.recorded(r.Acked[0].Alert)
	}
	tr.log(s.log)
	if len(only) == 0 {
		s.health.round(r.Left)
	}
	return r.Left
}

// publishTrace times one round of publishPending: how long JetStream took
// to acknowledge the round's copies (the server's synced writes) and how
// long recording them took (one SQLite commit): one log line per round,
// which shows an operator a slow disk and which the alert benchmark reads
// (bench/alert_bench_test.go).
type publishTrace struct {
	began       time.Time
	alert       string
	copies      int
	ack, record time.Duration
}

func (t *publishTrace) acked(n int) {
	t.copies = n
	t.ack = time.Since(t.began)
}

func (t *publishTrace) recorded(alert string) {
	t.alert = alert
	t.record = time.Since(t.began) - t.ack
}

func (t *publishTrace) log(log *slog.Logger) {
	if t.copies == 0 {
		return
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	log.Info("alert copies published", "alert", t.alert, "copies", t.copies, "total_ms", ms(time.Since(t.began)),
		"ack_ms", ms(t.ack), "record_ms", ms(t.record))
}

// Cancel sends the signed Cancel of alert id to the wards it was for
// (ErrAlertNotPublished, like Send, when NATS does not take it).
func (s *Service) Cancel(ctx context.Context, id, by string) (api.Alert, bool, error) {
	// An alert repeated every N hours: its series stops, and the alert
	// current at the wards (the latest of the series) is cancelled.
	last := s.stopRepeat(ctx, id, by)
	if last != "" {
		id = last
	}
	old, err := s.store.Alert(ctx, id)
	if errors.Is(err, sqlite.ErrNotFound) {
		return api.Alert{}, false, fmt.Errorf("%w: %s", ErrAlertNotFound, id)
	}
	if err != nil {
		return api.Alert{}, false, err
	}
	now := s.now().UTC().Truncate(time.Millisecond)
	if last != "" && old.CancelledBy == "" && !now.Before(old.Expires) {
		// Between two re-sends: nothing plays; stopping the series is all.
		res, err := s.Status(ctx, id)
		return res, false, err
	}
	if err := s.stoppable(old, now); err != nil {
		return api.Alert{}, false, err
	}
	if s.publisher() == nil {
		return api.Alert{}, false, ErrNoNATS
	}
	orig, err := alert.Decode(old.Payload)
	if err != nil {
		return api.Alert{}, false, fmt.Errorf("alert %s as stored: %w", id, err)
	}
	a := &alert.Alert{ID: s.newAlertID(now), MsgType: alert.MsgCancel, References: []string{id}, Status: orig.Status,
		Sender: by + "@" + s.cfg.Sender, Issued: now, Expires: orig.Expires, Priority: orig.Priority,
		Targets: orig.Targets, Recipients: orig.Recipients, Language: orig.Language, Headline: orig.Headline}
	if !a.Expires.After(a.Issued) {
		a.Expires = a.Issued.Add(time.Minute)
	}
	wards, err := s.store.AlertWards(ctx, id)
	if err != nil {
		return api.Alert{}, false, err
	}
	var subjects []string
	for _, cp := range old.Copies {
		subjects = append(subjects, cp.Subject)
	}
	plan := alertPlan{wards: wards, subjects: subjects, cancels: []string{id}}
	if err := s.commitAlert(ctx, a, plan, by); err != nil {
		return api.Alert{}, false, err
	}
	s.log.Info("alert cancelled", "alert", id, "cancel", a.ID, "by", by)
	if err := s.publishAlert(ctx, a.ID); err != nil {
		return api.Alert{}, true, err
	}
	res, err := s.Status(ctx, id)
	return res, false, err
}

// Status is an alert and where it stands at each of its wards.
func (s *Service) Status(ctx context.Context, id string) (api.Alert, error) {
	row, err := s.store.Alert(ctx, id)
	if errors.Is(err, sqlite.ErrNotFound) {
		return api.Alert{}, fmt.Errorf("%w: %s", ErrAlertNotFound, id)
	}
	if err != nil {
		return api.Alert{}, err
	}
	a, err := alert.Decode(row.Payload)
	if err != nil {
		return api.Alert{}, fmt.Errorf("alert %s as stored: %w", id, err)
	}
	wards, err := s.store.AlertWards(ctx, id)
	if err != nil {
		return api.Alert{}, err
	}
	reports, err := s.store.AlertReports(ctx, id)
	if err != nil {
		return api.Alert{}, err
	}
	out := api.Alert{ID: a.ID, MsgType: string(a.MsgType), References: a.References, Status: string(a.Status), Priority: string(a.Priority),
		Targets: a.Targets.String(), Headline: a.Headline, SentBy: row.SentBy, Issued: a.Issued, Expires: a.Expires,
		CancelledBy: row.CancelledBy, Content: contentJSON(a), Wards: []api.WardAlertState{}}
	for _, cp := range row.Copies {
		out.Copies++
		if cp.PublishedAt.IsZero() {
			out.Pending++
		}
	}
	now := s.now()
	switch {
	case row.CancelledBy != "":
		out.State = "cancelled"
	case !now.Before(a.Expires):
		out.State = "expired"
	case out.Pending > 0:
		out.State = "queued"
	default:
		out.State = "sent"
	}
	byWard := map[string][]sqlite.AlertReport{}
	for _, r := range reports {
		byWard[r.Ward] = append(byWard[r.Ward], r)
	}
	seen := map[string]bool{}
	for _, w := range wards {
		seen[w] = true
	}
	// Wards that reported on it without being meant (a misaddressed copy)
	// show too.
	for w := range byWard {
		if !seen[w] {
			wards = append(wards, w)
		}
	}
	sort.Strings(wards)
	for _, w := range wards {
		st := wardState(w, a.Issued, byWard[w])
		out.Wards = append(out.Wards, st)
		if seen[w] {
			countState(&out.Summary, st.State)
		}
	}
	return out, nil
}

func contentJSON(a *alert.Alert) api.AlertContent {
	ct := api.AlertContent{Repeat: a.Repeat, GapS: float64(a.GapMS) / 1000, Volume: a.Volume}
	if a.Chime != nil {
		ct.Chime = a.Chime.SHA256
	}
	switch c := a.Content; {
	case c.Stream != "":
		ct.Kind, ct.Stream, ct.DurationS = "stream", c.Stream, float64(c.DurationMS)/1000
	case c.Text != "":
		ct.Kind, ct.Text, ct.Voice = "text", c.Text, c.Voice
	case c.Media != nil:
		ct.Kind = "media"
	}
	if a.Content.Media != nil {
		ct.SHA256, ct.DurationS = a.Content.Media.SHA256, float64(a.Content.Media.DurationMS)/1000
	}
	return ct
}

// wardState sums up a ward's receipts for one alert: the furthest state
// its verified receipts reached (a replay refused after the alert played
// does not hide that it played), with the time of each step.
func wardState(ward string, issued time.Time, reps []sqlite.AlertReport) api.WardAlertState {
	st := api.WardAlertState{Ward: ward, State: "waiting"}
	best := 0
	ms := func(t time.Time) *int64 {
		v := t.Sub(issued).Milliseconds()
		return &v
	}
	for _, r := range reps {
		s := alert.State(r.State)
		if s == alert.Rejected {
			st.Rejections++
		}
		if !r.Verified && s != alert.Rejected {
			continue
		}
		if !r.Verified && best > 0 {
			continue // a forged copy claiming this id: counted, not shown
		}
		switch s {
		case alert.Received:
			if st.ReceivedMS == nil {
				st.ReceivedMS = ms(r.At)
				st.FetchMS = r.FetchMS
			}
		case alert.Started:
			if st.StartedMS == nil {
				st.StartedMS = ms(r.At)
			}
		case alert.Finished, alert.Cancelled, alert.Failed, alert.Skipped:
			if st.FinishedMS == nil {
				st.FinishedMS = ms(r.At)
			}
		}
		if s.Rank() > best || (s.Rank() == best && s == alert.Rejected) {
			best = s.Rank()
			st.State, st.Reason = string(s), r.Reason
			at := r.ReceivedAt.UTC()
			st.Updated = &at
		}
		if r.FetchMS > st.FetchMS {
			st.FetchMS = r.FetchMS
		}
	}
	return st
}

func countState(s *api.AlertSummary, state string) {
	s.Wards++
	switch alert.State(state) {
	case alert.Received:
		s.Received++
	case alert.Started:
		s.Started++
	case alert.Finished:
		s.Finished++
	case alert.Failed:
		s.Failed++
	case alert.Rejected:
		s.Rejected++
	case alert.Cancelled:
		s.Cancelled++
	case alert.Skipped:
		s.Skipped++
	default:
		s.Waiting++
	}
	if alert.State(state).Final() {
		s.Done++
	}
}

// List lists the latest alerts, newest first.
func (s *Service) List(ctx context.Context, limit int) ([]api.AlertListEntry, error) {
	rows, err := s.store.Alerts(ctx, limit)
	if err != nil {
		return nil, err
	}
	out := make([]api.AlertListEntry, 0, len(rows))
	for _, r := range rows {
		out = append(out, api.AlertListEntry{ID: r.ID, MsgType: r.MsgType, Status: r.Status, Priority: r.Priority, Targets: r.Targets,
			Headline: r.Headline, SentBy: r.SentBy, Issued: r.Issued.UTC(), Expires: r.Expires.UTC(), CancelledBy: r.CancelledBy})
	}
	return out, nil
}

// MayFetchMedia reports whether ward may download media key because an
// alert for the ward that has not expired plays it.
func (s *Service) MayFetchMedia(ctx context.Context, ward, key string) (bool, error) {
	return s.store.MayFetchAlertMedia(ctx, ward, key, s.now())
}
