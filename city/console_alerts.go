package city

import (
	"context"
	"errors"

	"loa/city/alerting"
	"loa/city/api"
	"loa/city/console"
	"loa/internal/cmdkit"
)

// consoleAlerts is the alerting service as the console's alert pages use
// it: the service's refusals (bad input, not allowed, conflict, not
// found) become console.AlertError, shown as they are.
type consoleAlerts struct{ c *City }

func pageError(err error) error {
	var bad *cmdkit.BadInputError
	if errors.As(err, &bad) || errors.Is(err, alerting.ErrNotApprover) || errors.Is(err, alerting.ErrAlertConflict) ||
		errors.Is(err, alerting.ErrAlertNotFound) || errors.Is(err, alerting.ErrRequestNotFound) || errors.Is(err, alerting.ErrNoNATS) {
		return &console.AlertError{Msg: err.Error()}
	}
	return err
}

func (a consoleAlerts) Plan(ctx context.Context, req api.NewAlert, by string) ([]string, bool, error) {
	w, needs, err := a.c.Alerting.Plan(ctx, req, by)
	return w, needs, pageError(err)
}

func (a consoleAlerts) Submit(ctx context.Context, req api.NewAlert, by string) (*api.Alert, *api.AlertRequest, error) {
	res, queued, err := a.c.Alerting.Send(ctx, req, by)
	var pend *alerting.PendingError
	switch {
	case errors.As(err, &pend):
		return nil, &pend.Request, nil
	case queued:
		return &res, nil, err // recorded, not yet in NATS: its page says so
	case err != nil:
		return nil, nil, pageError(err)
	}
	return &res, nil, nil
}

func (a consoleAlerts) Cancel(ctx context.Context, id, by string) (api.Alert, error) {
	res, queued, err := a.c.Alerting.Cancel(ctx, id, by)
	if queued {
		return res, nil
	}
	return res, pageError(err)
}

func (a consoleAlerts) Status(ctx context.Context, id string) (api.Alert, error) {
	res, err := a.c.Alerting.Status(ctx, id)
	return res, pageError(err)
}

func (a consoleAlerts) List(ctx context.Context, limit int) ([]api.AlertListEntry, error) {
	return a.c.Alerting.List(ctx, limit)
}

func (a consoleAlerts) Requests(ctx context.Context, limit int, pendingOnly bool) ([]api.AlertRequest, error) {
	return a.c.Alerting.Requests(ctx, limit, pendingOnly)
}

func (a consoleAlerts) Request(ctx context.Context, id string) (api.AlertRequest, error) {
	res, err := a.c.Alerting.Request(ctx, id)
	return res, pageError(err)
}

func (a consoleAlerts) Approve(ctx context.Context, id, by, role string) (api.AlertRequest, error) {
	res, _, queued, err := a.c.Alerting.Approve(ctx, id, by, role)
	if queued {
		return res, nil
	}
	return res, pageError(err)
}

func (a consoleAlerts) Refuse(ctx context.Context, id, by, role, reason string) (api.AlertRequest, error) {
	res, err := a.c.Alerting.Refuse(ctx, id, by, role, reason)
	return res, pageError(err)
}

func (a consoleAlerts) Rules() console.AlertRules {
	r := a.c.Alerting.Rules()
	return console.AlertRules{Training: r.Training, TestPrefix: r.TestPrefix, BreakGlass: r.BreakGlass}
}
