package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// SeenAlert is an alert the ward accepted.
type SeenAlert struct {
	ID         string
	StreamSeq  uint64
	ReceivedAt time.Time
	Expires    time.Time
	State      string
	Envelope   []byte
}

// SeenAlert returns the alert with that id (ErrNotFound: never seen).
func (db *AgentDB) SeenAlert(ctx context.Context, id string) (SeenAlert, error) {
	var s SeenAlert
	var seq, recv, exp int64
	err := db.QueryRowContext(ctx, `SELECT id, stream_seq, received_at, expires, state, envelope FROM alerts_seen WHERE id = ?`, id).
		Scan(&s.ID, &seq, &recv, &exp, &s.State, &s.Envelope)
	if errors.Is(err, sql.ErrNoRows) {
		return s, fmt.Errorf("alert %s: %w", id, ErrNotFound)
	}
	s.StreamSeq, s.ReceivedAt, s.Expires = uint64(seq), fromMS(recv), fromMS(exp)
	return s, err
}

// SeenAlertIDs returns every accepted alert's id with its stream
// sequence: the replay guard, held in memory so that an emergency does
// not wait for a database read.
func (db *AgentDB) SeenAlertIDs(ctx context.Context) (map[string]uint64, error) {
	rows, err := db.QueryContext(ctx, `SELECT id, stream_seq FROM alerts_seen`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]uint64{}
	for rows.Next() {
		var id string
		var seq int64
		if err := rows.Scan(&id, &seq); err != nil {
			return nil, err
		}
		out[id] = uint64(seq)
	}
	return out, rows.Err()
}

// AddSeenAlert records an accepted alert; an id already there is
// ErrExists (the replay guard holds even between two racing copies).
func (db *AgentDB) AddSeenAlert(ctx context.Context, s SeenAlert) error {
	_, err := db.ExecContext(ctx, `INSERT INTO alerts_seen(id, stream_seq, received_at, expires, state, envelope) VALUES(?,?,?,?,?,?)`,
		s.ID, int64(s.StreamSeq), ms(s.ReceivedAt), ms(s.Expires), s.State, s.Envelope)
	if isUnique(err) {
		return fmt.Errorf("alert %s: %w", s.ID, ErrExists)
	}
	return err
}

// SetSeenAlertState records where an accepted alert stands.
func (db *AgentDB) SetSeenAlertState(ctx context.Context, id, state string) error {
	_, err := db.ExecContext(ctx, `UPDATE alerts_seen SET state = ? WHERE id = ?`, state, id)
	return err
}

// OpenAlerts lists the accepted alerts that have not ended (received or
// started) and expire after now, oldest first: what to resume after a
// restart.
func (db *AgentDB) OpenAlerts(ctx context.Context, now time.Time) ([]SeenAlert, error) {
	rows, err := db.QueryContext(ctx, `SELECT id, stream_seq, received_at, expires, state, envelope FROM alerts_seen
		WHERE state IN ('received', 'started') AND expires > ? ORDER BY received_at, id`, ms(now))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []SeenAlert
	for rows.Next() {
		var s SeenAlert
		var seq, recv, exp int64
		if err := rows.Scan(&s.ID, &seq, &recv, &exp, &s.State, &s.Envelope); err != nil {
			return nil, err
		}
		s.StreamSeq, s.ReceivedAt, s.Expires = uint64(seq), fromMS(recv), fromMS(exp)
		out = append(out, s)
	}
	return out, rows.Err()
}

// PruneSeenAlerts drops alerts that expired before cutoff.
func (db *AgentDB) PruneSeenAlerts(ctx context.Context, cutoff time.Time) (int64, error) {
	res, err := db.ExecContext(ctx, `DELETE FROM alerts_seen WHERE expires < ?`, ms(cutoff))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// QueuedReport is a receipt waiting to be sent.
type QueuedReport struct {
	ID   int64
	Body []byte
}

// QueueReport keeps a receipt until the city's NATS acknowledges it.
func (db *AgentDB) QueueReport(ctx context.Context, body []byte) (int64, error) {
	res, err := db.ExecContext(ctx, `INSERT INTO alert_outbox(body, created_at) VALUES(?,?)`, body, ms(db.Now()))
	if err != nil {
		return 0, err
	}
	return res.LastInsertId()
}

// QueuedReports returns up to n waiting receipts, oldest first.
func (db *AgentDB) QueuedReports(ctx context.Context, n int) ([]QueuedReport, error) {
	rows, err := db.QueryContext(ctx, `SELECT id, body FROM alert_outbox ORDER BY id LIMIT ?`, n)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []QueuedReport
	for rows.Next() {
		var q QueuedReport
		if err := rows.Scan(&q.ID, &q.Body); err != nil {
			return nil, err
		}
		out = append(out, q)
	}
	return out, rows.Err()
}

// DeleteQueuedReport forgets a receipt the city has.
func (db *AgentDB) DeleteQueuedReport(ctx context.Context, id int64) error {
	_, err := db.ExecContext(ctx, `DELETE FROM alert_outbox WHERE id = ?`, id)
	return err
}
