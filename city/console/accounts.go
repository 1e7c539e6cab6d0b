package console

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"loa/city/accounts"
)

// Accounts is what the console needs of the city's accounts service.
type Accounts interface {
	Passwords
	Users(ctx context.Context) ([]UserInfo, error)
	// AddUser makes a user and returns their one-time password.
	AddUser(ctx context.Context, name, role, by string) (password string, err error)
	// ResetPassword gives a user a new one-time password and ends their
	// sessions.
	ResetPassword(ctx context.Context, name, by string) (password string, err error)
	// SetDisabled disables (ending every session and token) or enables a user.
	SetDisabled(ctx context.Context, name string, disabled bool, by string) error
	// ChangePassword sets a user's own password, after checking the old one.
	ChangePassword(ctx context.Context, name, old, new string) error
	// SetScope limits a user to some wards and groups (none: the whole
	// city); accounts.SetScope's rules, its errors in both languages.
	SetScope(ctx context.Context, name string, wards, groups []string, by string) error
	Audit(ctx context.Context, f AuditFilter) ([]AuditEntry, error)
}

// UserInfo is a user as the admin's page lists them.
type UserInfo struct {
	Name      string
	Role      string
	Disabled  bool
	Password  bool // has a console password
	CreatedAt time.Time
	// Scope is the user's (empty: the whole city).
	Scope accounts.Scope
}

// AuditFilter selects rows of the audit log.
type AuditFilter struct {
	Actor, Action string
	Since, Until  time.Time
	Before        int64
	Limit         int
}

// AuditEntry is one change: who, what, when, from where.
type AuditEntry struct {
	ID                                   int64
	At                                   time.Time
	Actor, Action, Target, Detail, Where string
}

// Roles the console offers, in the order of the GLOSSARY.
var roles = []string{"admin", "operator", "alerter", "approver", "technician"}

type usersData struct {
	Users       []userRow
	Roles       []option
	NewName     string
	OneTime     string // a password to give the user, shown once
	OneTimeUser string
	Error       string
	// Saved names the user whose scope was just saved.
	Saved string
}

type userRow struct {
	UserInfo
	RoleLabel string
	Created   string
	// ScopeText is the scope as the list shows it; ScopeGroups and
	// ScopeWards the editor's boxes (users_scope.go).
	ScopeText   string
	ScopeGroups []option
	ScopeWards  []option
}

func (c *Console) adminOnly(w http.ResponseWriter, r *http.Request, s *Session) bool {
	if s.Role != "admin" {
		c.errorPage(w, r, s, http.StatusForbidden, T(langOf(r), "forbidden"))
		return false
	}
	return true
}

func (c *Console) getUsers(w http.ResponseWriter, r *http.Request, s *Session) {
	if c.adminOnly(w, r, s) {
		c.showUsers(w, r, s, http.StatusOK, usersData{})
	}
}

func (c *Console) showUsers(w http.ResponseWriter, r *http.Request, s *Session, status int, d usersData) {
	l := langOf(r)
	users, err := c.deps.Accounts.Users(r.Context())
	if err != nil {
		c.internal(w, r, s, "users", err)
		return
	}
	wards, err := c.deps.Schedules.Wards(r.Context())
	if err != nil {
		c.internal(w, r, s, "users", err)
		return
	}
	for _, u := range users {
		d.Users = append(d.Users, scopeRow(l, userRow{UserInfo: u, RoleLabel: T(l, "role."+u.Role), Created: u.CreatedAt.In(c.deps.Location).Format("02/01/2006")}, wards))
	}
	for _, role := range roles {
		d.Roles = append(d.Roles, option{role, T(l, "role."+role), role == "operator"})
	}
	p := c.newPage(r, s, "nav.users")
	p.Data = d
	c.render(w, r, status, "users", p)
}

// postUsers adds a user, resets a password, or disables/enables a user.
func (c *Console) postUsers(w http.ResponseWriter, r *http.Request, s *Session) {
	if !c.adminOnly(w, r, s) {
		return
	}
	ctx := r.Context()
	name := strings.TrimSpace(r.PostFormValue("name"))
	var d usersData
	var err error
	switch r.PostFormValue("action") {
	case "add":
		d.NewName = name
		d.OneTime, err = c.deps.Accounts.AddUser(ctx, name, r.PostFormValue("role"), s.User)
	case "reset":
		d.OneTime, err = c.deps.Accounts.ResetPassword(ctx, name, s.User)
	case "scope":
		err = c.deps.Accounts.SetScope(ctx, name, r.PostForm["ward"], r.PostForm["group"], s.User)
		if err == nil {
			d.Saved = name
		}
	case "disable", "enable":
		if name == s.User {
			err = errors.New(T(langOf(r), "users.err.self"))
		} else {
			err = c.deps.Accounts.SetDisabled(ctx, name, r.PostFormValue("action") == "disable", s.User)
		}
	default:
		err = errors.New("?")
	}
	if err != nil {
		d.Error, d.OneTime = err.Error(), ""
		c.showUsers(w, r, s, http.StatusBadRequest, d)
		return
	}
	if d.OneTime != "" {
		d.OneTimeUser = name
	}
	c.showUsers(w, r, s, http.StatusOK, d)
}

type passwordData struct {
	Done  bool
	Error string
}

func (c *Console) getPassword(w http.ResponseWriter, r *http.Request, s *Session) {
	p := c.newPage(r, s, "password.change")
	p.Data = passwordData{}
	c.render(w, r, http.StatusOK, "password", p)
}

func (c *Console) postPassword(w http.ResponseWriter, r *http.Request, s *Session) {
	l := langOf(r)
	p := c.newPage(r, s, "password.change")
	oldPW, newPW := r.PostFormValue("old"), r.PostFormValue("new")
	var d passwordData
	status := http.StatusOK
	switch {
	case newPW != r.PostFormValue("again"):
		d.Error = T(l, "password.err.again")
	default:
		err := c.deps.Accounts.ChangePassword(r.Context(), s.User, oldPW, newPW)
		switch {
		case errors.Is(err, ErrBadPassword):
			d.Error = T(l, "password.err.old")
		case err != nil:
			d.Error = err.Error()
		default:
			d.Done = true
		}
	}
	if d.Error != "" {
		status = http.StatusBadRequest
	}
	p.Data = d
	c.render(w, r, status, "password", p)
}

type auditData struct {
	Actor, Action, Since, Until string
	Rows                        []auditRow
	More                        int64 // id for the next page, 0: none
}

type auditRow struct {
	AuditEntry
	When string
}

const auditPage = 100

func (c *Console) getAudit(w http.ResponseWriter, r *http.Request, s *Session) {
	if !c.adminOnly(w, r, s) {
		return
	}
	d := auditData{Actor: strings.TrimSpace(r.FormValue("actor")), Action: strings.TrimSpace(r.FormValue("action")),
		Since: r.FormValue("since"), Until: r.FormValue("until")}
	f := AuditFilter{Actor: d.Actor, Action: d.Action, Limit: auditPage + 1}
	if t, err := time.ParseInLocation("2006-01-02", d.Since, c.deps.Location); err == nil {
		f.Since = t
	}
	if t, err := time.ParseInLocation("2006-01-02", d.Until, c.deps.Location); err == nil {
		f.Until = t.AddDate(0, 0, 1)
	}
	f.Before, _ = strconv.ParseInt(r.FormValue("before"), 10, 64)
	rows, err := c.deps.Accounts.Audit(r.Context(), f)
	if err != nil {
		c.internal(w, r, s, "audit", err)
		return
	}
	if len(rows) > auditPage {
		rows = rows[:auditPage]
		d.More = rows[len(rows)-1].ID
	}
	for _, e := range rows {
		d.Rows = append(d.Rows, auditRow{e, e.At.In(c.deps.Location).Format("02/01/2006 15:04:05")})
	}
	p := c.newPage(r, s, "nav.audit")
	p.Data = d
	c.render(w, r, http.StatusOK, "audit", p)
}
