package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// JoinCode is a one-time join code (city/accounts), kept only as its HMAC.
type JoinCode struct {
	Hash      []byte
	Ward      string
	CreatedAt time.Time
	ExpiresAt time.Time
	// UsedAt is when it was redeemed (zero: unused), from UsedFrom.
	UsedAt   time.Time
	UsedFrom string
}

// AddJoinCode records a join code.
func (t CityTx) AddJoinCode(ctx context.Context, c JoinCode) error {
	_, err := t.q.ExecContext(ctx, `INSERT INTO join_codes(code_hash, ward, created_at, expires_at) VALUES(?,?,?,?)`,
		c.Hash, c.Ward, ms(c.CreatedAt), ms(c.ExpiresAt))
	return err
}

// JoinCode returns the code whose HMAC is hash; ErrNotFound when none.
func (t CityTx) JoinCode(ctx context.Context, hash []byte) (JoinCode, error) {
	c := JoinCode{Hash: hash}
	var created, expires int64
	var usedAt sql.NullInt64
	var usedFrom sql.NullString
	err := t.q.QueryRowContext(ctx, `SELECT ward, created_at, expires_at, used_at, used_from FROM join_codes WHERE code_hash = ?`,
		hash).Scan(&c.Ward, &created, &expires, &usedAt, &usedFrom)
	if errors.Is(err, sql.ErrNoRows) {
		return JoinCode{}, fmt.Errorf("join code: %w", ErrNotFound)
	}
	if err != nil {
		return JoinCode{}, err
	}
	c.CreatedAt, c.ExpiresAt = fromMS(created), fromMS(expires)
	if usedAt.Valid {
		c.UsedAt = fromMS(usedAt.Int64)
	}
	c.UsedFrom = usedFrom.String
	return c, nil
}

// UseJoinCode marks the code whose HMAC is hash used at at, from from.
func (t CityTx) UseJoinCode(ctx context.Context, hash []byte, at time.Time, from string) error {
	_, err := t.q.ExecContext(ctx, `UPDATE join_codes SET used_at = ?, used_from = ? WHERE code_hash = ?`, ms(at), from, hash)
	return err
}

// DeleteUnusedJoinCodes removes ward's codes not redeemed yet.
func (t CityTx) DeleteUnusedJoinCodes(ctx context.Context, ward string) error {
	_, err := t.q.ExecContext(ctx, `DELETE FROM join_codes WHERE ward = ? AND used_at IS NULL`, ward)
	return err
}

// DeleteJoinCodesExpiredBefore removes every code that expired before t.
func (t CityTx) DeleteJoinCodesExpiredBefore(ctx context.Context, before time.Time) error {
	_, err := t.q.ExecContext(ctx, `DELETE FROM join_codes WHERE expires_at < ?`, ms(before))
	return err
}

// SetWardToken replaces the hash of ward's token: its old token stops
// working.
func (t CityTx) SetWardToken(ctx context.Context, ward string, tokenHash []byte) error {
	_, err := t.q.ExecContext(ctx, `UPDATE wards SET token_hash = ? WHERE id = ?`, tokenHash, ward)
	return err
}

// DeleteWardReceiptKey forgets ward's receipt key (none: nothing to do).
func (t CityTx) DeleteWardReceiptKey(ctx context.Context, ward string) error {
	_, err := t.q.ExecContext(ctx, `DELETE FROM ward_receipt_keys WHERE ward = ?`, ward)
	return err
}
