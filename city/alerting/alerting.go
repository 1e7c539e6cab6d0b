// Package alerting owns the city's alerts, the warning path: an alert
// request is planned (targets resolved to wards, every field checked
// before anything is recorded), signed, recorded, published to the wards'
// subjects and, if need be, cancelled; the wards' signed receipts make
// each alert's status per ward; the health of the path (can an alert go
// out now?) is kept here; and live announcements are signed and repeated
// while they last.
//
// Why a package of its own: this is the code that must not fail when a
// storm comes, so it is kept apart from HTTP, NATS and SQLite and tested
// on its own with a fake store and publisher. It knows those only through
// the small interfaces below; package city adapts JetStream (Publisher),
// the city's database (Store), the media library (Media), a stream check
// over HTTP (StreamProber) and the wards' identity (ReceiptKeys).
package alerting

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"loa/alert"
	"loa/internal/cmdkit"
	"loa/sqlite"
)

// Errors of alert requests, beside cmdkit.BadInputError.
var (
	// ErrAlertConflict: the alert is already cancelled or expired (409).
	ErrAlertConflict = errors.New("alert conflict")
	// ErrAlertNotFound: no alert has that id (404).
	ErrAlertNotFound = errors.New("no such alert")
	// ErrNoNATS is returned when alerts are asked for while the city's
	// NATS is not running (HTTP 503).
	ErrNoNATS = errors.New("alerts are not available: the city's NATS is not running")
	// ErrAlertNotPublished is returned when an alert (or a cancel) was
	// recorded and signed but NATS did not take every copy within the
	// send's deadline: it is NOT on its way to the wards. The city keeps
	// trying in the background; the operator is told loudly (HTTP 503,
	// loactl exit 1), the metric loa_city_alert_publish_errors_total
	// counts it and /healthz reports it until it goes out.
	ErrAlertNotPublished = errors.New("alert not published")
)

// notPublished is ErrAlertNotPublished for one alert.
type notPublished struct {
	id      string
	pending int
	cause   error
}

func (e *notPublished) Error() string {
	cause := "NATS did not answer"
	if e.cause != nil {
		cause = e.cause.Error()
	}
	return fmt.Sprintf("cảnh báo %s đã lưu nhưng CHƯA gửi được tới các phường (%d bản chưa gửi) / alert %s recorded but NOT sent: "+
		"NATS did not take %d of its copies: %s; the city keeps trying (loactl alert status %s)", e.id, e.pending, e.id, e.pending, cause, e.id)
}

func (e *notPublished) Unwrap() error { return ErrAlertNotPublished }

func badInput(format string, args ...any) error { return cmdkit.BadInput(format, args...) }

// Store is where alerts, their copies and the wards' receipts are kept
// (the city's SQLite database), and the ward registry they are addressed
// by. A missing alert or ward is sqlite.ErrNotFound.
type Store interface {
	Alert(ctx context.Context, id string) (sqlite.CityAlert, error)
	// Alerts lists the latest alerts, newest first.
	Alerts(ctx context.Context, limit int) ([]sqlite.CityAlert, error)
	AlertWards(ctx context.Context, id string) ([]string, error)
	AlertReports(ctx context.Context, id string) ([]sqlite.AlertReport, error)
	// AddAlert records an alert with its wards, copies and media, and
	// marks the alerts of stops stopped by it, in one transaction; one of
	// them stopped meanwhile is an error wrapping ErrAlertConflict.
	AddAlert(ctx context.Context, a sqlite.CityAlert, stops []string) error
	// PendingCopies lists the copies not yet published of alerts that
	// have not expired at now, oldest alert first.
	PendingCopies(ctx context.Context, now time.Time) ([]sqlite.AlertCopy, error)
	// MarkPublished records the acknowledgements of copies, in one
	// transaction.
	MarkPublished(ctx context.Context, copies []Published, at time.Time) error
	// MayFetchAlertMedia reports whether sha is played by an alert for
	// ward that expires after now.
	MayFetchAlertMedia(ctx context.Context, ward, sha string, now time.Time) (bool, error)
	// AddReports records receipts in one transaction; one whose stream
	// sequence is recorded already (a redelivery) is ignored.
	AddReports(ctx context.Context, reps []sqlite.AlertReport) error
	// LastReportSeq is the highest stream sequence of a receipt recorded.
	LastReportSeq(ctx context.Context) (uint64, error)

	// WardIDs lists every ward; Ward checks that one exists;
	// WardsInGroup lists a group's wards.
	WardIDs(ctx context.Context) ([]string, error)
	Ward(ctx context.Context, id string) error
	WardsInGroup(ctx context.Context, group string) ([]string, error)
}

// Published is a copy JetStream acknowledged.
type Published struct {
	Alert, Subject string
	Seq            uint64
}

// Round is the outcome of publishing pending copies once.
type Round struct {
	// Acked are the copies JetStream took.
	Acked []Published
	// Left is how many were not taken.
	Left int
	// Errs are the failures, in the order they happened (one may stand
	// for several copies: no acknowledgement in time).
	Errs []error
}

// Copy is one copy of an alert to publish on one subject, as the store
// keeps it (its envelope filled); Receipt is a ward's receipt as it is
// recorded. The bus adapter (city/citybus) names them through these.
type (
	Copy    = sqlite.AlertCopy
	Receipt = sqlite.AlertReport
)

// Publisher is the city's bus (NATS JetStream for alerts, core NATS for
// live announcements): it names the subjects and publishes on them.
type Publisher interface {
	// AlertSubjects are the subjects the copies of an alert for targets
	// (resolved to recipients) go on.
	AlertSubjects(t alert.Targets, recipients []string) []string
	// LiveSubjects are those of a live announcement.
	LiveSubjects(t alert.Targets, recipients []string) []string
	// PublishCopies publishes copies, deduplicated by alert and subject,
	// and waits for their acknowledgements.
	PublishCopies(ctx context.Context, copies []sqlite.AlertCopy) Round
	// Announce publishes a live message, best effort.
	Announce(subject string, msg []byte) error
	// Reason sorts a publish error into a metric label: store_full,
	// no_stream, timeout, disconnected, other.
	Reason(err error) string
	// Problems says why the bus cannot take alerts now (streams not set
	// up, not connected); none: it can.
	Problems() []string
}

// Media is the city's library as alerts use it: a media item named in an
// alert, speech rendered from an alert's text, and the chime.
type Media interface {
	// Find finds a library item by sha256 or name (not there: a
	// cmdkit.BadInputError).
	Find(ctx context.Context, ref string) (sqlite.CityMedia, error)
	Speak(ctx context.Context, id, text, voice string, speed int, by string) (sqlite.CityMedia, error)
	Chime(ctx context.Context) (sqlite.CityMedia, error)
	// SpeakBefore renders prefix as speech followed by the library item
	// key, as a new item named after alert id (a test alert's prefix).
	SpeakBefore(ctx context.Context, id, prefix, voice string, speed int, key, by string) (sqlite.CityMedia, error)
}

// StreamProber checks that a stream URL answers now.
type StreamProber interface {
	ProbeStream(ctx context.Context, url string) error
}

// ReceiptKeys gives a ward's receipt key (nil: it registered none).
type ReceiptKeys interface {
	ReceiptKey(ctx context.Context, ward string) (ed25519.PublicKey, error)
}

// Config is what the city's configuration says of alerts.
type Config struct {
	// Sender names the city in alerts' CAP sender (user@sender).
	Sender string
	// DefaultExpires is an alert's life when the operator gives none;
	// MaxExpires the longest allowed.
	DefaultExpires, MaxExpires time.Duration
	// Approval is the two-person rule (zero: no alert needs approval).
	Approval ApprovalRule
	// Training makes Test the status of an alert that gives none.
	Training bool
	// TestPrefix is spoken before the content of a Test or Exercise
	// alert (empty: nothing).
	TestPrefix string
}

// Options build a Service.
type Options struct {
	Config      Config
	Store       Store
	Media       Media
	Streams     StreamProber
	ReceiptKeys ReceiptKeys
	// Requests keeps the alerts waiting for approval; Audit records
	// requests, approvals, refusals and break-glass sends (may be nil).
	Requests RequestStore
	Audit    AuditFunc
	// Repeats keeps repeated alerts' schedules (nil: alerts are not
	// repeated; every_h is refused).
	Repeats RepeatStore
	// Key signs alerts and live announcements.
	Key ed25519.PrivateKey
	// Now is the clock; Location the city's zone (alert ids, messages).
	Now      func() time.Time
	Location *time.Location
	Log      *slog.Logger
}

// Service is the city's alerting.
type Service struct {
	cfg      Config
	store    Store
	media    Media
	streams  StreamProber
	keys     ReceiptKeys
	requests RequestStore
	repeats  RepeatStore
	// repeatMu makes one RepeatDue or series stop at a time.
	repeatMu sync.Mutex
	auditf   AuditFunc
	key      ed25519.PrivateKey
	now      func() time.Time
	loc      *time.Location
	log      *slog.Logger

	busMu sync.RWMutex
	pub   Publisher // nil until the city's NATS is started

	pubMu  sync.Mutex // one publisher of pending copies at a time
	health health
	// sendWait is how long Send and Cancel try to publish before they
	// answer ErrAlertNotPublished.
	sendWait time.Duration
	live     liveHub

	breakGlassCount breakGlassCounter
}

// New makes the alerting service. It sends nothing until SetPublisher.
func New(o Options) *Service {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Location == nil {
		o.Location = time.Local
	}
	return &Service{cfg: o.Config, store: o.Store, media: o.Media, streams: o.Streams, keys: o.ReceiptKeys, key: o.Key,
		requests: o.Requests, auditf: o.Audit, repeats: o.Repeats,
		now: o.Now, loc: o.Location, log: o.Log, live: liveHub{sessions: map[string]*liveSession{}}, sendWait: 5 * time.Second}
}

// SetPublisher gives the service its bus, once the city's NATS is
// started.
func (s *Service) SetPublisher(p Publisher) {
	s.busMu.Lock()
	s.pub = p
	s.busMu.Unlock()
}

func (s *Service) publisher() Publisher {
	s.busMu.RLock()
	defer s.busMu.RUnlock()
	return s.pub
}
