package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// CityCommand is a command the city signed (package command), as kept.
type CityCommand struct {
	ID, Kind, Args, Targets, Recipients, Sender string
	Issued, Expires                             time.Time
	Envelope                                    []byte
	// Published is when JetStream took it (zero: not yet).
	Published time.Time
}

// CommandAck is a ward's ack of a command, as recorded.
type CommandAck struct {
	Seq                   int64
	Command, Ward         string
	Verified, Signed      bool
	State, Reason, Detail string
	At, Received          time.Time
	StreamSeq             uint64
}

// AddCommand records a command before it is published.
func (t CityTx) AddCommand(ctx context.Context, c CityCommand) error {
	_, err := t.q.ExecContext(ctx, `INSERT INTO commands(id, kind, args, targets, recipients, sender, issued, expires, envelope)
		VALUES(?,?,?,?,?,?,?,?,?)`, c.ID, c.Kind, c.Args, c.Targets, c.Recipients, c.Sender, ms(c.Issued), ms(c.Expires), c.Envelope)
	if isUnique(err) {
		return fmt.Errorf("command %s: %w", c.ID, ErrExists)
	}
	if err != nil {
		return fmt.Errorf("record command %s: %w", c.ID, err)
	}
	return nil
}

// MarkCommandPublished records that JetStream took command id.
func (t CityTx) MarkCommandPublished(ctx context.Context, id string, at time.Time) error {
	_, err := t.q.ExecContext(ctx, `UPDATE commands SET published_at = ? WHERE id = ? AND published_at IS NULL`, ms(at), id)
	return err
}

const commandCols = `id, kind, args, targets, recipients, sender, issued, expires, envelope, published_at`

func scanCommand(s interface{ Scan(...any) error }) (CityCommand, error) {
	var c CityCommand
	var issued, expires int64
	var pub sql.NullInt64
	err := s.Scan(&c.ID, &c.Kind, &c.Args, &c.Targets, &c.Recipients, &c.Sender, &issued, &expires, &c.Envelope, &pub)
	c.Issued, c.Expires = fromMS(issued), fromMS(expires)
	if pub.Valid {
		c.Published = fromMS(pub.Int64)
	}
	return c, err
}

// Command returns command id (ErrNotFound: none).
func (t CityTx) Command(ctx context.Context, id string) (CityCommand, error) {
	c, err := scanCommand(t.q.QueryRowContext(ctx, `SELECT `+commandCols+` FROM commands WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return c, fmt.Errorf("command %s: %w", id, ErrNotFound)
	}
	return c, err
}

// UnpublishedCommands lists the commands JetStream has not taken that
// have not expired at now, oldest first.
func (t CityTx) UnpublishedCommands(ctx context.Context, now time.Time) ([]CityCommand, error) {
	rows, err := t.q.QueryContext(ctx, `SELECT `+commandCols+` FROM commands WHERE published_at IS NULL AND expires > ? ORDER BY issued`, ms(now))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []CityCommand
	for rows.Next() {
		c, err := scanCommand(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// AddCommandAck records a ward's ack; one whose stream sequence is
// recorded already (a redelivery) is ignored.
func (t CityTx) AddCommandAck(ctx context.Context, a CommandAck) error {
	if a.StreamSeq > 0 {
		var n int
		if err := t.q.QueryRowContext(ctx, `SELECT count(*) FROM command_acks WHERE stream_seq = ?`, a.StreamSeq).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
	}
	_, err := t.q.ExecContext(ctx, `INSERT INTO command_acks(command, ward, verified, state, reason, at, detail, signed, stream_seq, received_at)
		VALUES(?,?,?,?,?,?,?,?,?,?)`, a.Command, a.Ward, a.Verified, a.State, a.Reason, ms(a.At), a.Detail, a.Signed, a.StreamSeq, ms(a.Received))
	if err != nil {
		return fmt.Errorf("record ack of command %s from %s: %w", a.Command, a.Ward, err)
	}
	return nil
}

// CommandAcks lists the acks of command id, oldest first.
func (t CityTx) CommandAcks(ctx context.Context, id string) ([]CommandAck, error) {
	return t.commandAcks(ctx, `WHERE command = ? ORDER BY seq`, id)
}

// CommandRefusals lists the latest refusals, newest first.
func (t CityTx) CommandRefusals(ctx context.Context, limit int) ([]CommandAck, error) {
	return t.commandAcks(ctx, `WHERE state = 'refused' ORDER BY seq DESC LIMIT ?`, limit)
}

// LastCommandAckSeq is the highest stream sequence of an ack recorded.
func (t CityTx) LastCommandAckSeq(ctx context.Context) (uint64, error) {
	var n sql.NullInt64
	err := t.q.QueryRowContext(ctx, `SELECT max(stream_seq) FROM command_acks`).Scan(&n)
	return uint64(n.Int64), err
}

func (t CityTx) commandAcks(ctx context.Context, where string, args ...any) ([]CommandAck, error) {
	rows, err := t.q.QueryContext(ctx, `SELECT seq, command, ward, verified, state, reason, at, detail, signed, stream_seq, received_at
		FROM command_acks `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []CommandAck
	for rows.Next() {
		var a CommandAck
		var at, recv int64
		if err := rows.Scan(&a.Seq, &a.Command, &a.Ward, &a.Verified, &a.State, &a.Reason, &at, &a.Detail, &a.Signed, &a.StreamSeq, &recv); err != nil {
			return nil, err
		}
		a.At, a.Received = fromMS(at), fromMS(recv)
		out = append(out, a)
	}
	return out, rows.Err()
}
