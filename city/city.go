// Package city is loa-city: the wiring of the city's services and its
// two faces, and what only the whole station knows.
//
// The services each own one job behind small interfaces of their own:
// city/accounts (users, tokens, wards, join codes, receipt keys),
// city/library (media, uploads, transcoding, speech), city/programs
// (program files, manifests, timelines), city/alerting (alerts, receipts,
// live announcements), city/board (the fleet board) and city/audit (the
// record of changes). The faces are city/httpapi, the JSON API the wards,
// loactl and scripts use, and city/console, the web console people use;
// both ask the same services and neither knows how they are built.
//
// Open is the only place that knows every part: it opens the database,
// the media store and the signing key, builds the services over them and
// the faces over the services, through the adapters in this package
// (accounts.go, library.go, programs.go, alerts.go, fleet.go, web.go,
// httpapi.go). The NATS side is city/citybus, which StartAlerts (nats.go)
// builds and hands the services. Here too: TLS (tls.go), the server's
// lifetime (Serve) and the loa-city commands (cli.go).
//
// Why transcode at the city (city/library): wards decode with a pure-Go
// MP3 decoder that is exact on MPEG-1 Layer III but was found to garble
// some low-rate MPEG-2 files, and a Pi on 3G should download each
// bulletin once, small. So every upload, whatever its format, becomes one
// MP3 at 44.1 kHz mono, 64 kbps CBR, checked to decode with the wards'
// decoder before it is accepted.
package city

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io/fs"
	"loa/alert"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"loa/city/accounts"
	"loa/city/alerting"
	"loa/city/audit"
	"loa/city/board"
	"loa/city/capin"
	"loa/city/citybus"
	"loa/city/commands"
	"loa/city/console"
	"loa/city/httpapi"
	"loa/city/library"
	"loa/city/livecast"
	"loa/city/preview"
	"loa/city/programs"
	"loa/city/reports"
	"loa/city/restream"
	"loa/internal/cmdkit"
	"loa/mediastore"
	"loa/signing"
	"loa/sqlite"
)

// City is an open city station: its database, media library and key.
type City struct {
	Config Config
	DB     *sqlite.CityDB
	Store  *mediastore.Store
	Log    *slog.Logger
	// Library is the media library: uploads, transcoding, speech.
	Library *library.Service
	// Now is the clock (tests fake it).
	Now func() time.Time
	// Programs owns program files, manifests and timelines.
	Programs *programs.Service
	// Accounts are the users, tokens, wards and join codes (city/accounts).
	Accounts *accounts.Service
	// Audit is the record of every change (city/audit).
	Audit *audit.Log
	// Reports are proof of play (city/reports).
	Reports *reports.Service

	key   ed25519.PrivateKey
	pub   ed25519.PublicKey
	keyID string
	loc   *time.Location
	// console is the web console (city/web.go).
	console *console.Console
	// board is the fleet board: heartbeats, as-run, bus watch, last seen
	// (city/board).
	board *board.Service
	// preview renders wards' windows (city/preview.go), for both faces.
	preview *preview.Service
	// api is the JSON API (city/httpapi), the first face.
	api *httpapi.Server
	// alerts is the city's NATS side (city/citybus, StartAlerts); nil
	// until started.
	alerts *citybus.Bus
	// Alerting sends, cancels and follows alerts and live announcements
	// (city/alerting); alerts.go adapts it to the city.
	Alerting *alerting.Service
	// Commands are the signed commands to wards (city/commands).
	Commands *commands.Service
	// livecast is the live mount fed by the console's microphone.
	livecast *livecast.Caster
	// restream pulls outside streams once for the wards (city/restream.go).
	restream     *restream.Service
	restreamOnce sync.Once
	// CAP reads CAP 1.2 into alerts and writes the city's CAP feed
	// (city/capin; city/cap.go).
	CAP *capin.Service
	// tlsCerts is the certificate for HTTPS and NATS (city/tls.go).
	tlsMu    sync.Mutex
	tlsCerts *certReloader
	// notify tells technicians when a ward goes wrong (city/notify.go).
	notify *notifier
}

// Open opens (creating) the city station under cfg.Data. The signing key
// is created on first use; a new key is logged with its fingerprint.
func Open(ctx context.Context, cfg Config, log *slog.Logger) (*City, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := cfg.check(""); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.Data, 0o750); err != nil {
		return nil, fmt.Errorf("data folder: %w", err)
	}
	loc, err := time.LoadLocation(cfg.Timezone)
	if err != nil {
		return nil, err
	}
	key, err := loadOrCreateKey(cfg.Key, log)
	if err != nil {
		return nil, err
	}
	store, err := mediastore.New(cfg.Data)
	if err != nil {
		return nil, err
	}
	db, err := sqlite.OpenCity(ctx, filepath.Join(cfg.Data, "city.db"))
	if err != nil {
		return nil, err
	}
	pub := key.Public().(ed25519.PublicKey)
	c := &City{Config: cfg, DB: db, Store: store, Log: log, Now: time.Now,
		key: key, pub: pub, keyID: signing.KeyID(pub), loc: loc}
	db.Now = func() time.Time { return c.Now() }
	c.Programs = newPrograms(c)
	c.openAccounts() // city/accounts.go
	c.board = c.newBoard()
	c.Library = library.New(libraryConfig(cfg), store, libraryDB{db}, log)
	c.Library.Now = func() time.Time { return c.Now() }
	c.Library.Edit = libraryDB{db}
	c.Alerting = c.newAlerting()
	c.Commands = c.newCommands()
	c.CAP = c.newCAP()         // city/cap.go
	c.Reports = c.newReports() // city/reports.go
	c.notify = c.newNotify()   // city/notify.go
	c.Audit = audit.New(db.Read(), log)
	c.Audit.Now = func() time.Time { return c.Now() }
	if err := c.openConsole(); err != nil { // city/web.go
		db.Close()
		return nil, err
	}
	c.api = c.newAPI() // city/httpapi.go
	return c, nil
}

func loadOrCreateKey(path string, log *slog.Logger) (ed25519.PrivateKey, error) {
	key, err := signing.LoadKey(path)
	if err == nil {
		return key, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	key, err = signing.GenerateKey(path)
	if errors.Is(err, signing.ErrKeyExists) {
		return signing.LoadKey(path) // another process made it just now
	}
	if err != nil {
		return nil, fmt.Errorf("create signing key: %w", err)
	}
	pub := key.Public().(ed25519.PublicKey)
	log.Info("created the signing key; give the wards its public key", "file", path,
		"public_key", signing.PublicKeyText(pub), "key_id", signing.KeyID(pub))
	return key, nil
}

// Close closes the database.
func (c *City) Close() error { return c.DB.Close() }

// PublicKey returns the city's public signing key.
func (c *City) PublicKey() ed25519.PublicKey { return c.pub }

// KeyID returns the fingerprint of the city's key.
func (c *City) KeyID() string { return c.keyID }

// Location is the city's zone.
func (c *City) Location() *time.Location { return c.loc }

// validID reports whether s is a ward or group id: [a-z0-9-]+, at most 64
// (the same rule alerts carry their targets by).
func validID(s string) bool { return alert.ValidName(s) }

// BadInputError is an error in what the caller asked (HTTP 400, exit 2).
type BadInputError = cmdkit.BadInputError

func badInput(format string, args ...any) error { return cmdkit.BadInput(format, args...) }

// AddWard registers a ward in groups and returns its token, shown once:
// only its hash is stored. The programs of its groups and of the whole
// city apply to it at once; the ward is refused if they clash.
func (c *City) AddWard(ctx context.Context, id string, groups []string) (string, error) {
	return c.Accounts.AddWard(ctx, id, groups)
}

// Roles of API users.
var Roles = accounts.Roles

// AddUser adds an API user and returns their token, shown once.
func (c *City) AddUser(ctx context.Context, name, role string) (string, error) {
	return c.Accounts.AddUser(ctx, name, role)
}
