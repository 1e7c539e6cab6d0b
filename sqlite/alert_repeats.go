package sqlite

import (
	"context"
	"time"
)

// AlertRepeat is an alert the city re-sends every Every until Until, a
// cancel or an Update that replaces it.
type AlertRepeat struct {
	ID      string // the first alert sent
	SentBy  string
	Request []byte // api.NewAlert as JSON
	Every   time.Duration
	Until   time.Time
	Next    time.Time
	Last    string
	Sent    int
	State   string // active | ended | stopped | failed
	Reason  string
}

// AddAlertRepeat records a new schedule. An id already used is ErrExists.
func (t CityTx) AddAlertRepeat(ctx context.Context, r AlertRepeat) error {
	_, err := t.q.ExecContext(ctx, `INSERT INTO alert_repeats(id, sent_by, request, every_ms, until_at, next_at, last, sent, state, reason)
		VALUES(?,?,?,?,?,?,?,?,?,?)`, r.ID, r.SentBy, string(r.Request), r.Every.Milliseconds(), ms(r.Until), ms(r.Next), r.Last, r.Sent, r.State, r.Reason)
	if isUnique(err) {
		return ErrExists
	}
	return err
}

// ActiveAlertRepeats lists the schedules still running, the next due
// first.
func (t CityTx) ActiveAlertRepeats(ctx context.Context) ([]AlertRepeat, error) {
	return t.alertRepeats(ctx, `WHERE state = 'active' ORDER BY next_at, id`)
}

// AlertRepeats lists the latest schedules, any state, newest first.
func (t CityTx) AlertRepeats(ctx context.Context, limit int) ([]AlertRepeat, error) {
	return t.alertRepeats(ctx, `ORDER BY id DESC LIMIT ?`, limit)
}

func (t CityTx) alertRepeats(ctx context.Context, where string, args ...any) ([]AlertRepeat, error) {
	rows, err := t.q.QueryContext(ctx, `SELECT id, sent_by, request, every_ms, until_at, next_at, last, sent, state, reason FROM alert_repeats `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []AlertRepeat
	for rows.Next() {
		var r AlertRepeat
		var req string
		var every, until, next int64
		if err := rows.Scan(&r.ID, &r.SentBy, &req, &every, &until, &next, &r.Last, &r.Sent, &r.State, &r.Reason); err != nil {
			return nil, err
		}
		r.Request, r.Every, r.Until, r.Next = []byte(req), time.Duration(every)*time.Millisecond, fromMS(until), fromMS(next)
		out = append(out, r)
	}
	return out, rows.Err()
}

// SetAlertRepeat records where a schedule stands (its next re-send, the
// last alert, how many were sent, its state and why).
func (t CityTx) SetAlertRepeat(ctx context.Context, r AlertRepeat) error {
	return oneRow(t.q.ExecContext(ctx, `UPDATE alert_repeats SET next_at = ?, last = ?, sent = ?, state = ?, reason = ? WHERE id = ?`,
		ms(r.Next), r.Last, r.Sent, r.State, r.Reason, r.ID))
}
