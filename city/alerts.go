package city

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"loa/alert"
	"loa/city/api"
	"loa/mediastore"
	"loa/natsbus"
	"loa/sqlite"
)

// AlertsConfig configures alerts at the city.
type AlertsConfig struct {
	// Chime is the media item (name or sha256) played before an alert that
	// asks for one; empty: a built-in two-tone chime, made on first use.
	Chime string `yaml:"chime"`
	// Espeak is the espeak-ng program that speaks text alerts.
	Espeak string `yaml:"espeak"`
	// DefaultExpires is an alert's life when the operator gives none;
	// MaxExpires the longest allowed.
	DefaultExpires Duration `yaml:"default_expires"`
	MaxExpires     Duration `yaml:"max_expires"`
	// StreamCheck is how long the city waits for a stream URL to answer
	// before refusing the alert.
	StreamCheck Duration `yaml:"stream_check"`
	// Sender names the city in alerts' CAP sender (user@sender).
	Sender string `yaml:"sender"`
}

func defaultAlertsConfig() AlertsConfig {
	return AlertsConfig{Espeak: "espeak-ng", DefaultExpires: Duration(30 * time.Minute), MaxExpires: Duration(24 * time.Hour),
		StreamCheck: Duration(5 * time.Second), Sender: "loa-city"}
}

func (a *AlertsConfig) check(where string) error {
	switch {
	case a.DefaultExpires <= 0 || a.MaxExpires <= 0 || a.StreamCheck <= 0:
		return fmt.Errorf("%s: alerts durations must be positive", where)
	case time.Duration(a.MaxExpires) > alert.MaxLifetime:
		return fmt.Errorf("%s: alerts.max_expires: %s, at most %s", where, time.Duration(a.MaxExpires), alert.MaxLifetime)
	case a.DefaultExpires > a.MaxExpires:
		return fmt.Errorf("%s: alerts.default_expires is over alerts.max_expires", where)
	case a.Espeak == "":
		return fmt.Errorf("%s: alerts.espeak: empty", where)
	case a.Sender == "" || strings.ContainsAny(a.Sender, " ,&<>\t\n"):
		return fmt.Errorf("%s: alerts.sender: %q, want a word without spaces, commas or & < >", where, a.Sender)
	}
	return nil
}

// Alert defaults.
const (
	defaultVoice = "vi"
	// defaultSpeed: slower than espeak-ng's 175 words a minute; horn
	// speakers in a street echo.
	defaultSpeed = 150
	defaultGap   = 10 * time.Second
)

// Errors of alert requests, beside BadInputError.
var (
	// ErrAlertConflict: the alert is already cancelled or expired (409).
	ErrAlertConflict = errors.New("alert conflict")
	// ErrAlertNotFound: no alert has that id (404).
	ErrAlertNotFound = errors.New("no such alert")
)

// newAlertID names an alert: cb-YYYYMMDD-HHMMSS-xxxxxx (cảnh báo), in the
// city's time, sortable, unique.
func (c *City) newAlertID(now time.Time) string {
	b := make([]byte, 3)
	rand.Read(b)
	return "cb-" + now.In(c.loc).Format("20060102-150405") + "-" + hex.EncodeToString(b)
}

// SendAlert validates a request, renders its text, signs the alert,
// records it and publishes it. Every check is made before anything is
// recorded: a request with any problem sends nothing (BadInputError).
// When NATS does not take every copy within 5 s the alert stays recorded
// as queued, is published as soon as NATS takes it, and SendAlert returns
// queued and ErrAlertNotPublished: the operator must know it has not gone
// out (never queued without an error).
func (c *City) SendAlert(ctx context.Context, req api.NewAlert, by string) (res api.Alert, queued bool, err error) {
	a, plan, err := c.planAlert(ctx, req, by)
	if err != nil {
		return res, false, err
	}
	if c.alerts == nil {
		return res, false, ErrNoNATS
	}
	// Now the things that take time or leave traces: speech, chime.
	if req.Text != "" {
		m, err := c.speak(ctx, a.ID, req.Text, a.Content.Voice, a.Content.Speed, by)
		if err != nil {
			return res, false, err
		}
		a.Content.Media = mediaRef(m)
	}
	if a.Chime != nil {
		m, err := c.alertChime(ctx)
		if err != nil {
			return res, false, err
		}
		a.Chime = mediaRef(m)
	}
	if err := c.commitAlert(ctx, a, plan, by); err != nil {
		return res, false, err
	}
	c.Log.Info("alert sent", "alert", a.ID, "msg_type", a.MsgType, "status", a.Status, "priority", a.Priority,
		"targets", a.Targets.String(), "wards", len(plan.wards), "by", by)
	if err := c.publishAlert(ctx, a.ID); err != nil {
		return res, true, err
	}
	res, err = c.AlertStatus(ctx, a.ID)
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
// rendered, its chime not yet chosen).
func (c *City) planAlert(ctx context.Context, req api.NewAlert, by string) (*alert.Alert, alertPlan, error) {
	var plan alertPlan
	now := c.Now().UTC().Truncate(time.Millisecond)
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
		ID: c.newAlertID(now), MsgType: alert.MsgAlert, Status: alert.StatusActual, Sender: by + "@" + c.Config.Alerts.Sender,
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
	life := time.Duration(c.Config.Alerts.DefaultExpires)
	if req.ExpiresS != 0 {
		life = time.Duration(req.ExpiresS * float64(time.Second))
		if life <= 0 || life > time.Duration(c.Config.Alerts.MaxExpires) {
			return nil, plan, badInput("expires: %s, want more than 0 and at most %s (alerts.max_expires)", life.Round(time.Second), time.Duration(c.Config.Alerts.MaxExpires))
		}
	}
	a.Expires = now.Add(life)
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
		m, err := c.findMedia(ctx, req.Media)
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
		old, err := c.DB.Read().Alert(ctx, req.Update)
		if errors.Is(err, sqlite.ErrNotFound) {
			return nil, plan, badInput("update: no alert %s", req.Update)
		}
		if err != nil {
			return nil, plan, err
		}
		if err := c.stoppable(old, now); err != nil {
			return nil, plan, err
		}
		a.MsgType, a.References = alert.MsgUpdate, []string{old.ID}
		plan.cancels = []string{old.ID}
	}

	// Whom it is for: every ward and group named must exist.
	plan.wards, a.Recipients, err = c.resolveTargets(ctx, targets)
	if err != nil {
		return nil, plan, err
	}
	if err := a.Check(); err != nil {
		return nil, plan, badInput("%v", err)
	}
	// Last, because it waits on the network: the stream must answer now.
	if a.Content.Stream != "" {
		if err := c.probeStream(ctx, a.Content.Stream); err != nil {
			return nil, plan, badInput("stream %s does not answer: %v", a.Content.Stream, err)
		}
	}
	plan.subjects = natsbus.AlertSubjects(targets.All, targets.Wards, targets.Groups, a.Recipients)
	return a, plan, nil
}

// resolveTargets turns targets into the wards they mean (every ward and
// group named must exist) and, unless the targets are all, the sorted
// recipients list that travels signed with an alert or a live message.
func (c *City) resolveTargets(ctx context.Context, targets alert.Targets) (wards, recipients []string, err error) {
	tx := c.DB.Read()
	if targets.All {
		all, err := tx.WardIDs(ctx)
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
		if _, err := tx.Ward(ctx, id); errors.Is(err, sqlite.ErrNotFound) {
			return nil, nil, badInput("to: ward %s does not exist (loactl wards lists them)", id)
		} else if err != nil {
			return nil, nil, err
		}
		set[id] = true
	}
	for _, g := range targets.Groups {
		ws, err := tx.WardsInGroup(ctx, g)
		if err != nil {
			return nil, nil, err
		}
		if len(ws) == 0 {
			return nil, nil, badInput("to: group %s has no ward", g)
		}
		for _, w := range ws {
			set[w.ID] = true
		}
	}
	for w := range set {
		recipients = append(recipients, w)
	}
	sort.Strings(recipients)
	return recipients, recipients, nil
}

// stoppable checks that an alert can still be cancelled or updated.
func (c *City) stoppable(old sqlite.CityAlert, now time.Time) error {
	switch {
	case old.MsgType == string(alert.MsgCancel):
		return fmt.Errorf("%w: %s is a cancel, not an alert", ErrAlertConflict, old.ID)
	case old.CancelledBy != "":
		return fmt.Errorf("%w: alert %s was already stopped by %s", ErrAlertConflict, old.ID, old.CancelledBy)
	case !now.Before(old.Expires):
		return fmt.Errorf("%w: alert %s expired at %s", ErrAlertConflict, old.ID, old.Expires.In(c.loc).Format("2006-01-02 15:04:05"))
	}
	return nil
}

// findMedia finds a library item by sha256 or name.
func (c *City) findMedia(ctx context.Context, ref string) (sqlite.CityMedia, error) {
	tx := c.DB.Read()
	key := ref
	if !mediastore.ValidKey(ref) {
		k, err := tx.MediaByName(ctx, ref)
		if errors.Is(err, sqlite.ErrNotFound) {
			return sqlite.CityMedia{}, badInput("media %q: not in the city's library (loactl media list)", ref)
		}
		if err != nil {
			return sqlite.CityMedia{}, err
		}
		key = k
	}
	m, err := tx.Media(ctx, key)
	if errors.Is(err, sqlite.ErrNotFound) {
		return m, badInput("media %s: not in the city's library (loactl media list)", key)
	}
	return m, err
}

// probeStream checks that a stream URL answers: a 2xx within
// alerts.stream_check, and its first bytes.
func (c *City) probeStream(ctx context.Context, u string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Duration(c.Config.Alerts.StreamCheck))
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("User-Agent", "loa-city")
	req.Header.Set("Icy-MetaData", "0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("no answer within %s", time.Duration(c.Config.Alerts.StreamCheck))
		}
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("HTTP %s", resp.Status)
	}
	if _, err := io.ReadFull(resp.Body, make([]byte, 1)); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("no data within %s", time.Duration(c.Config.Alerts.StreamCheck))
		}
		return fmt.Errorf("no data: %v", err)
	}
	return nil
}

// speak renders text with espeak-ng and takes the result into the library
// like an upload (transcoded to the canonical MP3, checked, measured).
func (c *City) speak(ctx context.Context, id, text, voice string, speed int, by string) (sqlite.CityMedia, error) {
	return c.Library.Speak(ctx, id, text, voice, speed, by)
}

// alertChime returns the chime: alerts.chime, or the built-in one (two
// falling tones, 1.2 s), made with ffmpeg on first use.
func (c *City) alertChime(ctx context.Context) (sqlite.CityMedia, error) {
	if ref := c.Config.Alerts.Chime; ref != "" {
		m, err := c.findMedia(ctx, ref)
		if err != nil {
			return m, fmt.Errorf("alerts.chime: %w", err)
		}
		return m, nil
	}
	return c.Library.Chime(ctx)
}

// commitAlert signs a and records it with its wards, copies and media, and
// the alerts it stops, in one transaction.
func (c *City) commitAlert(ctx context.Context, a *alert.Alert, plan alertPlan, by string) error {
	_, raw, err := alert.Sign(c.key, a)
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
	return c.DB.Update(ctx, func(tx sqlite.CityTx) error {
		if err := tx.AddAlert(ctx, row); err != nil {
			return err
		}
		for _, id := range plan.cancels {
			if err := tx.SetAlertCancelled(ctx, id, a.ID); err != nil {
				return fmt.Errorf("%w: alert %s was stopped meanwhile", ErrAlertConflict, id)
			}
		}
		return nil
	})
}

// publishAlert publishes the copies of alert id not yet in JetStream,
// trying for up to 5 s (a cluster electing a new leader). Copies left are
// retried in the background, and the alert is a failure the caller must
// make loud (ErrAlertNotPublished): it is not on its way.
func (c *City) publishAlert(ctx context.Context, id string) error {
	deadline := time.Now().Add(5 * time.Second)
	for {
		left := c.publishPending(ctx, id)
		if left == 0 {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			h := &c.alerts.health
			h.mu.Lock()
			h.sendFailed++
			h.unpublished = max(h.unpublished, left)
			h.mu.Unlock()
			err := &notPublished{id: id, pending: left, cause: h.lastErr()}
			c.Log.Error("ALERT NOT SENT: NATS did not take every copy; retrying in the background", "alert", id, "pending", left, "err", err.cause)
			return err
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// publishPending publishes the pending copies of unexpired alerts (of
// only the alerts named, if any) and returns how many are left.
func (c *City) publishPending(ctx context.Context, only ...string) int {
	h := c.alerts
	h.pubMu.Lock()
	defer h.pubMu.Unlock()
	pend, err := c.DB.Read().PendingCopies(ctx, c.Now())
	if err != nil {
		c.Log.Error("pending alert copies", "err", err)
		return 1
	}
	// The round's copies go out pipelined, then their acknowledgements are
	// awaited, then all are recorded in one transaction: the k-th copy
	// waits neither for the k-1 acknowledgements before it nor for a
	// SQLite commit each (which, contended by the receipt writer, was
	// measured at up to 1.8 s on a loaded machine; bench/README.md).
	type inFlight struct {
		cp  sqlite.AlertCopy
		fut jetstream.PubAckFuture
	}
	type acked struct {
		cp  sqlite.AlertCopy
		seq uint64
	}
	left := 0
	tr := publishTrace{began: time.Now()}
	var flights []inFlight
	for _, cp := range pend {
		if len(only) > 0 && cp.Alert != only[0] {
			continue
		}
		if left > 0 && !h.link.Conn.IsConnected() {
			left++
			continue
		}
		fut, err := h.js.PublishAsync(cp.Subject, cp.Envelope, jetstream.WithMsgID(cp.Alert+"|"+cp.Subject))
		if err != nil {
			left++
			h.health.failed(err, c.Now())
			c.Log.Debug("alert copy not published yet", "alert", cp.Alert, "subject", cp.Subject, "err", err)
			continue
		}
		flights = append(flights, inFlight{cp, fut})
	}
	timeout := time.NewTimer(3 * time.Second)
	defer timeout.Stop()
	var done []acked
wait:
	for i, f := range flights {
		select {
		case ack := <-f.fut.Ok():
			done = append(done, acked{f.cp, ack.Sequence})
		case err := <-f.fut.Err():
			left++
			h.health.failed(err, c.Now())
			c.Log.Debug("alert copy not published yet", "alert", f.cp.Alert, "subject", f.cp.Subject, "err", err)
		case <-timeout.C:
			left += len(flights) - i
			h.health.failed(fmt.Errorf("no acknowledgement of %d alert copies within 3 s: %w", len(flights)-i, context.DeadlineExceeded), c.Now())
			break wait
		case <-ctx.Done():
			left += len(flights) - i
			break wait
		}
	}
	tr.acked(len(done))
	if len(done) > 0 {
		wctx := context.WithoutCancel(ctx)
		at := c.Now()
		err := c.DB.Update(wctx, func(tx sqlite.CityTx) error {
			for _, d := range done {
				if err := tx.MarkCopyPublished(wctx, d.cp.Alert, d.cp.Subject, at, d.seq); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			// Published all the same; the next round publishes them again
			// and JetStream drops them as duplicates (same message id).
			c.Log.Error("alert copies published but not recorded", "alert", done[0].cp.Alert, "n", len(done), "err", err)
		}
		tr.recorded(done[0].cp.Alert)
	}
	tr.log(c.Log)
	if len(only) == 0 {
		h.health.round(left)
	}
	return left
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

// CancelAlert sends the signed Cancel of alert id to the wards it was for
// (ErrAlertNotPublished, like SendAlert, when NATS does not take it).
func (c *City) CancelAlert(ctx context.Context, id, by string) (api.Alert, bool, error) {
	old, err := c.DB.Read().Alert(ctx, id)
	if errors.Is(err, sqlite.ErrNotFound) {
		return api.Alert{}, false, fmt.Errorf("%w: %s", ErrAlertNotFound, id)
	}
	if err != nil {
		return api.Alert{}, false, err
	}
	now := c.Now().UTC().Truncate(time.Millisecond)
	if err := c.stoppable(old, now); err != nil {
		return api.Alert{}, false, err
	}
	if c.alerts == nil {
		return api.Alert{}, false, ErrNoNATS
	}
	orig, err := alert.Decode(old.Payload)
	if err != nil {
		return api.Alert{}, false, fmt.Errorf("alert %s as stored: %w", id, err)
	}
	a := &alert.Alert{ID: c.newAlertID(now), MsgType: alert.MsgCancel, References: []string{id}, Status: orig.Status,
		Sender: by + "@" + c.Config.Alerts.Sender, Issued: now, Expires: orig.Expires, Priority: orig.Priority,
		Targets: orig.Targets, Recipients: orig.Recipients, Language: orig.Language, Headline: orig.Headline}
	if !a.Expires.After(a.Issued) {
		a.Expires = a.Issued.Add(time.Minute)
	}
	wards, err := c.DB.Read().AlertWards(ctx, id)
	if err != nil {
		return api.Alert{}, false, err
	}
	var subjects []string
	for _, cp := range old.Copies {
		subjects = append(subjects, cp.Subject)
	}
	plan := alertPlan{wards: wards, subjects: subjects, cancels: []string{id}}
	if err := c.commitAlert(ctx, a, plan, by); err != nil {
		return api.Alert{}, false, err
	}
	c.Log.Info("alert cancelled", "alert", id, "cancel", a.ID, "by", by)
	if err := c.publishAlert(ctx, a.ID); err != nil {
		return api.Alert{}, true, err
	}
	res, err := c.AlertStatus(ctx, id)
	return res, false, err
}

// AlertStatus is an alert and where it stands at each of its wards.
func (c *City) AlertStatus(ctx context.Context, id string) (api.Alert, error) {
	tx := c.DB.Read()
	row, err := tx.Alert(ctx, id)
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
	wards, err := tx.AlertWards(ctx, id)
	if err != nil {
		return api.Alert{}, err
	}
	reports, err := tx.AlertReports(ctx, id)
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
	now := c.Now()
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

// ListAlerts lists the latest alerts, newest first.
func (c *City) ListAlerts(ctx context.Context, limit int) ([]api.AlertListEntry, error) {
	rows, err := c.DB.Read().Alerts(ctx, limit)
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

// wardMayFetch reports whether ward may download media key: it is in the
// ward's manifest, or an alert for the ward that has not expired plays it.
func (c *City) wardMayFetch(ctx context.Context, ward, key string) (bool, error) {
	tx := c.DB.Read()
	ok, err := tx.WardMayFetch(ctx, ward, key)
	if ok || err != nil {
		return ok, err
	}
	return tx.WardMayFetchAlertMedia(ctx, ward, key, c.Now())
}
