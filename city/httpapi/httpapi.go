// Package httpapi is the city's JSON API (docs/api.md): the route table
// with the roles allowed on each route, the bearer-token check (and the
// console's session standing in for a token), the audit of changes, and
// one thin handler per route: decode the request, one call into a
// service, encode the answer.
//
// It is one of the city's two faces over the same services, beside the
// web console (city/console); package city builds both. Why a package of
// its own: the services (city/accounts, city/library, city/programs,
// city/alerting, city/board) know nothing of HTTP, and this face knows
// nothing of NATS, SQLite or how the services are built. It reaches them
// only through the small interfaces below, so its tests run every route
// over fakes.
package httpapi

import (
	"context"
	"crypto/ed25519"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"loa/city/accounts"
	"loa/city/api"
	"loa/city/library"
	"loa/city/programs"
	"loa/schedule"
	"loa/signing"
)

// Accounts are the users, their tokens and the wards' receipt keys
// (*accounts.Service).
type Accounts interface {
	// LookupToken says whose token tok is: accounts.ErrUnknownToken when
	// nobody's.
	LookupToken(ctx context.Context, tok string) (accounts.Principal, error)
	// Ward is a registered ward; an error wrapping sqlite.ErrNotFound
	// when there is none.
	Ward(ctx context.Context, id string) (accounts.Ward, error)
	Users(ctx context.Context) ([]accounts.User, error)
	// UserScope is a user's scope now; Places the registry's wards as
	// scope decisions read them (accounts.Scope).
	UserScope(ctx context.Context, user string) (accounts.Scope, error)
	Places(ctx context.Context) ([]accounts.Place, error)
	AddUser(ctx context.Context, name, role string) (token string, err error)
	// RegisterReceiptKey: accounts.ErrReceiptKeyTaken when the ward has
	// another key (k is then the one offered).
	RegisterReceiptKey(ctx context.Context, ward, publicKey string) (k accounts.ReceiptKey, created bool, err error)
}

// Wards is the ward registry as the API shows it: each ward with what the
// board and its manifest say of it (the city composes them).
type Wards interface {
	Wards(ctx context.Context) ([]api.Ward, error)
	// Ward is one ward with its receipt key's id; an error wrapping
	// sqlite.ErrNotFound when there is none.
	Ward(ctx context.Context, id string) (api.Ward, error)
	// AddWard registers a ward and returns it with its token and NATS
	// seed, shown once.
	AddWard(ctx context.Context, id string, groups []string) (api.Ward, error)
}

// Joins turns a one-time join code into a ward's credentials
// (accounts.ErrJoinCodeUnknown, ErrJoinCodeUsed, ErrJoinCodeExpired).
// from says who asked; host is the address the ward reached the city by.
type Joins interface {
	Join(ctx context.Context, code, from, host string) (api.JoinCredentials, error)
}

// Library is the media library with its rows as the API shows them.
type Library interface {
	Media(ctx context.Context) ([]api.Media, error)
	// CheckSize refuses an upload of n bytes that is too big (n < 0:
	// unknown).
	CheckSize(n int64) error
	Ingest(ctx context.Context, body io.Reader, up library.UploadInfo) (m api.Media, created bool, err error)
	StartUpload(ctx context.Context, up library.UploadInfo, size int64) (api.Upload, error)
	// Upload is a resumable upload with its offset.
	Upload(ctx context.Context, id string, who library.Caller) (api.Upload, error)
	Append(ctx context.Context, id string, who library.Caller, at int64, body io.Reader) (Progress, error)
	DeleteUpload(ctx context.Context, id string, who library.Caller) error
	// OpenFile opens the media file key (os.ErrNotExist: none).
	OpenFile(key string) (*os.File, error)
	// Retitle changes an item's title; Delete removes an item unless
	// something uses it (*library.InUseError).
	Retitle(ctx context.Context, key, title string) error
	Delete(ctx context.Context, key string) error
	// Rename gives one of an item's names another, unless a program file
	// refers to it (*library.NameInUseError).
	Rename(ctx context.Context, key, from, to string) error
	// WardMayFetch reports whether ward may download media key: it is in
	// the ward's manifest or in an alert for it.
	WardMayFetch(ctx context.Context, ward, key string) (bool, error)
}

// Progress is where a resumable upload stands after a piece
// (library.Progress, with the API's types).
type Progress struct {
	// Upload is the upload, its Offset the bytes it has.
	Upload api.Upload
	// Written: the piece was taken (Upload.Offset is the new length), even
	// if the error says it arrived only in part.
	Written bool
	// Done: the upload is complete and ingested as Media.
	Done    bool
	Media   api.Media
	Created bool
}

// Programs are the program files, manifests and timelines
// (*programs.Service, with the file of a target as bytes).
type Programs interface {
	Manifest(ctx context.Context, ward string, unchanged func(etag string) bool) (m programs.WardManifest, ok bool, err error)
	Load(ctx context.Context, target, file string, body []byte, by string, checkOnly bool) (api.ProgramLoad, error)
	Delete(ctx context.Context, target, by string) (api.ProgramLoad, error)
	List(ctx context.Context) ([]api.ProgramSet, error)
	// File is target's program file; ok is false when it has none.
	File(ctx context.Context, target string) (file string, body []byte, ok bool, err error)
	Timeline(ctx context.Context, ward string, d schedule.Date) (api.Timeline, error)
}

// Board is the fleet board (*board.Service).
type Board interface {
	// NoteSeen records that ward asked for its manifest with version in
	// effect.
	NoteSeen(ward string, version int64)
	// Flag raises an identity alarm of kind (fleet.Alarm...) on ward.
	Flag(ward, kind, detail string)
	AsRunDay(ctx context.Context, ward string, d schedule.Date) (api.AsRunDay, error)
	// Heartbeats are ward's recent heartbeats, newest first.
	Heartbeats(ward string) []api.WardBeat
}

// Alerting sends, cancels and follows alerts and live announcements
// (*alerting.Service).
type Alerting interface {
	Send(ctx context.Context, req api.NewAlert, by string) (res api.Alert, queued bool, err error)
	Cancel(ctx context.Context, id, by string) (res api.Alert, queued bool, err error)
	Status(ctx context.Context, id string) (api.Alert, error)
	List(ctx context.Context, limit int) ([]api.AlertListEntry, error)
	StartLive(ctx context.Context, req api.NewLive, by string) (api.Live, error)
	ListLive() []api.Live
	StopLive(ctx context.Context, id, by string) error
	// Problems says why alerts cannot be stored or published now (none:
	// they can).
	Problems() []string
}

// Sessions is the web console's: the user logged in on the browser a
// request without a token comes from.
type Sessions interface {
	// APISession returns the session's user and role; ErrCrossSite when a
	// change comes from another site or without the session's CSRF
	// token; any other error: no session.
	APISession(r *http.Request) (user, role string, err error)
}

// ErrCrossSite is a console session's change that is cross-site or lacks
// the CSRF token (403).
var ErrCrossSite = errors.New("cross-site or stale request")

// Deps are what the API runs on. Sessions and Record may be nil.
type Deps struct {
	// Key signs the time and join answers; its public half is served.
	Key ed25519.PrivateKey
	// Now is the clock; Location the city's zone (today's date).
	Now      func() time.Time
	Location *time.Location
	Log      *slog.Logger

	Accounts Accounts
	Wards    Wards
	Joins    Joins
	Library  Library
	Programs Programs
	// Preview renders a ward's window (nil: not available).
	Preview  Previewer
	Board    Board
	Alerting Alerting
	// CAP is CAP 1.2 in and out (may be nil: 503).
	CAP CAP
	// Approvals are the alerts waiting for a second person.
	Approvals AlertApprovals
	Sessions  Sessions
	Reports   Reports
	// Commands are the signed commands to wards (nil: 503).
	Commands Commands
	// Notify are the users' notification settings (nil: 503).
	Notify NotifySettings
	// Metrics is what GET /metrics exposes.
	Metrics prometheus.Gatherer
	// Record writes a change to the audit log (audit.Log.Record).
	Record func(ctx context.Context, actor, action, target, detail string)

	// Repeats are the alerts repeated every N hours (may be nil: none).
	Repeats AlertRepeats
	// Restreams are the outside streams the city pulls once for its
	// wards (may be nil: none).
	Restreams Restreams
}

// Server is the JSON API over its Deps.
type Server struct {
	d       Deps
	pub     ed25519.PublicKey
	keyID   string
	metrics http.Handler
}

// New builds the API over d.
func New(d Deps) *Server {
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Location == nil {
		d.Location = time.UTC
	}
	s := &Server{d: d}
	if d.Key != nil {
		s.pub = d.Key.Public().(ed25519.PublicKey)
		s.keyID = signing.KeyID(s.pub)
	}
	if d.Metrics != nil {
		s.metrics = promhttp.HandlerFor(d.Metrics, promhttp.HandlerOpts{})
	}
	return s
}

// today is the current date in the city's zone.
func (s *Server) today() schedule.Date { return schedule.DateOf(s.d.Now().In(s.d.Location)) }
