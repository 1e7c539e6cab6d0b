package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// CAPMessage is a CAP message the city received, with its outcome.
type CAPMessage struct {
	Seq                              int64
	Received                         time.Time
	Via                              string
	Sender, Identifier, Sent         string
	MsgType, Status, Signer          string
	Outcome, Reason, Alert, Headline string
}

// AddCAPMessage records a CAP message received and returns its number.
func (t CityTx) AddCAPMessage(ctx context.Context, m CAPMessage) (int64, error) {
	res, err := t.q.ExecContext(ctx, `INSERT INTO cap_messages(received_at, via, sender, identifier, sent, msg_type, status, signer,
		outcome, reason, alert, headline) VALUES(?,?,?,?,?,?,?,?,?,?,?,?)`, ms(m.Received), m.Via, m.Sender, m.Identifier, m.Sent,
		m.MsgType, m.Status, m.Signer, m.Outcome, m.Reason, m.Alert, m.Headline)
	if err != nil {
		return 0, fmt.Errorf("record CAP message %s: %w", m.Identifier, err)
	}
	return res.LastInsertId()
}

const capCols = `seq, received_at, via, sender, identifier, sent, msg_type, status, signer, outcome, reason, alert, headline`

// CAPMessages lists the latest CAP messages received, newest first.
func (t CityTx) CAPMessages(ctx context.Context, limit int) ([]CAPMessage, error) {
	rows, err := t.q.QueryContext(ctx, `SELECT `+capCols+` FROM cap_messages ORDER BY seq DESC LIMIT ?`, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []CAPMessage
	for rows.Next() {
		m, err := scanCAP(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// CAPMessageFor is the last message from sender with identifier that was
// acted on (not refused): ErrNotFound when none.
func (t CityTx) CAPMessageFor(ctx context.Context, sender, identifier string) (CAPMessage, error) {
	m, err := scanCAP(t.q.QueryRowContext(ctx, `SELECT `+capCols+` FROM cap_messages
		WHERE sender = ? AND identifier = ? AND outcome != 'refused' ORDER BY seq DESC LIMIT 1`, sender, identifier))
	if errors.Is(err, sql.ErrNoRows) {
		return m, fmt.Errorf("CAP message %s,%s: %w", sender, identifier, ErrNotFound)
	}
	return m, err
}

func scanCAP(sc interface{ Scan(...any) error }) (CAPMessage, error) {
	var m CAPMessage
	var at int64
	err := sc.Scan(&m.Seq, &at, &m.Via, &m.Sender, &m.Identifier, &m.Sent, &m.MsgType, &m.Status, &m.Signer,
		&m.Outcome, &m.Reason, &m.Alert, &m.Headline)
	m.Received = time.UnixMilli(at)
	return m, err
}
