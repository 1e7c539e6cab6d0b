package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"loa/city/alerting"
	"loa/city/api"
)

// fakeApprovals answers every id; the requests listed in reqs have
// their targets (the others none). Decisions are counted in c, if set.
type fakeApprovals struct {
	err  error
	reqs []api.AlertRequest
	c    *calls
}

func (f fakeApprovals) Requests(ctx context.Context, limit int, pendingOnly bool) ([]api.AlertRequest, error) {
	return append([]api.AlertRequest{}, f.reqs...), f.err
}

func (f fakeApprovals) Request(ctx context.Context, id string) (api.AlertRequest, error) {
	for _, q := range f.reqs {
		if q.ID == id {
			return q, f.err
		}
	}
	return api.AlertRequest{ID: id}, f.err
}

func (f fakeApprovals) Approve(ctx context.Context, id, by, role string) (api.AlertRequest, api.Alert, bool, error) {
	if f.c != nil {
		f.c.add("approve " + id)
	}
	return api.AlertRequest{ID: id, State: "approved"}, api.Alert{ID: "a1"}, false, f.err
}

func (f fakeApprovals) Refuse(ctx context.Context, id, by, role, reason string) (api.AlertRequest, error) {
	if f.c != nil {
		f.c.add("refuse " + id)
	}
	return api.AlertRequest{ID: id, State: "refused", Reason: reason}, f.err
}

// A send that needs approval is 202 with the request and where to follow
// it; the approvals' errors have their statuses.
func TestAlertApprovalAnswers(t *testing.T) {
	d, _ := testDeps(t)
	d.Alerting = fakeAlerting{err: &alerting.PendingError{Request: api.AlertRequest{ID: "yc-1", State: "pending"}}}
	w := do(t, New(d).Handler(), "POST", "/api/v1/alerts", "alerter", `{}`)
	if w.Code != http.StatusAccepted || w.Header().Get("Location") != "/api/v1/alert-requests/yc-1" || !strings.Contains(w.Body.String(), `"state": "pending"`) {
		t.Fatalf("pending send: %d %v %s", w.Code, w.Header(), w.Body)
	}
	for _, c := range []struct {
		err    error
		status int
	}{
		{fmt.Errorf("%w: you made it", alerting.ErrNotApprover), 403},
		{fmt.Errorf("%w: decided", alerting.ErrAlertConflict), 409},
		{fmt.Errorf("%w: yc-9", alerting.ErrRequestNotFound), 404},
	} {
		d.Approvals = fakeApprovals{err: c.err}
		if w := do(t, New(d).Handler(), "POST", "/api/v1/alert-requests/yc-1/approve", "approver", ""); w.Code != c.status {
			t.Errorf("%v: %d, want %d", c.err, w.Code, c.status)
		}
	}
}
