package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrNotPending: the request was decided or expired already.
var ErrNotPending = errors.New("not pending")

// AlertRequest is an alert waiting for (or decided by) a second person.
type AlertRequest struct {
	ID          string
	RequestedBy string
	RequestedAt time.Time
	Expires     time.Time
	Priority    string
	Status      string
	Targets     string
	Wards       []string
	Headline    string
	// Request is the request as JSON.
	Request   []byte
	State     string // pending | approved | refused | failed
	DecidedBy string
	DecidedAt time.Time // zero: not decided
	Reason    string
	Alert     string
}

// AddAlertRequest records a pending request. An id already used is
// ErrExists.
func (t CityTx) AddAlertRequest(ctx context.Context, r AlertRequest) error {
	_, err := t.q.ExecContext(ctx, `INSERT INTO alert_requests(id, requested_by, requested_at, expires_at, priority, status, targets, wards, headline, request, state)
		VALUES(?,?,?,?,?,?,?,?,?,?,'pending')`, r.ID, r.RequestedBy, ms(r.RequestedAt), ms(r.Expires), r.Priority, r.Status, r.Targets,
		strings.Join(r.Wards, " "), r.Headline, string(r.Request))
	if isUnique(err) {
		return fmt.Errorf("alert request %s: %w", r.ID, ErrExists)
	}
	return err
}

const alertRequestCols = `id, requested_by, requested_at, expires_at, priority, status, targets, wards, headline, request, state, decided_by, decided_at, reason, alert`

func scanAlertRequest(sc interface{ Scan(...any) error }) (AlertRequest, error) {
	var r AlertRequest
	var at, exp int64
	var decided sql.NullInt64
	var wards, req string
	if err := sc.Scan(&r.ID, &r.RequestedBy, &at, &exp, &r.Priority, &r.Status, &r.Targets, &wards, &r.Headline, &req, &r.State,
		&r.DecidedBy, &decided, &r.Reason, &r.Alert); err != nil {
		return r, err
	}
	r.RequestedAt, r.Expires, r.Wards, r.Request = fromMS(at), fromMS(exp), strings.Fields(wards), []byte(req)
	if decided.Valid {
		r.DecidedAt = fromMS(decided.Int64)
	}
	return r, nil
}

// AlertRequest returns one request.
func (t CityTx) AlertRequest(ctx context.Context, id string) (AlertRequest, error) {
	r, err := scanAlertRequest(t.q.QueryRowContext(ctx, `SELECT `+alertRequestCols+` FROM alert_requests WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("alert request %s: %w", id, ErrNotFound)
	}
	return r, err
}

// AlertRequests lists the latest requests, newest first.
func (t CityTx) AlertRequests(ctx context.Context, limit int) ([]AlertRequest, error) {
	rows, err := t.q.QueryContext(ctx, `SELECT `+alertRequestCols+` FROM alert_requests ORDER BY requested_at DESC, id LIMIT ?`, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []AlertRequest
	for rows.Next() {
		r, err := scanAlertRequest(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// DecideAlertRequest moves a request that is still pending and not
// expired at at to state (approved or refused), by whom, with reason.
// A request decided or expired meanwhile is ErrNotPending: of two approvers
// clicking at once, one wins.
func (t CityTx) DecideAlertRequest(ctx context.Context, id, state, by, reason string, at time.Time) error {
	res, err := t.q.ExecContext(ctx, `UPDATE alert_requests SET state = ?, decided_by = ?, decided_at = ?, reason = ?
		WHERE id = ? AND state = 'pending' AND expires_at > ?`, state, by, ms(at), reason, id, ms(at))
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("alert request %s: %w", id, ErrNotPending)
	}
	return nil
}

// SetAlertRequestOutcome records what became of an approved request: the
// alert sent, or (failed) why none could be.
func (t CityTx) SetAlertRequestOutcome(ctx context.Context, id, alert, failure string) error {
	q := `UPDATE alert_requests SET alert = ? WHERE id = ?`
	args := []any{alert, id}
	if failure != "" {
		q, args = `UPDATE alert_requests SET state = 'failed', reason = ? WHERE id = ?`, []any{failure, id}
	}
	return oneRow(t.q.ExecContext(ctx, q, args...))
}
