package httpapi

import (
	"net/http"

	"loa/city/accounts"
	"loa/city/api"
)

// Scoped users (docs/api.md, "Scope"): a user limited to some wards and
// groups reads and changes only those. Every decision is accounts.Scope's;
// this file only asks it and answers 403 with nothing changed.

// placesFor is the ward registry as scope decisions read it; nil (and no
// query) for a city-wide principal.
func (s *Server) placesFor(w http.ResponseWriter, r *http.Request, p principal) ([]accounts.Place, bool) {
	if p.scope.CityWide() {
		return nil, true
	}
	places, err := s.d.Accounts.Places(r.Context())
	if err != nil {
		s.internalError(w, r, err)
		return nil, false
	}
	return places, true
}

// outOfScope answers a request for something outside p's scope.
func outOfScope(w http.ResponseWriter, p principal, what string) {
	writeError(w, http.StatusForbidden, "%s ngoài phạm vi được giao của %s (%s) / %s is outside the scope of %s (%s); nothing changed",
		what, p.name(), p.scope, what, p.name(), p.scope)
}

// inScope checks a program target ("all", "group:G", "ward:ID") or a
// ward's id for p; false when it has answered.
func (s *Server) inScope(w http.ResponseWriter, r *http.Request, p principal, target string) bool {
	places, ok := s.placesFor(w, r, p)
	if !ok {
		return false
	}
	if !p.scope.AllowsTarget(target, places) {
		outOfScope(w, p, target)
		return false
	}
	return true
}

// readableInScope checks a program target p reads: the files that play
// on a ward of the scope (the city's, its groups', its own), as the
// console shows them.
func (s *Server) readableInScope(w http.ResponseWriter, r *http.Request, p principal, target string) bool {
	places, ok := s.placesFor(w, r, p)
	if !ok {
		return false
	}
	if !p.scope.Reaches(target, places) {
		outOfScope(w, p, target)
		return false
	}
	return true
}

// wardInScope checks the ward of the request's {id}.
func (s *Server) wardInScope(w http.ResponseWriter, r *http.Request, p principal) bool {
	return s.inScope(w, r, p, "ward:"+r.PathValue("id"))
}

// targetsInScope checks every target of an alert's or a live
// announcement's "to" list.
func (s *Server) targetsInScope(w http.ResponseWriter, r *http.Request, p principal, to string) bool {
	places, ok := s.placesFor(w, r, p)
	if !ok {
		return false
	}
	if !p.scope.AllowsTargets(to, places) {
		outOfScope(w, p, to)
		return false
	}
	return true
}

// scopedWards keeps the wards of p's scope.
func scopedWards(p principal, wards []api.Ward) []api.Ward {
	return accounts.Filter(p.scope, wards, func(w api.Ward) accounts.Place { return accounts.Place{ID: w.ID, Groups: w.Groups} })
}

// keepIf keeps the items ok says yes to.
func keepIf[T any](items []T, ok func(T) bool) []T {
	out := make([]T, 0, len(items))
	for _, it := range items {
		if ok(it) {
			out = append(out, it)
		}
	}
	return out
}
