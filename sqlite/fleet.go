package sqlite

import (
	"context"
	"database/sql"
	"time"
)

// FleetAgent is the ward's side of reporting to the city.
type FleetAgent struct{ db *AgentDB }

// Fleet returns the ward's reporting queries.
func Fleet(db *AgentDB) FleetAgent { return FleetAgent{db} }

// CountUnshipped is how many as-run entries the city has not acknowledged.
func (f FleetAgent) CountUnshipped(ctx context.Context) (int, error) {
	var n int
	err := f.db.QueryRowContext(ctx, `SELECT count(*) FROM asrun WHERE shipped = 0`).Scan(&n)
	return n, err
}

// WardHealthRow is a ward's state as the city last wrote it down.
type WardHealthRow struct {
	Ward     string
	State    string
	Since    time.Time
	Problems string    // JSON list of {state, detail}
	LastSeen time.Time // zero: never
	Beat     []byte    // the latest heartbeat then (JSON), nil: none
}

// WardStateChange is one line of a ward's state history.
type WardStateChange struct {
	Ward     string
	At       time.Time
	From, To string
	Problems string
}

// PutWardStates writes state changes in one transaction: the history and
// each ward's current row. Heartbeats themselves are never written.
func (db *CityDB) PutWardStates(ctx context.Context, rows []WardHealthRow, changes []WardStateChange) error {
	return db.Update(ctx, func(t CityTx) error {
		for _, r := range rows {
			if _, err := t.q.ExecContext(ctx, `INSERT INTO ward_health(ward, state, since, problems, last_seen, heartbeat) VALUES(?,?,?,?,?,?)
				ON CONFLICT(ward) DO UPDATE SET state=excluded.state, since=excluded.since, problems=excluded.problems,
				last_seen=excluded.last_seen, heartbeat=excluded.heartbeat`,
				r.Ward, r.State, ms(r.Since), r.Problems, nullMS(r.LastSeen), r.Beat); err != nil {
				return err
			}
		}
		for _, c := range changes {
			if _, err := t.q.ExecContext(ctx, `INSERT INTO ward_state_changes(ward, at, from_state, to_state, problems) VALUES(?,?,?,?,?)`,
				c.Ward, ms(c.At), c.From, c.To, c.Problems); err != nil {
				return err
			}
		}
		return nil
	})
}

// WardHealthRows returns every ward's stored state.
func (t CityTx) WardHealthRows(ctx context.Context) ([]WardHealthRow, error) {
	rows, err := t.q.QueryContext(ctx, `SELECT ward, state, since, problems, last_seen, heartbeat FROM ward_health ORDER BY ward`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []WardHealthRow
	for rows.Next() {
		var r WardHealthRow
		var since int64
		var seen sql.NullInt64
		if err := rows.Scan(&r.Ward, &r.State, &since, &r.Problems, &seen, &r.Beat); err != nil {
			return nil, err
		}
		r.Since = fromMS(since)
		if seen.Valid {
			r.LastSeen = fromMS(seen.Int64)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// WardStateChanges lists a ward's state changes since from, newest first.
func (t CityTx) WardStateChanges(ctx context.Context, ward string, from time.Time, limit int) ([]WardStateChange, error) {
	rows, err := t.q.QueryContext(ctx, `SELECT ward, at, from_state, to_state, problems FROM ward_state_changes
		WHERE ward = ? AND at >= ? ORDER BY at DESC, id DESC LIMIT ?`, ward, ms(from), limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []WardStateChange
	for rows.Next() {
		var c WardStateChange
		var at int64
		if err := rows.Scan(&c.Ward, &at, &c.From, &c.To, &c.Problems); err != nil {
			return nil, err
		}
		c.At = fromMS(at)
		out = append(out, c)
	}
	return out, rows.Err()
}

// PruneWardStateChanges removes history older than cutoff.
func (db *CityDB) PruneWardStateChanges(ctx context.Context, cutoff time.Time) (int64, error) {
	res, err := db.ExecContext(ctx, `DELETE FROM ward_state_changes WHERE at < ?`, ms(cutoff))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// WardManifestInfo is a ward and the manifest the city serves it.
type WardManifestInfo struct {
	Ward     string
	Version  int64 // 0: none
	IssuedAt time.Time
}

// WardManifests lists every registered ward with its current manifest.
func (t CityTx) WardManifests(ctx context.Context) ([]WardManifestInfo, error) {
	rows, err := t.q.QueryContext(ctx, `SELECT w.id, coalesce(m.version, 0), coalesce(m.issued_at, 0)
		FROM wards w LEFT JOIN manifests m ON m.ward = w.id ORDER BY w.id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []WardManifestInfo
	for rows.Next() {
		var w WardManifestInfo
		var issued int64
		if err := rows.Scan(&w.Ward, &w.Version, &issued); err != nil {
			return nil, err
		}
		if issued > 0 {
			w.IssuedAt = fromMS(issued)
		}
		out = append(out, w)
	}
	return out, rows.Err()
}

// CityAsRun is an as-run entry received from a ward.
type CityAsRun struct {
	Ward       string
	WardEntry  int64 // the ward's own id
	Program    string
	Source     string
	Occurrence time.Time
	Part       int
	Item       string
	Kind       string
	Planned    time.Time
	Actual     time.Time // zero: never started
	End        time.Time
	Result     string
	Missed     time.Duration
	Note       string
	ReceivedAt time.Time
}

// AddAsRun stores entries received from wards in one transaction. An
// entry already stored (the same ward, id and planned time: a ward that
// shipped again after a lost acknowledgement) is skipped. It returns how
// many were new.
func (db *CityDB) AddAsRun(ctx context.Context, es []CityAsRun) (int, error) {
	n := 0
	err := db.Update(ctx, func(t CityTx) error {
		n = 0
		for _, e := range es {
			if e.ReceivedAt.IsZero() {
				e.ReceivedAt = t.now()
			}
			res, err := t.q.ExecContext(ctx, `INSERT OR IGNORE INTO asrun(ward, ward_entry, program, source, occurrence, part, item, kind,
				planned_ms, actual_ms, end_ms, result, missed_ms, note, received_at) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
				e.Ward, e.WardEntry, e.Program, e.Source, ms(e.Occurrence), e.Part, e.Item, e.Kind,
				ms(e.Planned), nullMS(e.Actual), nullMS(e.End), e.Result, e.Missed.Milliseconds(), e.Note, ms(e.ReceivedAt))
			if err != nil {
				return err
			}
			k, _ := res.RowsAffected()
			n += int(k)
		}
		return nil
	})
	return n, err
}

// AsRun lists a ward's entries planned in [from, to), in order.
func (t CityTx) AsRun(ctx context.Context, ward string, from, to time.Time) ([]CityAsRun, error) {
	rows, err := t.q.QueryContext(ctx, `SELECT ward, ward_entry, program, source, occurrence, part, item, kind, planned_ms, actual_ms, end_ms,
		result, missed_ms, note, received_at FROM asrun WHERE ward = ? AND planned_ms >= ? AND planned_ms < ? ORDER BY planned_ms, ward_entry`,
		ward, ms(from), ms(to))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []CityAsRun
	for rows.Next() {
		var e CityAsRun
		var occ, planned, missed, recv int64
		var actual, end sql.NullInt64
		if err := rows.Scan(&e.Ward, &e.WardEntry, &e.Program, &e.Source, &occ, &e.Part, &e.Item, &e.Kind, &planned, &actual, &end,
			&e.Result, &missed, &e.Note, &recv); err != nil {
			return nil, err
		}
		e.Occurrence, e.Planned, e.ReceivedAt = fromMS(occ), fromMS(planned), fromMS(recv)
		if actual.Valid {
			e.Actual = fromMS(actual.Int64)
		}
		if end.Valid {
			e.End = fromMS(end.Int64)
		}
		e.Missed = time.Duration(missed) * time.Millisecond
		out = append(out, e)
	}
	return out, rows.Err()
}
