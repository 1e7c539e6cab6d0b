package sqlite

import (
	"context"
	"database/sql"
	"errors"
)

// LastVolumeAck is ward's latest ack of a command that says its master
// volume (volume_db in the ack's detail: a volume command done); ok false
// when the ward never sent one. It reads acks newest first and stops at
// the first, so a ward that acked a volume lately is found at once.
func (t CityTx) LastVolumeAck(ctx context.Context, ward string) (a CommandAck, ok bool, err error) {
	var at, recv int64
	err = t.q.QueryRowContext(ctx, `SELECT seq, command, ward, verified, state, reason, at, detail, signed, stream_seq, received_at
		FROM command_acks WHERE ward = ? AND state = 'done' AND verified = 1 AND json_extract(detail, '$.volume_db') IS NOT NULL
		ORDER BY seq DESC LIMIT 1`, ward).Scan(&a.Seq, &a.Command, &a.Ward, &a.Verified, &a.State, &a.Reason, &at, &a.Detail, &a.Signed, &a.StreamSeq, &recv)
	if errors.Is(err, sql.ErrNoRows) {
		return CommandAck{}, false, nil
	}
	if err != nil {
		return CommandAck{}, false, err
	}
	a.At, a.Received = fromMS(at), fromMS(recv)
	return a, true, nil
}
