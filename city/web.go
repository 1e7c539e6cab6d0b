package city

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"loa/city/accounts"
	"loa/city/api"
	"loa/city/audit"
	"loa/city/console"
	"loa/city/library"
	"loa/schedule"
	"loa/sqlite"
	"loa/vitext"
)

// The web console (city/console) is the city's second face: it asks the
// same services as the JSON API, through the adapters here. This file is
// the only place that knows both the console and the services.

// ReadLogins and UpdateLogins make the city database accounts' LoginStore.
func (s accountsStore) ReadLogins() accounts.LoginTx { return s.db.Read() }

func (s accountsStore) UpdateLogins(ctx context.Context, fn func(accounts.LoginTx) error) error {
	return s.db.Update(ctx, func(tx sqlite.CityTx) error { return fn(tx) })
}

// openConsole builds the console over the city's services.
func (c *City) openConsole() error {
	c.openLivecast() // city/livecast.go
	con, err := console.New(console.Deps{
		Accounts:  consoleAccounts{c},
		Sessions:  consoleSessions{c},
		Library:   consoleLibrary{c},
		Speaker:   consoleSpeaker{c},
		Schedules: consoleSchedules{c},
		Live:      consoleLive{c.livecast},
		Alerts:    consoleAlerts{c},
		Commands:  c.Commands,
		Reports:   c.Reports,
		Preview:   c.newPreview(),
		Fleet:     consoleFleet{c},
		Notify:    c.notify.settings,
		Log:       c.Log,
		Now:       func() time.Time { return c.Now() },
		Station:   c.Config.Name,
		Location:  c.loc,
		Record:    c.Audit.Record,
	})
	c.console = con
	return err
}

// consoleAccounts: people, their passwords and the audit log.
type consoleAccounts struct{ c *City }

func (a consoleAccounts) CheckPassword(ctx context.Context, user, password string) (string, error) {
	role, err := a.c.Accounts.CheckPassword(ctx, user, password)
	if errors.Is(err, accounts.ErrBadPassword) {
		return "", console.ErrBadPassword
	}
	return role, err
}

func (a consoleAccounts) Users(ctx context.Context) ([]console.UserInfo, error) {
	people, err := a.c.Accounts.People(ctx)
	out := make([]console.UserInfo, len(people))
	for i, p := range people {
		out[i] = console.UserInfo{Name: p.Name, Role: p.Role, Disabled: p.Disabled, Password: p.Password, CreatedAt: p.CreatedAt, Scope: accounts.ScopeOf(p.User)}
	}
	return out, err
}

func (a consoleAccounts) AddUser(ctx context.Context, name, role, by string) (string, error) {
	_, password, err := a.c.Accounts.AddPerson(ctx, name, role)
	return password, err
}

func (a consoleAccounts) ResetPassword(ctx context.Context, name, by string) (string, error) {
	return a.c.Accounts.ResetPassword(ctx, name)
}

func (a consoleAccounts) SetDisabled(ctx context.Context, name string, disabled bool, by string) error {
	return a.c.Accounts.SetDisabled(ctx, name, disabled)
}

// SetScope: nothing ticked on the page is the whole city, said
// explicitly (accounts.SetScope's --all).
func (a consoleAccounts) SetScope(ctx context.Context, name string, wards, groups []string, by string) error {
	sc, err := a.c.Accounts.SetScope(ctx, name, wards, groups, len(wards) == 0 && len(groups) == 0)
	if err == nil {
		a.c.Audit.Record(ctx, by, "user.scope", name, sc.String())
	}
	return err
}

func (a consoleAccounts) ChangePassword(ctx context.Context, name, old, new string) error {
	err := a.c.Accounts.ChangePassword(ctx, name, old, new)
	if errors.Is(err, accounts.ErrBadPassword) {
		return console.ErrBadPassword
	}
	return err
}

func (a consoleAccounts) Audit(ctx context.Context, f console.AuditFilter) ([]console.AuditEntry, error) {
	rows, err := a.c.Audit.List(ctx, audit.Filter{Actor: f.Actor, Action: f.Action, Since: f.Since, Until: f.Until, Before: f.Before, Limit: f.Limit})
	out := make([]console.AuditEntry, len(rows))
	for i, e := range rows {
		out[i] = console.AuditEntry{ID: e.ID, At: e.At, Actor: e.Actor, Action: e.Action, Target: e.Target, Detail: e.Detail, Where: e.Address}
	}
	return out, err
}

// consoleSessions keeps the console's sessions in the city database.
type consoleSessions struct{ c *City }

func (s consoleSessions) Create(ctx context.Context, idHash string, sess console.Session) error {
	return s.c.Accounts.StartSession(ctx, sqlite.Session{IDHash: idHash, User: sess.User, CSRF: sess.CSRF,
		CreatedAt: sess.Created, ExpiresAt: sess.Expires, Address: audit.Address(ctx)})
}

func (s consoleSessions) Lookup(ctx context.Context, idHash string) (console.Session, error) {
	row, mustChange, err := s.c.Accounts.Session(ctx, idHash)
	if errors.Is(err, sqlite.ErrNotFound) {
		return console.Session{}, console.ErrNoSession
	}
	if err != nil {
		return console.Session{}, err
	}
	scope, err := s.c.Accounts.UserScope(ctx, row.User)
	return console.Session{User: row.User, Role: row.Role, CSRF: row.CSRF, Created: row.CreatedAt, Expires: row.ExpiresAt, MustChange: mustChange, Scope: scope}, err
}

func (s consoleSessions) Delete(ctx context.Context, idHash string) error {
	return s.c.Accounts.EndSession(ctx, idHash)
}

func (s consoleSessions) DeleteUser(ctx context.Context, user string) error {
	return s.c.Accounts.EndSessions(ctx, user)
}

// consoleLibrary is the media library as the console lists and adds to it.
type consoleLibrary struct{ c *City }

func (l consoleLibrary) Media(ctx context.Context) ([]api.Media, error) {
	all, err := l.c.Library.List(ctx)
	out := make([]api.Media, len(all))
	for i, m := range all {
		out[i] = mediaJSON(m, false)
	}
	return out, err
}

func (l consoleLibrary) MediaFile(ctx context.Context, key string) (*os.File, error) {
	return l.c.Library.OpenFile(key)
}

func (l consoleLibrary) Add(ctx context.Context, body io.Reader, name, title, by string) (api.Media, bool, error) {
	m, created, err := l.c.Library.Ingest(ctx, body, library.UploadInfo{Name: name, Title: title, By: by})
	if err != nil {
		return api.Media{}, false, err
	}
	return mediaJSON(m, created), created, nil
}

func (l consoleLibrary) Retitle(ctx context.Context, key, title string) error {
	return l.c.Library.Retitle(ctx, key, title)
}

func (l consoleLibrary) Rename(ctx context.Context, key, from, to string) error {
	return l.c.Library.Rename(ctx, key, from, to)
}

func (l consoleLibrary) Delete(ctx context.Context, key string) error {
	return l.c.Library.Delete(ctx, key)
}

// consoleSpeaker: the library's normalisation and espeak-ng.
type consoleSpeaker struct{ c *City }

func (s consoleSpeaker) Normalize(text, voice string) (string, []vitext.Expansion) {
	return s.c.Library.Normalize(text, voice)
}

func (s consoleSpeaker) Speak(ctx context.Context, text, voice string, speed int) ([]byte, error) {
	return s.c.Library.RenderSpeech(ctx, text, voice, speed)
}

// consoleSchedules: wards, their timelines and program files.
type consoleSchedules struct{ c *City }

func (s consoleSchedules) Wards(ctx context.Context) ([]api.Ward, error) {
	ws, err := s.c.Accounts.Wards(ctx)
	return s.c.wardsJSON(ctx, ws), err
}

func (s consoleSchedules) Timeline(ctx context.Context, ward string, d schedule.Date) (api.Timeline, error) {
	return s.c.Programs.Timeline(ctx, ward, d)
}

func (s consoleSchedules) ProgramFile(ctx context.Context, target string) (string, []byte, error) {
	set, ok, err := s.c.Programs.Get(ctx, target)
	if err == nil && !ok {
		err = console.ErrNoProgramFile
	}
	return set.File, set.Body, err
}

func (s consoleSchedules) PutProgramFile(ctx context.Context, target, file string, body []byte, by string) error {
	_, err := s.c.Programs.Load(ctx, target, file, body, by, false)
	return err
}

// withAddress puts the client's address in the request's context, for the
// audit log.
func withAddress(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			host = r.RemoteAddr
		}
		h.ServeHTTP(w, r.WithContext(audit.WithAddress(r.Context(), host)))
	})
}
