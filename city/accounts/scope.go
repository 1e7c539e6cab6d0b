package accounts

import (
	"context"
	"errors"
	"slices"
	"strings"
)

// Scope is what part of the city a user sees and changes: some wards and
// the wards of some groups. A commune's official is scoped to her
// commune's wards (or its group); the city's staff are city-wide.
//
// The rule, in one place (this file): a scope with no wards and no groups
// is the whole city. An admin is always city-wide (SetScope refuses to
// scope one, ScopeOf ignores any row). Users made before scopes existed,
// and users added without --wards/--groups, are city-wide; a scope is set
// explicitly, by naming wards and/or groups that exist, and is never
// empty: to make a user city-wide again, say so (--all).
//
// Every face (the JSON API, the console, the command line) asks this type
// and never decides by itself.
type Scope struct {
	Wards  []string // sorted ward ids
	Groups []string // sorted group names
}

// Place is a ward as a scope decides on it: its id and its groups.
type Place struct {
	ID     string
	Groups []string
}

// PlaceOf is a registered ward's place.
func PlaceOf(w Ward) Place { return Place{ID: w.ID, Groups: w.Groups} }

// ScopeOf is user u's scope: an admin's is always the whole city.
func ScopeOf(u User) Scope {
	if u.Role == "admin" {
		return Scope{}
	}
	return Scope{Wards: u.Wards, Groups: u.Groups}
}

// CityWide reports whether the scope is the whole city.
func (s Scope) CityWide() bool { return len(s.Wards) == 0 && len(s.Groups) == 0 }

// Allows reports whether ward w is in the scope: named, or in a named
// group.
func (s Scope) Allows(w Place) bool {
	if s.CityWide() || slices.Contains(s.Wards, w.ID) {
		return true
	}
	for _, g := range w.Groups {
		if slices.Contains(s.Groups, g) {
			return true
		}
	}
	return false
}

// AllowsWard reports whether the ward with id, as registered in wards, is
// in the scope; a ward not registered is in it only if named.
func (s Scope) AllowsWard(id string, wards []Place) bool {
	for _, w := range wards {
		if w.ID == id {
			return s.Allows(w)
		}
	}
	return s.CityWide() || slices.Contains(s.Wards, id)
}

// AllowsTarget reports whether the scope covers a target: "all" only for a
// city-wide scope; "group:G" when G is in the scope, or G has wards and
// every one of them is; "ward:ID" (or a bare ward id, as alerts name
// wards) when that ward is. wards is the registry the groups are read in.
func (s Scope) AllowsTarget(target string, wards []Place) bool {
	if s.CityWide() {
		return true
	}
	if target == "all" {
		return false
	}
	if g, ok := strings.CutPrefix(target, "group:"); ok {
		if slices.Contains(s.Groups, g) {
			return true
		}
		n := 0
		for _, w := range wards {
			if slices.Contains(w.Groups, g) {
				if !s.Allows(w) {
					return false
				}
				n++
			}
		}
		return n > 0
	}
	return s.AllowsWard(strings.TrimPrefix(target, "ward:"), wards)
}

// AllowsTargets reports whether the scope covers every target of a
// comma-separated list (an alert's or a live announcement's "to").
func (s Scope) AllowsTargets(list string, wards []Place) bool {
	if s.CityWide() {
		return true
	}
	n := 0
	for _, t := range strings.Split(list, ",") {
		if t = strings.TrimSpace(t); t == "" {
			continue
		}
		if !s.AllowsTarget(t, wards) {
			return false
		}
		n++
	}
	return n > 0
}

// Reaches reports whether a comma-separated target list reaches any ward
// of the scope (an alert to "all" reaches every ward): what a scoped user
// may read about an alert.
func (s Scope) Reaches(list string, wards []Place) bool {
	if s.CityWide() {
		return true
	}
	for _, t := range strings.Split(list, ",") {
		t = strings.TrimSpace(t)
		g, isGroup := strings.CutPrefix(t, "group:")
		for _, w := range wards {
			in := t == "all" || isGroup && slices.Contains(w.Groups, g) || !isGroup && strings.TrimPrefix(t, "ward:") == w.ID
			if in && s.Allows(w) {
				return true
			}
		}
		if !isGroup && slices.Contains(s.Wards, strings.TrimPrefix(t, "ward:")) || isGroup && slices.Contains(s.Groups, g) {
			return true
		}
	}
	return false
}

// Filter keeps the items whose ward the scope allows; place says which
// ward an item is.
func Filter[T any](s Scope, items []T, place func(T) Place) []T {
	if s.CityWide() {
		return items
	}
	out := make([]T, 0, len(items))
	for _, it := range items {
		if s.Allows(place(it)) {
			out = append(out, it)
		}
	}
	return out
}

// String is the scope as the command line and the audit log show it.
func (s Scope) String() string {
	if s.CityWide() {
		return "all"
	}
	var parts []string
	if len(s.Wards) > 0 {
		parts = append(parts, "wards "+strings.Join(s.Wards, ","))
	}
	if len(s.Groups) > 0 {
		parts = append(parts, "groups "+strings.Join(s.Groups, ","))
	}
	return strings.Join(parts, "; ")
}

// ErrOutOfScope: the ward or target is outside the user's scope (HTTP
// 403; nothing changed).
var ErrOutOfScope = errors.New("ngoài phạm vi được giao / outside your scope")

// CheckScope makes s from the --wards and --groups a user is given: each
// must be a valid name of a registered ward, or of a group some ward is
// in; repeats count once. The error names the field, in Vietnamese and
// English.
func CheckScope(wardIDs, groups []string, registry []Ward) (Scope, error) {
	known := map[string]bool{}
	knownGroup := map[string]bool{}
	for _, w := range registry {
		known[w.ID] = true
		for _, g := range w.Groups {
			knownGroup[g] = true
		}
	}
	var sc Scope
	for _, id := range wardIDs {
		if id = strings.TrimSpace(id); id == "" {
			continue
		}
		if !validID(id) || !known[id] {
			return Scope{}, badInput("phường (--wards) %q: không có phường này / wards (--wards) %q: no such ward", id, id)
		}
		sc.Wards = append(sc.Wards, id)
	}
	for _, g := range groups {
		if g = strings.TrimSpace(g); g == "" {
			continue
		}
		if !validID(g) || !knownGroup[g] {
			return Scope{}, badInput("nhóm (--groups) %q: không có phường nào trong nhóm này / groups (--groups) %q: no ward is in this group", g, g)
		}
		sc.Groups = append(sc.Groups, g)
	}
	slices.Sort(sc.Wards)
	slices.Sort(sc.Groups)
	sc.Wards, sc.Groups = slices.Compact(sc.Wards), slices.Compact(sc.Groups)
	return sc, nil
}

// SetScope scopes user to some wards and groups, or (all) makes them
// city-wide again. A scope names at least one ward or group, each
// registered; an admin is never scoped. Nothing changes on an error.
func (s *Service) SetScope(ctx context.Context, user string, wardIDs, groups []string, all bool) (Scope, error) {
	ls, err := s.logins()
	if err != nil {
		return Scope{}, err
	}
	var sc Scope
	err = ls.UpdateLogins(ctx, func(tx LoginTx) error {
		l, err := tx.UserLogin(ctx, user)
		if err != nil {
			return s.noUser(user, err)
		}
		if all {
			if len(wardIDs) > 0 || len(groups) > 0 {
				return badInput("phạm vi: --all hoặc --wards/--groups, không cả hai / scope: --all or --wards/--groups, not both")
			}
			return tx.SetUserScope(ctx, user, nil, nil)
		}
		registry, err := tx.Wards(ctx)
		if err != nil {
			return err
		}
		if sc, err = CheckScope(wardIDs, groups, registry); err != nil {
			return err
		}
		switch {
		case sc.CityWide():
			return badInput("phạm vi (--wards, --groups): cần ít nhất một phường hoặc nhóm, hoặc --all / scope (--wards, --groups): name at least one ward or group, or --all for the whole city")
		case l.Role == "admin":
			return badInput("phạm vi: quản trị viên luôn quản lý cả thành phố / scope: an admin is always city-wide")
		}
		return tx.SetUserScope(ctx, user, sc.Wards, sc.Groups)
	})
	if err != nil {
		return Scope{}, err
	}
	s.Log.Info("user scope set", "user", user, "scope", sc.String())
	return sc, nil
}

// UserScope is the scope of user now (a changed scope applies at once,
// to their sessions and tokens alike).
func (s *Service) UserScope(ctx context.Context, user string) (Scope, error) {
	ls, err := s.logins()
	if err != nil {
		return Scope{}, err
	}
	tx := ls.ReadLogins()
	l, err := tx.UserLogin(ctx, user)
	if err != nil {
		return Scope{}, err
	}
	wards, groups, err := tx.UserScope(ctx, user)
	return ScopeOf(User{Name: user, Role: l.Role, Wards: wards, Groups: groups}), err
}

// Places lists every registered ward's place, for scope decisions.
func (s *Service) Places(ctx context.Context) ([]Place, error) {
	wards, err := s.Wards(ctx)
	out := make([]Place, len(wards))
	for i, w := range wards {
		out[i] = PlaceOf(w)
	}
	return out, err
}
