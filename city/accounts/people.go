package accounts

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"loa/internal/passhash"
	"loa/sqlite"
)

// People log in to the console with a password; the same user keeps an API
// token for loactl. What that needs of the database is LoginStore, apart
// from Store so that the API's accounts stay as small as they are.
type LoginStore interface {
	ReadLogins() LoginTx
	UpdateLogins(ctx context.Context, fn func(LoginTx) error) error
}

// LoginTx is the queries of people's log-ins.
type LoginTx interface {
	AddUser(ctx context.Context, u User, tokenHash []byte) error
	Users(ctx context.Context) ([]User, error)
	UserLogin(ctx context.Context, name string) (sqlite.UserLogin, error)
	SetPassword(ctx context.Context, name, hash string, mustChange bool) error
	SetUserDisabled(ctx context.Context, name string, disabled bool) error
	AddSession(ctx context.Context, s sqlite.Session) error
	SessionByHash(ctx context.Context, idHash string) (sqlite.Session, error)
	DeleteSession(ctx context.Context, idHash string) error
	DeleteUserSessions(ctx context.Context, user string) error
	DeleteExpiredSessions(ctx context.Context) error
	// SetWardInfo sets a ward's display name and location (wards.go).
	SetWardInfo(ctx context.Context, id, name string, lat, lon *float64) error
	// Wards, UserScope and SetUserScope: users' scopes (scope.go).
	Wards(ctx context.Context) ([]Ward, error)
	UserScope(ctx context.Context, name string) (wards, groups []string, err error)
	SetUserScope(ctx context.Context, name string, wards, groups []string) error
}

// Session is a logged-in browser as stored (by the hash of its id).
type Session = sqlite.Session

// ErrBadPassword: wrong name or password, or a disabled user, or one
// without a password; a log-in page never says which.
var ErrBadPassword = errors.New("wrong user name or password")

// Person is a user as the administrators' page lists them.
type Person struct {
	User
	Disabled bool
	Password bool // has a console password
}

func (s *Service) logins() (LoginStore, error) {
	if s.Logins == nil {
		return nil, errors.New("accounts: no log-in store")
	}
	return s.Logins, nil
}

// AddPerson adds a user who logs in to the console with a one-time
// password (changed at the first log-in) and uses loactl with a token;
// both are returned once, only their hashes are kept.
func (s *Service) AddPerson(ctx context.Context, name, role string) (token, password string, err error) {
	return s.AddScopedPerson(ctx, name, role, nil, nil)
}

// AddScopedPerson is AddPerson with a scope (scope.go): the wards and
// groups given, each registered; none: city-wide. An admin is never
// scoped. A bad scope adds nobody.
func (s *Service) AddScopedPerson(ctx context.Context, name, role string, wardIDs, groups []string) (token, password string, err error) {
	if name == "" || len(name) > 64 || strings.ContainsAny(name, " \t\r\n/") {
		return "", "", badInput("tên người dùng %q: cần một từ, không dấu cách hay '/' (tối đa 64) / user name %q: want a word without spaces or '/' (at most 64)", name, name)
	}
	if !slices.Contains(Roles, role) {
		return "", "", badInput("vai trò %q: chọn một trong %s / role %q: want one of %s", role, strings.Join(Roles, ", "), role, strings.Join(Roles, ", "))
	}
	ls, err := s.logins()
	if err != nil {
		return "", "", err
	}
	token, hash := newToken(userTokenPrefix)
	password = passhash.Generate()
	var sc Scope
	err = ls.UpdateLogins(ctx, func(tx LoginTx) error {
		if len(wardIDs) > 0 || len(groups) > 0 {
			registry, err := tx.Wards(ctx)
			if err != nil {
				return err
			}
			if sc, err = CheckScope(wardIDs, groups, registry); err != nil {
				return err
			}
			if role == "admin" && !sc.CityWide() {
				return badInput("phạm vi: quản trị viên luôn quản lý cả thành phố / scope: an admin is always city-wide")
			}
		}
		if err := tx.AddUser(ctx, User{Name: name, Role: role, CreatedAt: s.Now()}, hash); err != nil {
			if errors.Is(err, sqlite.ErrExists) {
				return badInput("người dùng %s đã có / user %s already exists", name, name)
			}
			return err
		}
		if err := tx.SetPassword(ctx, name, passhash.Hash(password), true); err != nil {
			return err
		}
		if sc.CityWide() {
			return nil
		}
		return tx.SetUserScope(ctx, name, sc.Wards, sc.Groups)
	})
	if err != nil {
		return "", "", err
	}
	s.Log.Info("user added", "user", name, "role", role, "scope", sc.String())
	return token, password, nil
}

// People lists the users with their log-in state.
func (s *Service) People(ctx context.Context) ([]Person, error) {
	ls, err := s.logins()
	if err != nil {
		return nil, err
	}
	tx := ls.ReadLogins()
	users, err := tx.Users(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Person, 0, len(users))
	for _, u := range users {
		l, err := tx.UserLogin(ctx, u.Name)
		if err != nil {
			return nil, err
		}
		out = append(out, Person{User: u, Disabled: l.Disabled, Password: l.PasswordHash != ""})
	}
	return out, nil
}

// CheckPassword returns the role of user if password is theirs. Any
// refusal is ErrBadPassword, after the same work as a real check, so that
// the time taken does not tell which names exist.
func (s *Service) CheckPassword(ctx context.Context, user, password string) (string, error) {
	ls, err := s.logins()
	if err != nil {
		return "", err
	}
	l, err := ls.ReadLogins().UserLogin(ctx, user)
	if errors.Is(err, sqlite.ErrNotFound) || err == nil && (l.Disabled || l.PasswordHash == "") {
		passhash.Verify(password, dummyHash)
		return "", ErrBadPassword
	}
	if err != nil {
		return "", err
	}
	ok, err := passhash.Verify(password, l.PasswordHash)
	if err != nil {
		return "", fmt.Errorf("password of %s: %w", user, err)
	}
	if !ok {
		return "", ErrBadPassword
	}
	return l.Role, nil
}

// dummyHash is checked against when there is no user, for equal time.
var dummyHash = passhash.Hash("loa: no such user")

// ResetPassword gives user a new one-time password and ends their sessions.
func (s *Service) ResetPassword(ctx context.Context, user string) (string, error) {
	ls, err := s.logins()
	if err != nil {
		return "", err
	}
	password := passhash.Generate()
	err = ls.UpdateLogins(ctx, func(tx LoginTx) error {
		if err := tx.SetPassword(ctx, user, passhash.Hash(password), true); err != nil {
			return s.noUser(user, err)
		}
		return tx.DeleteUserSessions(ctx, user)
	})
	if err != nil {
		return "", err
	}
	return password, nil
}

// ChangePassword sets user's own password after checking the current one.
func (s *Service) ChangePassword(ctx context.Context, user, old, new string) error {
	if _, err := s.CheckPassword(ctx, user, old); err != nil {
		return err
	}
	if n := len([]rune(new)); n < passhash.MinLength {
		return badInput("mật khẩu mới quá ngắn: %d ký tự, cần ít nhất %d / the new password is too short: %d characters, at least %d", n, passhash.MinLength, n, passhash.MinLength)
	}
	if new == old {
		return badInput("mật khẩu mới phải khác mật khẩu cũ / the new password must differ from the old one")
	}
	ls, _ := s.logins()
	return ls.UpdateLogins(ctx, func(tx LoginTx) error { return tx.SetPassword(ctx, user, passhash.Hash(new), false) })
}

// SetDisabled disables a user (their sessions end, their token stops
// working) or enables them again.
func (s *Service) SetDisabled(ctx context.Context, user string, disabled bool) error {
	ls, err := s.logins()
	if err != nil {
		return err
	}
	return ls.UpdateLogins(ctx, func(tx LoginTx) error { return s.noUser(user, tx.SetUserDisabled(ctx, user, disabled)) })
}

func (s *Service) noUser(user string, err error) error {
	if errors.Is(err, sqlite.ErrNotFound) {
		return badInput("không có người dùng %s / no user %s", user, user)
	}
	return err
}

// StartSession stores a logged-in browser's session under idHash.
func (s *Service) StartSession(ctx context.Context, sess Session) error {
	ls, err := s.logins()
	if err != nil {
		return err
	}
	return ls.UpdateLogins(ctx, func(tx LoginTx) error {
		if err := tx.DeleteExpiredSessions(ctx); err != nil {
			return err
		}
		return tx.AddSession(ctx, sess)
	})
}

// Session returns a live session of an enabled user (sqlite.ErrNotFound
// otherwise), with the user's role and must-change state of now.
func (s *Service) Session(ctx context.Context, idHash string) (Session, bool, error) {
	ls, err := s.logins()
	if err != nil {
		return Session{}, false, err
	}
	tx := ls.ReadLogins()
	sess, err := tx.SessionByHash(ctx, idHash)
	if err != nil {
		return Session{}, false, err
	}
	l, err := tx.UserLogin(ctx, sess.User)
	return sess, l.MustChange, err
}

// EndSession ends one session; EndSessions every session of a user.
func (s *Service) EndSession(ctx context.Context, idHash string) error {
	ls, err := s.logins()
	if err != nil {
		return err
	}
	return ls.ReadLogins().DeleteSession(ctx, idHash)
}

// EndSessions ends every session of user (log out everywhere).
func (s *Service) EndSessions(ctx context.Context, user string) error {
	ls, err := s.logins()
	if err != nil {
		return err
	}
	return ls.ReadLogins().DeleteUserSessions(ctx, user)
}

// SessionLifetime bounds a console session.
const SessionLifetime = 12 * time.Hour
