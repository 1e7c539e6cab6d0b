package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// WardNKey is a ward's NATS identity.
type WardNKey struct {
	Ward   string
	Groups []string
	NKey   string
}

// SetWardNKey records ward's public NATS key, replacing the one it had.
func (t CityTx) SetWardNKey(ctx context.Context, ward, nkey string) error {
	_, err := t.q.ExecContext(ctx, `INSERT INTO ward_nats(ward, nkey, created_at) VALUES(?,?,?)
		ON CONFLICT(ward) DO UPDATE SET nkey=excluded.nkey, created_at=excluded.created_at`, ward, nkey, ms(t.now()))
	if isUnique(err) {
		return fmt.Errorf("NATS key of ward %s: %w", ward, ErrExists)
	}
	return err
}

// WardByNKey returns the ward whose public NATS key is nkey.
func (t CityTx) WardByNKey(ctx context.Context, nkey string) (Ward, error) {
	var id string
	err := t.q.QueryRowContext(ctx, `SELECT ward FROM ward_nats WHERE nkey = ?`, nkey).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return Ward{}, fmt.Errorf("NATS key %s: %w", nkey, ErrNotFound)
	}
	if err != nil {
		return Ward{}, err
	}
	return t.Ward(ctx, id)
}

// WardNKeys lists the wards that have a NATS key, by id.
func (t CityTx) WardNKeys(ctx context.Context) ([]WardNKey, error) {
	wards, err := t.Wards(ctx)
	if err != nil {
		return nil, err
	}
	keys := map[string]string{}
	rows, err := t.q.QueryContext(ctx, `SELECT ward, nkey FROM ward_nats`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var w, k string
		if err := rows.Scan(&w, &k); err != nil {
			return nil, err
		}
		keys[w] = k
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var out []WardNKey
	for _, w := range wards {
		if k, ok := keys[w.ID]; ok {
			out = append(out, WardNKey{Ward: w.ID, Groups: w.Groups, NKey: k})
		}
	}
	return out, nil
}

// WardIDs lists the ids of every ward, sorted (one query: an alert for
// all is planned without reading each ward's groups).
func (t CityTx) WardIDs(ctx context.Context) ([]string, error) {
	return t.strings(ctx, `SELECT id FROM wards ORDER BY id`)
}

// CityAlert is an alert as the city sent it.
type CityAlert struct {
	ID          string
	MsgType     string
	Refs        []string
	Status      string
	Priority    string
	Issued      time.Time
	Expires     time.Time
	SentBy      string
	Targets     string
	Headline    string
	Payload     []byte
	Envelope    []byte
	CancelledBy string
	CreatedAt   time.Time
	// Wards, Subjects and Media are written by AddAlert; Alert reads
	// Copies back.
	Wards    []string
	Subjects []string
	Media    []string
	Copies   []AlertCopy
}

// AlertCopy is one published (or pending) copy of an alert.
type AlertCopy struct {
	Alert       string
	Subject     string
	PublishedAt time.Time // zero: not yet
	StreamSeq   uint64
	// Envelope and Expires are filled by PendingCopies.
	Envelope []byte
	Expires  time.Time
}

// AddAlert records an alert, the wards it is for, its copies to publish
// and its media. An id already used is ErrExists.
func (t CityTx) AddAlert(ctx context.Context, a CityAlert) error {
	if a.CreatedAt.IsZero() {
		a.CreatedAt = t.now()
	}
	_, err := t.q.ExecContext(ctx, `INSERT INTO alerts(id, msg_type, refs, status, priority, issued, expires, sent_by, targets, headline, payload, envelope, created_at)
		VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?)`, a.ID, a.MsgType, strings.Join(a.Refs, " "), a.Status, a.Priority, ms(a.Issued), ms(a.Expires),
		a.SentBy, a.Targets, a.Headline, a.Payload, a.Envelope, ms(a.CreatedAt))
	if isUnique(err) {
		return fmt.Errorf("alert %s: %w", a.ID, ErrExists)
	}
	if err != nil {
		return err
	}
	for _, q := range []struct {
		table, col string
		list       []string
	}{{"alert_wards", "ward", a.Wards}, {"alert_copies", "subject", a.Subjects}, {"alert_media", "sha256", a.Media}} {
		if err := t.insertPairs(ctx, q.table, q.col, a.ID, q.list); err != nil {
			return err
		}
	}
	return nil
}

// insertPairs inserts (alert, v) for every v, 400 rows a statement: an
// alert for a thousand wards is in the database in milliseconds, before
// it is published.
func (t CityTx) insertPairs(ctx context.Context, table, col, alert string, list []string) error {
	for len(list) > 0 {
		n := min(len(list), 400)
		args := make([]any, 0, 2*n)
		for _, v := range list[:n] {
			args = append(args, alert, v)
		}
		q := `INSERT OR IGNORE INTO ` + table + `(alert, ` + col + `) VALUES (?,?)` + strings.Repeat(",(?,?)", n-1)
		if _, err := t.q.ExecContext(ctx, q, args...); err != nil {
			return err
		}
		list = list[n:]
	}
	return nil
}

const alertCols = `id, msg_type, refs, status, priority, issued, expires, sent_by, targets, headline, cancelled_by, created_at`

func scanAlert(sc interface{ Scan(...any) error }, withBlobs bool) (CityAlert, error) {
	var a CityAlert
	var refs string
	var issued, expires, created int64
	var cancelled sql.NullString
	dest := []any{&a.ID, &a.MsgType, &refs, &a.Status, &a.Priority, &issued, &expires, &a.SentBy, &a.Targets, &a.Headline, &cancelled, &created}
	if withBlobs {
		dest = append(dest, &a.Payload, &a.Envelope)
	}
	if err := sc.Scan(dest...); err != nil {
		return a, err
	}
	a.Refs = strings.Fields(refs)
	a.Issued, a.Expires, a.CreatedAt = fromMS(issued), fromMS(expires), fromMS(created)
	a.CancelledBy = cancelled.String
	return a, nil
}

// Alert returns an alert with its payload, envelope and copies.
func (t CityTx) Alert(ctx context.Context, id string) (CityAlert, error) {
	a, err := scanAlert(t.q.QueryRowContext(ctx, `SELECT `+alertCols+`, payload, envelope FROM alerts WHERE id = ?`, id), true)
	if errors.Is(err, sql.ErrNoRows) {
		return a, fmt.Errorf("alert %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return a, err
	}
	rows, err := t.q.QueryContext(ctx, `SELECT subject, published_at, stream_seq FROM alert_copies WHERE alert = ? ORDER BY subject`, id)
	if err != nil {
		return a, err
	}
	defer rows.Close()
	for rows.Next() {
		c := AlertCopy{Alert: id}
		var pub, seq sql.NullInt64
		if err := rows.Scan(&c.Subject, &pub, &seq); err != nil {
			return a, err
		}
		if pub.Valid {
			c.PublishedAt = fromMS(pub.Int64)
		}
		c.StreamSeq = uint64(seq.Int64)
		a.Copies = append(a.Copies, c)
	}
	return a, rows.Err()
}

// AlertWards lists the wards an alert was for, by id.
func (t CityTx) AlertWards(ctx context.Context, id string) ([]string, error) {
	return t.strings(ctx, `SELECT ward FROM alert_wards WHERE alert = ? ORDER BY ward`, id)
}

// Alerts lists the latest alerts, newest first (no payloads).
func (t CityTx) Alerts(ctx context.Context, limit int) ([]CityAlert, error) {
	rows, err := t.q.QueryContext(ctx, `SELECT `+alertCols+` FROM alerts ORDER BY issued DESC, id LIMIT ?`, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []CityAlert
	for rows.Next() {
		a, err := scanAlert(rows, false)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// EarliestLiveAlert is the issue time of the oldest alert (or cancel)
// that has not expired at now; ok is false when none is live.
func (t CityTx) EarliestLiveAlert(ctx context.Context, now time.Time) (at time.Time, ok bool, err error) {
	var v sql.NullInt64
	if err := t.q.QueryRowContext(ctx, `SELECT min(issued) FROM alerts WHERE expires > ?`, ms(now)).Scan(&v); err != nil {
		return time.Time{}, false, err
	}
	if !v.Valid {
		return time.Time{}, false, nil
	}
	return fromMS(v.Int64), true, nil
}

// SetAlertCancelled records that alert id was stopped by the alert by.
func (t CityTx) SetAlertCancelled(ctx context.Context, id, by string) error {
	res, err := t.q.ExecContext(ctx, `UPDATE alerts SET cancelled_by = ? WHERE id = ? AND cancelled_by IS NULL`, by, id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("alert %s: not found or already cancelled: %w", id, ErrNotFound)
	}
	return nil
}

// MarkCopyPublished records JetStream's acknowledgement of a copy.
func (t CityTx) MarkCopyPublished(ctx context.Context, alert, subject string, at time.Time, seq uint64) error {
	_, err := t.q.ExecContext(ctx, `UPDATE alert_copies SET published_at = ?, stream_seq = ? WHERE alert = ? AND subject = ?`, ms(at), int64(seq), alert, subject)
	return err
}

// PendingCopies lists the copies not yet published of alerts that have not
// expired at now, oldest alert first.
func (t CityTx) PendingCopies(ctx context.Context, now time.Time) ([]AlertCopy, error) {
	rows, err := t.q.QueryContext(ctx, `SELECT c.alert, c.subject, a.envelope, a.expires FROM alert_copies c JOIN alerts a ON a.id = c.alert
		WHERE c.published_at IS NULL AND a.expires > ? ORDER BY a.issued, c.alert, c.subject`, ms(now))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []AlertCopy
	for rows.Next() {
		var c AlertCopy
		var exp int64
		if err := rows.Scan(&c.Alert, &c.Subject, &c.Envelope, &exp); err != nil {
			return nil, err
		}
		c.Expires = fromMS(exp)
		out = append(out, c)
	}
	return out, rows.Err()
}

// WardMayFetchAlertMedia reports whether sha is played by an alert for
// ward that expired after since.
func (t CityTx) WardMayFetchAlertMedia(ctx context.Context, ward, sha string, since time.Time) (bool, error) {
	var n int
	err := t.q.QueryRowContext(ctx, `SELECT count(*) FROM alert_media m JOIN alert_wards w ON w.alert = m.alert JOIN alerts a ON a.id = m.alert
		WHERE m.sha256 = ? AND w.ward = ? AND a.expires > ?`, sha, ward, ms(since)).Scan(&n)
	return n > 0, err
}

// AlertReport is a ward's receipt as the city recorded it.
type AlertReport struct {
	Alert      string
	Verified   bool
	Ward       string
	State      string
	Reason     string
	At         time.Time
	FetchMS    int64
	ReceivedAt time.Time
	StreamSeq  uint64 // 0: none
}

// AddAlertReport records a receipt; one with a stream sequence already
// recorded (a redelivery) is ignored.
func (t CityTx) AddAlertReport(ctx context.Context, r AlertReport) error {
	if r.ReceivedAt.IsZero() {
		r.ReceivedAt = t.now()
	}
	var seq sql.NullInt64
	if r.StreamSeq > 0 {
		seq = sql.NullInt64{Int64: int64(r.StreamSeq), Valid: true}
	}
	_, err := t.q.ExecContext(ctx, `INSERT INTO alert_reports(alert, verified, ward, state, reason, at, fetch_ms, received_at, stream_seq)
		VALUES(?,?,?,?,?,?,?,?,?) ON CONFLICT(stream_seq) DO NOTHING`,
		r.Alert, r.Verified, r.Ward, r.State, r.Reason, ms(r.At), r.FetchMS, ms(r.ReceivedAt), seq)
	return err
}

// LastReportSeq is the highest REPORTS sequence recorded (0: none): where
// the city's intake resumes when its consumer is made again.
func (t CityTx) LastReportSeq(ctx context.Context) (uint64, error) {
	var v sql.NullInt64
	err := t.q.QueryRowContext(ctx, `SELECT max(stream_seq) FROM alert_reports`).Scan(&v)
	return uint64(v.Int64), err
}

// AlertReports lists the receipts for an alert id, in the order they came.
func (t CityTx) AlertReports(ctx context.Context, alert string) ([]AlertReport, error) {
	rows, err := t.q.QueryContext(ctx, `SELECT alert, verified, ward, state, reason, at, fetch_ms, received_at, stream_seq
		FROM alert_reports WHERE alert = ? ORDER BY id`, alert)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []AlertReport
	for rows.Next() {
		var r AlertReport
		var at, recv int64
		var seq sql.NullInt64
		if err := rows.Scan(&r.Alert, &r.Verified, &r.Ward, &r.State, &r.Reason, &at, &r.FetchMS, &recv, &seq); err != nil {
			return nil, err
		}
		r.At, r.ReceivedAt, r.StreamSeq = fromMS(at), fromMS(recv), uint64(seq.Int64)
		out = append(out, r)
	}
	return out, rows.Err()
}
