package httpapi

import (
	"net/http"

	"loa/city/accounts"
	"loa/city/api"
	"loa/schedule"
)

// The ward registry, the wards' as-run logs, and the API's users.

func (s *Server) listWards(w http.ResponseWriter, r *http.Request, p principal) {
	out, err := s.d.Wards.Wards(r.Context())
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, scopedWards(p, out))
}

func (s *Server) getWard(w http.ResponseWriter, r *http.Request, p principal) {
	if !s.wardInScope(w, r, p) {
		return
	}
	out, err := s.d.Wards.Ward(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) postWard(w http.ResponseWriter, r *http.Request, p principal) {
	var nw api.NewWard
	if !decodeBody(w, r, &nw) {
		return
	}
	out, err := s.d.Wards.AddWard(r.Context(), nw.ID, nw.Groups)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, out)
}

// getAsRun is GET /api/v1/wards/{id}/asrun?date=YYYY-MM-DD: the ward's
// broadcast log for a day in the city's zone, as shipped by the ward.
func (s *Server) getAsRun(w http.ResponseWriter, r *http.Request, p principal) {
	id := r.PathValue("id")
	if !s.wardInScope(w, r, p) {
		return
	}
	if _, err := s.d.Accounts.Ward(r.Context(), id); err != nil {
		s.fail(w, r, err)
		return
	}
	d := s.today()
	if q := r.URL.Query().Get("date"); q != "" {
		var err error
		if d, err = schedule.ParseDate(q); err != nil {
			writeError(w, http.StatusBadRequest, "date %q: want YYYY-MM-DD", q)
			return
		}
	}
	out, err := s.d.Board.AsRunDay(r.Context(), id, d)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request, p principal) {
	users, err := s.d.Accounts.Users(r.Context())
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	out := make([]api.User, 0, len(users))
	for _, u := range users {
		sc := accounts.ScopeOf(u)
		out = append(out, api.User{Name: u.Name, Role: u.Role, CreatedAt: u.CreatedAt.UTC(), Wards: sc.Wards, Groups: sc.Groups})
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) postUser(w http.ResponseWriter, r *http.Request, p principal) {
	var nu api.NewUser
	if !decodeBody(w, r, &nu) {
		return
	}
	tok, err := s.d.Accounts.AddUser(r.Context(), nu.Name, nu.Role)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, api.User{Name: nu.Name, Role: nu.Role, CreatedAt: s.d.Now().UTC(), Token: tok})
}
