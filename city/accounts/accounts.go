// Package accounts owns who may talk to the city and as whom: the API
// users and their roles, the registry of wards and their groups, the
// bearer tokens of both (made, hashed, looked up), the one-time join
// codes that hand a ward its credentials, and the keys wards sign their
// receipts with.
//
// Why a package of its own: every request, command and ward message asks
// it first ("who is this?"), and the web console will ask it again; so it
// is kept free of HTTP and NATS, with the database behind the small Store
// it declares here. Package city wires it to the city database and keeps
// the thin HTTP and CLI faces over it.
package accounts

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"loa/alert"
	"loa/internal/cmdkit"
	"loa/sqlite"
)

// Ward is a registered ward station; User a person (or script) using the
// API. They are the database's rows as the store returns them.
type (
	Ward     = sqlite.Ward
	User     = sqlite.User
	JoinCode = sqlite.JoinCode
)

// Store is the database as accounts uses it: reads outside a
// transaction, and writes that must hold together in one.
type Store interface {
	Read() Tx
	// Update runs fn in one write transaction: everything fn did is kept
	// if it returns nil, nothing otherwise.
	Update(ctx context.Context, fn func(Tx) error) error
}

// Tx is the queries accounts runs. A missing row is sqlite.ErrNotFound, a
// taken key sqlite.ErrExists (wrapped).
type Tx interface {
	AddWard(ctx context.Context, w Ward, tokenHash []byte) error
	Ward(ctx context.Context, id string) (Ward, error)
	Wards(ctx context.Context) ([]Ward, error)
	WardByToken(ctx context.Context, tokenHash []byte) (string, error)
	SetWardToken(ctx context.Context, ward string, tokenHash []byte) error

	AddUser(ctx context.Context, u User, tokenHash []byte) error
	UserByToken(ctx context.Context, tokenHash []byte) (User, error)
	Users(ctx context.Context) ([]User, error)

	AddJoinCode(ctx context.Context, c JoinCode) error
	JoinCode(ctx context.Context, hash []byte) (JoinCode, error)
	UseJoinCode(ctx context.Context, hash []byte, at time.Time, from string) error
	DeleteUnusedJoinCodes(ctx context.Context, ward string) error
	DeleteJoinCodesExpiredBefore(ctx context.Context, before time.Time) error

	WardReceiptKey(ctx context.Context, ward string) (string, error)
	AddWardReceiptKey(ctx context.Context, ward, publicKey, keyID string) (created bool, err error)
	DeleteWardReceiptKey(ctx context.Context, ward string) error
}

// WardCheck is run inside the transaction that adds a ward, once the ward
// is in (w as the store has it, groups sorted): an error refuses the ward
// and nothing is kept. The city checks there that the programs of the
// ward's groups and of the whole city do not clash, and builds its
// manifest; accounts knows nothing of programs.
type WardCheck func(ctx context.Context, tx Tx, w Ward) error

// Service is the accounts of one city.
type Service struct {
	Store Store
	Log   *slog.Logger
	// Now is the clock (tests fake it).
	Now func() time.Time
	// Loc is the zone times in messages are shown in.
	Loc *time.Location
	// CheckWard, when set, may refuse a ward being added.
	CheckWard WardCheck
	// Logins keeps people's passwords and sessions (people.go).
	Logins LoginStore

	// joinKey is the HMAC key join codes are kept under.
	joinKey []byte
}

// New returns the accounts kept in store. joinKey is the secret join
// codes are stored under (JoinKey derives it from the city's signing
// key); without it a copy of the database would give the codes away.
func New(store Store, joinKey []byte, log *slog.Logger) *Service {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{Store: store, Log: log, Now: time.Now, Loc: time.Local, joinKey: joinKey}
}

// Errors of accounts. A caller's mistake (a bad name, role, id, code) is a
// cmdkit.BadInputError instead.
var (
	// ErrUnknownToken: no ward or user holds this token.
	ErrUnknownToken = errors.New("unknown token")
	// ErrJoinCodeUnknown: no such join code (HTTP 404).
	ErrJoinCodeUnknown = errors.New("unknown join code")
	// ErrJoinCodeUsed and ErrJoinCodeExpired: the code was good once
	// (HTTP 410).
	ErrJoinCodeUsed    = errors.New("join code already used")
	ErrJoinCodeExpired = errors.New("join code expired")
	// ErrReceiptKeyTaken: the ward has registered another receipt key.
	ErrReceiptKeyTaken = errors.New("another receipt key is registered")
)

func badInput(format string, args ...any) error { return cmdkit.BadInput(format, args...) }

// validID reports whether s is a ward or group id: [a-z0-9-]+, at most 64
// (the same rule alerts carry their targets by).
func validID(s string) bool { return alert.ValidName(s) }
