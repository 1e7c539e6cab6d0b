package httpapi

import (
	"context"
	"errors"
	"net/http"

	"loa/city/alerting"
	"loa/city/api"
)

// The two-person rule (docs/api.md "Approval"): alerts waiting for a
// second person, approved or refused by one with the approver role.

// AlertApprovals are the requests of the two-person rule
// (*alerting.Service).
type AlertApprovals interface {
	Requests(ctx context.Context, limit int, pendingOnly bool) ([]api.AlertRequest, error)
	Request(ctx context.Context, id string) (api.AlertRequest, error)
	Approve(ctx context.Context, id, by, role string) (api.AlertRequest, api.Alert, bool, error)
	Refuse(ctx context.Context, id, by, role, reason string) (api.AlertRequest, error)
}

func (s *Server) listAlertRequests(w http.ResponseWriter, r *http.Request, p principal) {
	limit, ok := queryLimit(w, r, 50)
	if !ok {
		return
	}
	pending := r.URL.Query().Get("state") == "pending"
	res, err := s.d.Approvals.Requests(r.Context(), limit, pending)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	places, ok := s.placesFor(w, r, p)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, keepIf(res, func(q api.AlertRequest) bool { return p.scope.Reaches(q.Targets, places) }))
}

// requestInScope fetches the request of the path for p: a scoped user
// sees one that reaches her wards and decides one whose every target is
// hers (approving sends to all of them). False when it has answered.
func (s *Server) requestInScope(w http.ResponseWriter, r *http.Request, p principal, decide bool) (api.AlertRequest, bool) {
	q, err := s.d.Approvals.Request(r.Context(), r.PathValue("id"))
	if err != nil {
		s.alertFail(w, r, err)
		return q, false
	}
	if p.scope.CityWide() {
		return q, true
	}
	if decide {
		return q, s.targetsInScope(w, r, p, q.Targets)
	}
	places, ok := s.placesFor(w, r, p)
	if !ok {
		return q, false
	}
	if !p.scope.Reaches(q.Targets, places) {
		outOfScope(w, p, q.Targets)
		return q, false
	}
	return q, true
}

func (s *Server) getAlertRequest(w http.ResponseWriter, r *http.Request, p principal) {
	res, ok := s.requestInScope(w, r, p, false)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// approveAnswer is the answer to an approval: the request, and the alert
// it sent.
type approveAnswer struct {
	Request api.AlertRequest `json:"request"`
	Alert   *api.Alert       `json:"alert,omitempty"`
}

func (s *Server) postApprove(w http.ResponseWriter, r *http.Request, p principal) {
	if _, ok := s.requestInScope(w, r, p, true); !ok {
		return
	}
	req, res, queued, err := s.d.Approvals.Approve(r.Context(), r.PathValue("id"), p.name(), p.role)
	if err != nil && !queued {
		s.alertFail(w, r, err)
		return
	}
	status := http.StatusOK
	if queued {
		status = http.StatusAccepted
	}
	writeJSON(w, status, approveAnswer{Request: req, Alert: &res})
}

func (s *Server) postRefuse(w http.ResponseWriter, r *http.Request, p principal) {
	var body api.AlertRefusal
	if !decodeBody(w, r, &body) {
		return
	}
	if _, ok := s.requestInScope(w, r, p, true); !ok {
		return
	}
	res, err := s.d.Approvals.Refuse(r.Context(), r.PathValue("id"), p.name(), p.role, body.Reason)
	if err != nil {
		s.alertFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// pendingAnswer answers a send that waits for approval: 202 and the
// request. It reports whether err was that.
func pendingAnswer(w http.ResponseWriter, err error) bool {
	var pend *alerting.PendingError
	if !errors.As(err, &pend) {
		return false
	}
	w.Header().Set("Location", "/api/v1/alert-requests/"+pend.Request.ID)
	writeJSON(w, http.StatusAccepted, pend.Request)
	return true
}
