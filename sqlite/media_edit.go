package sqlite

import (
	"context"
	"time"
)

// MediaUses lists what uses media sha at now: program files (by target),
// wards' current manifests, and alerts not yet expired. An item in use
// cannot be deleted.
func (t CityTx) MediaUses(ctx context.Context, sha string, now time.Time) ([]string, error) {
	var uses []string
	add := func(q string, prefix string, args ...any) error {
		rows, err := t.q.QueryContext(ctx, q, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				return err
			}
			uses = append(uses, prefix+s)
		}
		return rows.Err()
	}
	// media_map is JSON of reference -> sha256; a sha256 is 64 hex digits,
	// so the quoted value cannot match anything else.
	if err := add(`SELECT target FROM programs WHERE media_map LIKE ? ORDER BY target`, "programs ", `%"`+sha+`"%`); err != nil {
		return nil, err
	}
	if err := add(`SELECT ward FROM manifest_media WHERE sha256 = ? ORDER BY ward`, "manifest ward:", sha); err != nil {
		return nil, err
	}
	if err := add(`SELECT a.id FROM alert_media m JOIN alerts a ON a.id = m.alert WHERE m.sha256 = ? AND a.expires > ? ORDER BY a.id`, "alert ", sha, ms(now)); err != nil {
		return nil, err
	}
	return uses, nil
}

// SetMediaTitle changes the title of media sha.
func (t CityTx) SetMediaTitle(ctx context.Context, sha, title string) error {
	res, err := t.q.ExecContext(ctx, `UPDATE media SET title = ? WHERE sha256 = ?`, title, sha)
	return oneRow(res, err)
}

// DeleteMedia removes media sha and its names, unless something uses it
// (then it returns the uses and removes nothing). Run it in a transaction
// (CityDB.Update), so that no program is loaded between the check and the
// removal.
func (t CityTx) DeleteMedia(ctx context.Context, sha string, now time.Time) ([]string, error) {
	uses, err := t.MediaUses(ctx, sha, now)
	if err != nil || len(uses) > 0 {
		return uses, err
	}
	if _, err := t.q.ExecContext(ctx, `DELETE FROM media_names WHERE sha256 = ?`, sha); err != nil {
		return nil, err
	}
	res, err := t.q.ExecContext(ctx, `DELETE FROM media WHERE sha256 = ?`, sha)
	return nil, oneRow(res, err)
}
