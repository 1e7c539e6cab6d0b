package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"
)

// UserLogin is what a console log-in needs of a user.
type UserLogin struct {
	Name         string
	Role         string
	PasswordHash string // "" when the user has no password
	MustChange   bool
	Disabled     bool
}

// UserLogin returns the log-in data of user name.
func (t CityTx) UserLogin(ctx context.Context, name string) (UserLogin, error) {
	var u UserLogin
	var pw sql.NullString
	var disabled sql.NullInt64
	err := t.q.QueryRowContext(ctx, `SELECT name, role, password_hash, must_change, disabled_at FROM users WHERE name = ?`, name).
		Scan(&u.Name, &u.Role, &pw, &u.MustChange, &disabled)
	if errors.Is(err, sql.ErrNoRows) {
		return UserLogin{}, ErrNotFound
	}
	u.PasswordHash, u.Disabled = pw.String, disabled.Valid
	return u, err
}

// SetPassword stores a user's password hash; mustChange marks a one-time
// password.
func (t CityTx) SetPassword(ctx context.Context, name, hash string, mustChange bool) error {
	res, err := t.q.ExecContext(ctx, `UPDATE users SET password_hash = ?, must_change = ? WHERE name = ?`, hash, mustChange, name)
	return oneRow(res, err)
}

// SetUserDisabled disables (or enables again) a user; disabling ends
// their sessions.
func (t CityTx) SetUserDisabled(ctx context.Context, name string, disabled bool) error {
	var at any
	if disabled {
		at = ms(t.now())
	}
	res, err := t.q.ExecContext(ctx, `UPDATE users SET disabled_at = ? WHERE name = ?`, at, name)
	if err := oneRow(res, err); err != nil {
		return err
	}
	if disabled {
		return t.DeleteUserSessions(ctx, name)
	}
	return nil
}

func oneRow(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// Session is a logged-in browser of the console.
type Session struct {
	IDHash    string
	User      string
	Role      string // the user's role now (a changed role applies at once)
	CSRF      string
	CreatedAt time.Time
	ExpiresAt time.Time
	Address   string
}

// AddSession stores a session.
func (t CityTx) AddSession(ctx context.Context, s Session) error {
	_, err := t.q.ExecContext(ctx, `INSERT INTO sessions(id_hash, user, csrf, created_at, expires_at, address) VALUES(?,?,?,?,?,?)`,
		s.IDHash, s.User, s.CSRF, ms(s.CreatedAt), ms(s.ExpiresAt), s.Address)
	return err
}

// SessionByHash returns a live session of an enabled user.
func (t CityTx) SessionByHash(ctx context.Context, idHash string) (Session, error) {
	var s Session
	var created, expires int64
	err := t.q.QueryRowContext(ctx, `SELECT s.id_hash, s.user, u.role, s.csrf, s.created_at, s.expires_at, s.address
		FROM sessions s JOIN users u ON u.name = s.user
		WHERE s.id_hash = ? AND u.disabled_at IS NULL AND s.expires_at > ?`, idHash, ms(t.now())).
		Scan(&s.IDHash, &s.User, &s.Role, &s.CSRF, &created, &expires, &s.Address)
	if errors.Is(err, sql.ErrNoRows) {
		return Session{}, ErrNotFound
	}
	s.CreatedAt, s.ExpiresAt = fromMS(created), fromMS(expires)
	return s, err
}

// DeleteSession ends one session.
func (t CityTx) DeleteSession(ctx context.Context, idHash string) error {
	_, err := t.q.ExecContext(ctx, `DELETE FROM sessions WHERE id_hash = ?`, idHash)
	return err
}

// DeleteUserSessions ends every session of a user (log out everywhere).
func (t CityTx) DeleteUserSessions(ctx context.Context, user string) error {
	_, err := t.q.ExecContext(ctx, `DELETE FROM sessions WHERE user = ?`, user)
	return err
}

// DeleteExpiredSessions forgets sessions that ended before now.
func (t CityTx) DeleteExpiredSessions(ctx context.Context) error {
	_, err := t.q.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at <= ?`, ms(t.now()))
	return err
}

// AuditEntry is one row of the audit log.
type AuditEntry struct {
	ID      int64
	At      time.Time
	Actor   string
	Action  string
	Target  string
	Detail  string
	Address string
}

// AddAudit writes a row of the audit log (in the caller's transaction, so
// a change and its record are committed together or not at all).
func (t CityTx) AddAudit(ctx context.Context, e AuditEntry) error {
	if e.At.IsZero() {
		e.At = t.now()
	}
	_, err := t.q.ExecContext(ctx, `INSERT INTO audit(at, actor, action, target, detail, address) VALUES(?,?,?,?,?,?)`,
		ms(e.At), e.Actor, e.Action, e.Target, e.Detail, e.Address)
	return err
}

// AuditFilter selects rows of the audit log; zero fields select all.
type AuditFilter struct {
	Actor  string
	Action string // a prefix: "alert." selects every alert action
	Since  time.Time
	Until  time.Time
	Before int64 // rows with a smaller id (the next page)
	Limit  int
}

// Audit lists rows of the audit log, newest first.
func (t CityTx) Audit(ctx context.Context, f AuditFilter) ([]AuditEntry, error) {
	var where []string
	var args []any
	if f.Actor != "" {
		where, args = append(where, "actor = ?"), append(args, f.Actor)
	}
	if f.Action != "" {
		where, args = append(where, "action LIKE ? ESCAPE '\\'"), append(args, likePrefix(f.Action))
	}
	if !f.Since.IsZero() {
		where, args = append(where, "at >= ?"), append(args, ms(f.Since))
	}
	if !f.Until.IsZero() {
		where, args = append(where, "at < ?"), append(args, ms(f.Until))
	}
	if f.Before > 0 {
		where, args = append(where, "id < ?"), append(args, f.Before)
	}
	q := `SELECT id, at, actor, action, target, detail, address FROM audit`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 100
	}
	q += " ORDER BY id DESC LIMIT ?"
	args = append(args, f.Limit)
	rows, err := t.q.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []AuditEntry
	for rows.Next() {
		var e AuditEntry
		var at int64
		if err := rows.Scan(&e.ID, &at, &e.Actor, &e.Action, &e.Target, &e.Detail, &e.Address); err != nil {
			return nil, err
		}
		e.At = fromMS(at)
		out = append(out, e)
	}
	return out, rows.Err()
}

func likePrefix(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(s) + "%"
}
