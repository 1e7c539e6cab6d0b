// Package programs owns the city's program files, one per target (the
// whole city, a group of wards, or one ward): loading them (checked on
// their own and against every other file a ward plays, so that a ward
// never receives two programs that clash), removing and listing them, the
// signed manifest each ward fetches, and the timeline a ward will play on
// a date.
//
// Why a package of its own: the HTTP API, the CLI and the console to come
// are faces over the same rules; the rules live here once, behind small
// interfaces (a Store of program sets, wards, media and manifests; a
// Signer; a Notifier; the clock and the city's zone), so that they are
// tested with a fake store and no server. The package knows neither HTTP
// nor NATS; it uses the types of loa/sqlite only through its Store.
package programs

import (
	"context"
	"crypto/ed25519"
	"errors"
	"log/slog"
	"time"

	"loa/manifest"
	"loa/signing"
	"loa/sqlite"
)

// ErrUnknownWard is returned for a ward:ID target with no such ward.
var ErrUnknownWard = errors.New("no such ward")

// Store is the city database as programs use it: one write transaction
// at a time (Update: all or nothing), or reads outside any (Read).
type Store interface {
	Read() Tx
	Update(ctx context.Context, fn func(Tx) error) error
}

// Tx is what programs read and write, in a transaction or not.
// *Tx satisfies it.
type Tx interface {
	WardReader
	MediaReader
	ProgramSetStore
	ManifestStore
}

// WardReader reads the ward registry (owned elsewhere).
type WardReader interface {
	Ward(ctx context.Context, id string) (sqlite.Ward, error)
	Wards(ctx context.Context) ([]sqlite.Ward, error)
	WardsInGroup(ctx context.Context, group string) ([]sqlite.Ward, error)
}

// MediaReader reads the media library (owned elsewhere): an item by its
// sha256 key, and the key of a name.
type MediaReader interface {
	Media(ctx context.Context, key string) (sqlite.CityMedia, error)
	MediaByName(ctx context.Context, name string) (string, error)
}

// ProgramSetStore stores the program file of each target.
type ProgramSetStore interface {
	// ProgramSets returns the sets of the targets that have one, in the
	// order asked; with no targets, every set, by target.
	ProgramSets(ctx context.Context, targets ...string) ([]sqlite.ProgramSet, error)
	PutProgramSet(ctx context.Context, s sqlite.ProgramSet) error
	// DeleteProgramSet reports whether target had a set.
	DeleteProgramSet(ctx context.Context, target string) (bool, error)
}

// ManifestStore stores each ward's signed manifest.
type ManifestStore interface {
	// WardManifest fails with sqlite.ErrNotFound when ward has none.
	WardManifest(ctx context.Context, ward string) (sqlite.WardManifest, error)
	// ManifestETag returns "" when ward has none.
	ManifestETag(ctx context.Context, ward string) (etag string, version int64, err error)
	PutWardManifest(ctx context.Context, m sqlite.WardManifest) error
}

// Signer signs manifests with the city's key.
type Signer interface {
	// KeyID is the key's fingerprint. It is part of a manifest's content:
	// a new key re-issues every manifest.
	KeyID() string
	SignManifest(m *manifest.Manifest) (signing.Envelope, error)
}

// KeySigner signs with an Ed25519 private key held in memory.
type KeySigner ed25519.PrivateKey

// KeyID is signing.KeyID of the key's public half.
func (k KeySigner) KeyID() string {
	return signing.KeyID(ed25519.PrivateKey(k).Public().(ed25519.PublicKey))
}

// SignManifest signs m with manifest.Sign.
func (k KeySigner) SignManifest(m *manifest.Manifest) (signing.Envelope, error) {
	return manifest.Sign(ed25519.PrivateKey(k), m)
}

// Notifier tells wards that their manifest changed (best effort: a ward
// that misses it polls anyway). target is the target whose programs
// changed, changed the wards whose manifest was re-issued.
type Notifier interface {
	NotifyPrograms(target string, changed []string)
}

// Service is the city's programs. Set Notifier (optional) and Now before
// use; do not change them while in use.
type Service struct {
	Store    Store
	Signer   Signer
	Notifier Notifier
	Log      *slog.Logger
	// Now is the clock (tests fake it).
	Now func() time.Time
	// Location is the city's zone: every program file is in it.
	Location *time.Location
}

// New returns the service over store, signing with signer, in zone loc.
func New(store Store, signer Signer, loc *time.Location, log *slog.Logger) *Service {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{Store: store, Signer: signer, Log: log, Now: time.Now, Location: loc}
}

func (s *Service) notify(target string, changed []string) {
	if s.Notifier != nil && len(changed) > 0 {
		s.Notifier.NotifyPrograms(target, changed)
	}
}
