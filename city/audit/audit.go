// Package audit is the city's record of every change: who did what, when,
// from where. Both faces of the city (the JSON API and the web console)
// and its command line write to it; administrators read and filter it.
//
// Rows are only ever added. Recording never undoes a change that was
// made: a failure to record is logged as an error for the technician.
package audit

import (
	"context"
	"log/slog"
	"time"

	"loa/sqlite"
)

// Entry is one change; Filter selects entries (sqlite's rows).
type (
	Entry  = sqlite.AuditEntry
	Filter = sqlite.AuditFilter
)

// Store keeps the log.
type Store interface {
	AddAudit(ctx context.Context, e Entry) error
	Audit(ctx context.Context, f Filter) ([]Entry, error)
}

// Log is the audit log of one city.
type Log struct {
	Store Store
	Log   *slog.Logger
	Now   func() time.Time
}

// New returns the audit log kept in store.
func New(store Store, log *slog.Logger) *Log {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Log{Store: store, Log: log, Now: time.Now}
}

type addressKey struct{}

// WithAddress returns ctx carrying the address a change comes from (the
// HTTP client's), for Record.
func WithAddress(ctx context.Context, addr string) context.Context {
	return context.WithValue(ctx, addressKey{}, addr)
}

// Address is the address WithAddress put in ctx ("" for the command line).
func Address(ctx context.Context) string {
	s, _ := ctx.Value(addressKey{}).(string)
	return s
}

// Record writes one change. actor is a user name, "ward:ID" or
// "loa-city" (the command line); action names what was done
// ("user.add", "PUT /api/v1/programs/{target}"); target what it was done to.
func (l *Log) Record(ctx context.Context, actor, action, target, detail string) {
	e := Entry{At: l.Now(), Actor: actor, Action: action, Target: target, Detail: detail, Address: Address(ctx)}
	if err := l.Store.AddAudit(context.WithoutCancel(ctx), e); err != nil {
		l.Log.Error("audit log: a change was made but could not be recorded", "actor", actor, "action", action, "target", target, "err", err)
	}
}

// List returns entries, newest first.
func (l *Log) List(ctx context.Context, f Filter) ([]Entry, error) {
	return l.Store.Audit(ctx, f)
}
