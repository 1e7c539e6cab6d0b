package sqlite

import (
	"context"
	"database/sql"

	"loa/internal/diskspace"
)

// ExecContext runs a statement; when it fails because the disk is full
// and db.OnFull gives space back (the agent's reserve file), it runs it
// once more. Every single-statement write of the agent (the alert replay
// record, the receipts' outbox, the as-run log) goes through here.
func (db *DB) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	res, err := db.DB.ExecContext(ctx, query, args...)
	if err != nil && db.OnFull != nil && diskspace.IsFull(err) && db.OnFull() {
		res, err = db.DB.ExecContext(ctx, query, args...)
	}
	return res, err
}

// IsFull reports whether err says the disk is full.
func IsFull(err error) bool { return diskspace.IsFull(err) }
