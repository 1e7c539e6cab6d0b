package console

import (
	"net/http"

	"loa/city/accounts"
	"loa/city/api"
)

// Scoped users (docs/console.md, "Phạm vi"): an operator or technician
// limited to some wards and groups sees only those in the lists, and
// another ward's pages answer 403. Every decision is accounts.Scope's, the
// same the JSON API asks; the library stays the whole city's.

// placeOf is a ward as a scope decides on it.
func placeOf(w api.Ward) accounts.Place { return accounts.Place{ID: w.ID, Groups: w.Groups} }

func placesOf(wards []api.Ward) []accounts.Place {
	out := make([]accounts.Place, len(wards))
	for i, w := range wards {
		out[i] = placeOf(w)
	}
	return out
}

// scopedWards keeps the wards of the session's scope.
func scopedWards(s *Session, wards []api.Ward) []api.Ward {
	return accounts.Filter(s.Scope, wards, placeOf)
}

// inScope asks the session's scope one question about the ward
// registry; a city-wide session is always in, and a registry that cannot
// be read keeps a scoped one out.
func (c *Console) inScope(r *http.Request, s *Session, ask func(accounts.Scope, []accounts.Place) bool) bool {
	if s.Scope.CityWide() {
		return true
	}
	wards, err := c.deps.Schedules.Wards(r.Context())
	if err != nil {
		c.deps.Log.Error("console scope", "user", s.User, "err", err)
		return false
	}
	return ask(s.Scope, placesOf(wards))
}

// allowsTarget reports whether the session's scope covers a program
// target ("all", "group:G", "ward:ID").
func (c *Console) allowsTarget(r *http.Request, s *Session, target string) bool {
	return c.inScope(r, s, func(sc accounts.Scope, p []accounts.Place) bool { return sc.AllowsTarget(target, p) })
}

// allowsTargets reports whether the session's scope covers every target
// of a comma-separated list (an alert's or a live announcement's "to").
func (c *Console) allowsTargets(r *http.Request, s *Session, list string) bool {
	return c.inScope(r, s, func(sc accounts.Scope, p []accounts.Place) bool { return sc.AllowsTargets(list, p) })
}

// targetsOK says whether the session's scope covers an alert's targets:
// to see it, they reach one of her wards; to change it (approve, refuse,
// cancel, correct), every target is hers.
func (c *Console) targetsOK(r *http.Request, s *Session, targets string, change bool) bool {
	if change {
		return c.allowsTargets(r, s, targets)
	}
	return c.inScope(r, s, func(sc accounts.Scope, p []accounts.Place) bool { return sc.Reaches(targets, p) })
}

// outOfScope answers a page or a change outside the session's scope.
func (c *Console) outOfScope(w http.ResponseWriter, r *http.Request, s *Session) {
	c.deps.Log.Warn("console: refused outside the user's scope", "user", s.User, "path", r.URL.Path, "scope", s.Scope.String())
	p := c.newPage(r, s, "scope.refused.title")
	p.Error = T(p.Lang, "scope.refused")
	c.render(w, r, http.StatusForbidden, "error", p)
}
