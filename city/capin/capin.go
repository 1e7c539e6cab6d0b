// Package capin is the city's CAP 1.2 service: CAP messages POSTed to the
// city or polled from configured feeds are read and checked (package
// cap), admitted by the trust policy, mapped onto loa's alert and sent
// through the SAME entry point as the JSON API's POST /api/v1/alerts
// (alerting's Send and Cancel), so that every rule there (the approval
// rules included) applies to CAP as to any other alert; every message is
// recorded with its outcome (played, updated, cancelled, refused and
// why). It also writes the city's own alerts as CAP 1.2 and an Atom feed.
//
// Why a package of its own: it is the one place where outside warning
// systems reach the loudspeakers, so its decisions are kept apart from
// HTTP and SQLite and tested on fakes; package city adapts the database,
// the library and the alerting service to the small interfaces below.
package capin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	"loa/cap"
	"loa/city/alerting"
	"loa/city/api"
	"loa/internal/cmdkit"
	"loa/sqlite"
)

// Outcomes of a CAP message.
const (
	Played    = "played"
	Updated   = "updated"
	Cancelled = "cancelled"
	Refused   = "refused"
	// Pending: the two-person rule holds it (docs/alerts.md "Approval");
	// Alert names the request, nothing is sent until an approver approves.
	Pending = "pending"
)

// Alerting is the alerting service's entry point, the one POST
// /api/v1/alerts uses (*alerting.Service).
type Alerting interface {
	Send(ctx context.Context, req api.NewAlert, by string) (res api.Alert, queued bool, err error)
	Cancel(ctx context.Context, id, by string) (res api.Alert, queued bool, err error)
}

// Library adds a CAP message's audio to the city's library (transcoded to
// the canonical MP3) and returns its sha256.
type Library interface {
	AddAudio(ctx context.Context, name string, data []byte, by string) (sha string, err error)
}

// Store keeps the messages received and knows the wards and the city's
// alerts.
type Store interface {
	AddCAPMessage(ctx context.Context, m sqlite.CAPMessage) (int64, error)
	CAPMessages(ctx context.Context, limit int) ([]sqlite.CAPMessage, error)
	// CAPMessageFor is the last message from sender with identifier that
	// was acted on (sqlite.ErrNotFound: none).
	CAPMessageFor(ctx context.Context, sender, identifier string) (sqlite.CAPMessage, error)
	// WardPlaces are the registered wards with their locations.
	WardPlaces(ctx context.Context) ([]cap.WardPlace, error)
	Alert(ctx context.Context, id string) (sqlite.CityAlert, error)
	Alerts(ctx context.Context, limit int) ([]sqlite.CityAlert, error)
}

// Fetcher gets a URL's body, at most max bytes, within the context
// (package city fetches over HTTP).
type Fetcher interface {
	Fetch(ctx context.Context, url string, max int64) ([]byte, error)
}

// Config is what the city's configuration says of CAP (cap: in
// loa-city.yaml; docs/cap.md).
type Config struct {
	Policy cap.Policy
	// Rules map geocodes and area names to wards and groups.
	Rules []cap.Rule
	// MaxAudio bounds an audio resource (default 16 MiB); FetchTimeout
	// bounds fetching one (default 30 s).
	MaxAudio     int64
	FetchTimeout time.Duration
	// MaxExpires is the longest life an alert may have (alerts.max_expires):
	// a CAP expires beyond it is cut to it.
	MaxExpires time.Duration
	// Feeds are polled (poll.go).
	Feeds []Feed
	// PublicFeed serves GET /cap/alerts.atom without a token.
	PublicFeed bool
	// Sender is the city's CAP sender id in its feed; BaseURL its public
	// address, for the feed's links.
	Sender, BaseURL string
}

// Options build a Service.
type Options struct {
	Config   Config
	Alerting Alerting
	Library  Library
	Store    Store
	Fetcher  Fetcher
	Now      func() time.Time
	Location *time.Location
	Log      *slog.Logger
}

// Service is the city's CAP ingest and feed.
type Service struct {
	cfg   Config
	alert Alerting
	lib   Library
	store Store
	fetch Fetcher
	now   func() time.Time
	loc   *time.Location
	log   *slog.Logger
}

// New makes the service.
func New(o Options) *Service {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Location == nil {
		o.Location = time.UTC
	}
	if o.Config.MaxAudio == 0 {
		o.Config.MaxAudio = 16 << 20
	}
	if o.Config.FetchTimeout == 0 {
		o.Config.FetchTimeout = 30 * time.Second
	}
	return &Service{cfg: o.Config, alert: o.Alerting, lib: o.Library, store: o.Store, fetch: o.Fetcher,
		now: o.Now, loc: o.Location, log: o.Log}
}

// PublicFeed says whether the feed is served without a token.
func (s *Service) PublicFeed() bool { return s.cfg.PublicFeed }

// Result is what came of a message.
type Result struct {
	// Message is the record (its Seq 0 for a duplicate: the earlier one).
	Message sqlite.CAPMessage `json:"message"`
	// Duplicate: the same sender and identifier were acted on before;
	// nothing was done again.
	Duplicate bool `json:"duplicate,omitempty"`
}

// Ingest reads one CAP message and acts on it; via says where it came from
// (user:NAME, feed:URL) and by who sends the alert it becomes. Every
// message is recorded with its outcome; the error is for what went wrong
// inside the city (the database), or alerting.ErrAlertNotPublished when
// the alert was recorded but NATS has not taken it yet (Message says which).
func (s *Service) Ingest(ctx context.Context, data []byte, via, by string) (Result, error) {
	now := s.now()
	rec := sqlite.CAPMessage{Received: now, Via: via}
	a, err := cap.Read(data, now)
	if err != nil {
		// Say whose it was if it reads at all.
		if p, perr := cap.Parse(data); perr == nil {
			fill(&rec, p)
		}
		return s.refuse(ctx, rec, err)
	}
	fill(&rec, a)
	if prev, err := s.store.CAPMessageFor(ctx, a.Sender, a.Identifier); err == nil {
		return Result{Message: prev, Duplicate: true}, nil
	} else if !errors.Is(err, sqlite.ErrNotFound) {
		return Result{}, err
	}
	if err := s.cfg.Policy.Admit(a); err != nil {
		return s.refuse(ctx, rec, err)
	}
	if a.MsgType == "Cancel" {
		return s.cancel(ctx, rec, a, by)
	}
	places, err := s.store.WardPlaces(ctx)
	if err != nil {
		return Result{}, err
	}
	plan, err := cap.Map(a, cap.AreaConfig{Rules: s.cfg.Rules, Wards: places}, now)
	if err != nil {
		return s.refuse(ctx, rec, err)
	}
	rec.Headline = plan.Headline
	req := api.NewAlert{To: plan.To, Priority: plan.Priority, Status: a.Status, Headline: plan.Headline, Event: plan.Event,
		Urgency: plan.Urgency, Severity: plan.Severity, Certainty: plan.Certainty, Area: plan.Area,
		Description: plan.Description, Instruction: plan.Instruction}
	if !plan.Expires.IsZero() {
		life := plan.Expires.Sub(now)
		if s.cfg.MaxExpires > 0 && life > s.cfg.MaxExpires {
			life = s.cfg.MaxExpires
		}
		req.ExpiresS = life.Seconds()
	}
	if plan.Audio != nil {
		sha, err := s.audio(ctx, plan.Audio, a, by)
		if err != nil {
			return s.refuse(ctx, rec, err)
		}
		req.Media = sha
	} else {
		req.Text = plan.Text
	}

	// An Update replaces the newest alert it references that this city
	// played; the others it references are cancelled. One that references
	// nothing received here plays as a new alert.
	var found []sqlite.CAPMessage
	for _, r := range plan.Refs {
		m, err := s.store.CAPMessageFor(ctx, r.Sender, r.Identifier)
		if errors.Is(err, sqlite.ErrNotFound) || err == nil && m.Alert == "" || err == nil && m.Outcome == Cancelled {
			continue
		}
		if err != nil {
			return Result{}, err
		}
		found = append(found, m)
	}
	// The newest received last, whatever order the references are in.
	sort.Slice(found, func(i, j int) bool { return found[i].Seq < found[j].Seq })
	var olds []string
	for _, m := range found {
		olds = append(olds, m.Alert)
	}
	rec.Outcome = Played
	if len(olds) > 0 {
		req.Update = olds[len(olds)-1]
		rec.Outcome = Updated
	} else if a.MsgType == "Update" {
		rec.Reason = "không có bản tin được dẫn chiếu ở đây: phát như cảnh báo mới / references no message received here: played as a new alert"
	}
	res, _, err := s.alert.Send(ctx, req, by)
	if errors.Is(err, alerting.ErrAlertConflict) && req.Update != "" {
		// The alert it updates was stopped or expired meanwhile: play it
		// as new rather than not at all.
		req.Update = ""
		rec.Outcome = Played
		res, _, err = s.alert.Send(ctx, req, by)
	}
	if errors.Is(err, alerting.ErrAlertNotPublished) {
		rec.Reason = err.Error()
		s.record(ctx, &rec)
		return Result{Message: rec}, err
	}
	if pend, ok := errors.AsType[*alerting.PendingError](err); ok {
		// A CAP alert obeys the approval rule like any other.
		rec.Outcome, rec.Alert, rec.Reason = Pending, pend.Request.ID, err.Error()
		if err := s.record(ctx, &rec); err != nil {
			return Result{}, err
		}
		s.log.Warn("CAP message waits for approval", "sender", a.Sender, "identifier", a.Identifier, "request", pend.Request.ID, "to", req.To)
		return Result{Message: rec}, nil
	}
	if err != nil {
		var bad *cmdkit.BadInputError
		if errors.As(err, &bad) || errors.Is(err, alerting.ErrNoNATS) || errors.Is(err, alerting.ErrAlertConflict) {
			return s.refuse(ctx, rec, err)
		}
		return Result{}, err
	}
	rec.Alert = res.ID
	for _, old := range olds[:max(0, len(olds)-1)] {
		if _, _, err := s.alert.Cancel(ctx, old, by); err != nil && !errors.Is(err, alerting.ErrAlertConflict) {
			s.log.Error("CAP update: cancel of an older alert it references failed", "alert", old, "err", err)
		}
	}
	if err := s.record(ctx, &rec); err != nil {
		return Result{}, err
	}
	s.log.Info("CAP message played", "sender", a.Sender, "identifier", a.Identifier, "msg_type", a.MsgType, "outcome", rec.Outcome, "alert", rec.Alert, "to", req.To)
	return Result{Message: rec}, nil
}

// cancel stops the alerts a Cancel references.
func (s *Service) cancel(ctx context.Context, rec sqlite.CAPMessage, a *cap.Alert, by string) (Result, error) {
	refs, _ := cap.ParseReferences(a.References)
	var stopped, problems []string
	for _, r := range refs {
		m, err := s.store.CAPMessageFor(ctx, r.Sender, r.Identifier)
		if errors.Is(err, sqlite.ErrNotFound) || err == nil && (m.Alert == "" || m.Outcome == Cancelled) {
			problems = append(problems, r.Identifier+": not received here")
			continue
		}
		if err != nil {
			return Result{}, err
		}
		_, _, err = s.alert.Cancel(ctx, m.Alert, by)
		switch {
		case err == nil || errors.Is(err, alerting.ErrAlertNotPublished):
			stopped = append(stopped, m.Alert)
		case errors.Is(err, alerting.ErrAlertConflict), errors.Is(err, alerting.ErrAlertNotFound):
			problems = append(problems, err.Error())
		default:
			return Result{}, err
		}
	}
	if len(stopped) == 0 {
		return s.refuse(ctx, rec, &cap.Error{Field: "alert/references",
			Vi: "không có cảnh báo nào đang phát để hủy (" + strings.Join(problems, "; ") + ")",
			En: "no alert playing here to cancel (" + strings.Join(problems, "; ") + ")"})
	}
	rec.Outcome, rec.Alert = Cancelled, strings.Join(stopped, ",")
	if len(problems) > 0 {
		rec.Reason = strings.Join(problems, "; ")
	}
	if err := s.record(ctx, &rec); err != nil {
		return Result{}, err
	}
	s.log.Info("CAP cancel", "sender", a.Sender, "identifier", a.Identifier, "stopped", rec.Alert)
	return Result{Message: rec}, nil
}

// audio gets a resource's bytes (inline, or fetched within the size and
// time limits), checks its digest and adds it to the library.
func (s *Service) audio(ctx context.Context, r *cap.Resource, a *cap.Alert, by string) (string, error) {
	var data []byte
	var err error
	if strings.TrimSpace(r.DerefURI) != "" {
		data, err = cap.Inline(r)
	} else {
		fctx, cancel := context.WithTimeout(ctx, s.cfg.FetchTimeout)
		data, err = s.fetch.Fetch(fctx, strings.TrimSpace(r.URI), s.cfg.MaxAudio)
		cancel()
		if err != nil {
			err = &cap.Error{Field: "resource/uri", Vi: "không tải được âm thanh: " + err.Error(), En: "the audio could not be fetched: " + err.Error()}
		}
	}
	if err != nil {
		return "", err
	}
	if int64(len(data)) > s.cfg.MaxAudio {
		return "", &cap.Error{Field: "resource", Vi: fmt.Sprintf("âm thanh quá lớn (tối đa %d byte)", s.cfg.MaxAudio), En: fmt.Sprintf("audio too big (at most %d bytes)", s.cfg.MaxAudio)}
	}
	if err := cap.CheckDigest(data, r.Digest); err != nil {
		return "", err
	}
	name := "cap-" + safeName(a.Identifier) + ".mp3"
	sha, err := s.lib.AddAudio(ctx, name, data, by)
	if err != nil {
		return "", &cap.Error{Field: "resource", Vi: "âm thanh không dùng được: " + err.Error(), En: "the audio cannot be used: " + err.Error()}
	}
	return sha, nil
}

func safeName(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			b[i] = '-'
		}
	}
	if len(b) > 100 {
		b = b[:100]
	}
	return string(b)
}

func fill(rec *sqlite.CAPMessage, a *cap.Alert) {
	rec.Sender, rec.Identifier, rec.Sent, rec.MsgType, rec.Status = a.Sender, a.Identifier, a.Sent, a.MsgType, a.Status
	if a.Signed {
		rec.Signer = a.SignerName
	}
	if in := cap.ChooseInfo(a.Info); in != nil {
		rec.Headline = in.Headline
		if rec.Headline == "" {
			rec.Headline = in.Event
		}
	}
}

// refuse records a refusal with its reason.
func (s *Service) refuse(ctx context.Context, rec sqlite.CAPMessage, why error) (Result, error) {
	rec.Outcome, rec.Reason = Refused, why.Error()
	if err := s.record(ctx, &rec); err != nil {
		return Result{}, err
	}
	s.log.Warn("CAP message refused", "sender", rec.Sender, "identifier", rec.Identifier, "via", rec.Via, "reason", rec.Reason)
	return Result{Message: rec}, nil
}

func (s *Service) record(ctx context.Context, rec *sqlite.CAPMessage) error {
	seq, err := s.store.AddCAPMessage(context.WithoutCancel(ctx), *rec)
	rec.Seq = seq
	return err
}

// Messages lists the latest messages received, newest first.
func (s *Service) Messages(ctx context.Context, limit int) ([]sqlite.CAPMessage, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	return s.store.CAPMessages(ctx, limit)
}
