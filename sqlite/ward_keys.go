package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// WardReceiptKey returns the public key ward signs its receipts with
// (signing's text form); ErrNotFound when it registered none.
func (t CityTx) WardReceiptKey(ctx context.Context, ward string) (string, error) {
	var k string
	err := t.q.QueryRowContext(ctx, `SELECT public_key FROM ward_receipt_keys WHERE ward = ?`, ward).Scan(&k)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("receipt key of ward %s: %w", ward, ErrNotFound)
	}
	return k, err
}

// AddWardReceiptKey records ward's receipt key if it has none. A ward
// offering the key it has is fine (created false); another key is
// ErrExists, and the one kept is returned: the first key registered
// stays until a join code re-provisions the ward.
func (t CityTx) AddWardReceiptKey(ctx context.Context, ward, publicKey, keyID string) (created bool, err error) {
	res, err := t.q.ExecContext(ctx, `INSERT INTO ward_receipt_keys(ward, public_key, key_id, created_at) VALUES(?,?,?,?)
		ON CONFLICT(ward) DO NOTHING`, ward, publicKey, keyID, ms(t.now()))
	if err != nil {
		return false, err
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return true, nil
	}
	have, err := t.WardReceiptKey(ctx, ward)
	if err != nil {
		return false, err
	}
	if have != publicKey {
		return false, fmt.Errorf("receipt key of ward %s: another key is registered: %w", ward, ErrExists)
	}
	return false, nil
}
