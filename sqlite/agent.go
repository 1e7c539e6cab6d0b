package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// AgentDB is the ward agent's database.
type AgentDB struct{ *DB }

// OpenAgent opens (creating) the agent database at path.
func OpenAgent(ctx context.Context, path string) (*AgentDB, error) {
	db, err := open(ctx, path, "agent")
	if err != nil {
		return nil, err
	}
	return &AgentDB{db}, nil
}

// ErrNotFound is returned when a row asked for does not exist.
var ErrNotFound = errors.New("not found")

// Media is what the station knows of a stored media file.
type Media struct {
	SHA256     string
	Size       int64
	Name       string
	Codec      string
	SourceRate int
	Channels   int
	CacheRate  int
	Frames     int64
	// LoudnessLUFS is NaN-free: HasLoudness is false for digital silence
	// (nothing passes the gate).
	LoudnessLUFS float64
	HasLoudness  bool
	TruePeakDB   float64
	AddedAt      time.Time
}

// Duration is the length of the media at its cache rate.
func (m Media) Duration() time.Duration {
	if m.CacheRate == 0 {
		return 0
	}
	return time.Duration(float64(m.Frames) * float64(time.Second) / float64(m.CacheRate))
}

const mediaCols = `sha256, size, name, codec, source_rate, channels, cache_rate, frames, loudness_lufs, true_peak_db, added_at`

func scanMedia(sc interface{ Scan(...any) error }) (Media, error) {
	var m Media
	var loud, peak sql.NullFloat64
	var added int64
	err := sc.Scan(&m.SHA256, &m.Size, &m.Name, &m.Codec, &m.SourceRate, &m.Channels, &m.CacheRate, &m.Frames, &loud, &peak, &added)
	m.LoudnessLUFS, m.HasLoudness = loud.Float64, loud.Valid
	m.TruePeakDB = peak.Float64
	m.AddedAt = fromMS(added)
	return m, err
}

// Media returns the stored media with that key.
func (db *AgentDB) Media(ctx context.Context, sha string) (Media, error) {
	m, err := scanMedia(db.QueryRowContext(ctx, `SELECT `+mediaCols+` FROM media WHERE sha256 = ?`, sha))
	if errors.Is(err, sql.ErrNoRows) {
		return m, fmt.Errorf("media %s: %w", sha, ErrNotFound)
	}
	return m, err
}

// AllMedia lists every media row.
func (db *AgentDB) AllMedia(ctx context.Context) ([]Media, error) {
	rows, err := db.QueryContext(ctx, `SELECT `+mediaCols+` FROM media ORDER BY sha256`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Media
	for rows.Next() {
		m, err := scanMedia(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

func putMedia(ctx context.Context, tx *sql.Tx, m Media) error {
	var loud sql.NullFloat64
	if m.HasLoudness {
		loud = sql.NullFloat64{Float64: m.LoudnessLUFS, Valid: true}
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO media(`+mediaCols+`) VALUES(?,?,?,?,?,?,?,?,?,?,?)
		ON CONFLICT(sha256) DO UPDATE SET cache_rate=excluded.cache_rate, frames=excluded.frames,
		loudness_lufs=excluded.loudness_lufs, true_peak_db=excluded.true_peak_db`,
		m.SHA256, m.Size, m.Name, m.Codec, m.SourceRate, m.Channels, m.CacheRate, m.Frames, loud, m.TruePeakDB, ms(m.AddedAt))
	return err
}

// PutMedia records media (insert or refresh its decode facts).
func (db *AgentDB) PutMedia(ctx context.Context, m Media) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := putMedia(ctx, tx, m); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// DeleteMedia forgets a media row.
func (db *AgentDB) DeleteMedia(ctx context.Context, sha string) error {
	_, err := db.ExecContext(ctx, `DELETE FROM media WHERE sha256 = ?`, sha)
	return err
}

// ProgramSource is one origin of programs as stored: the file and how its
// media references map to stored media.
type ProgramSource struct {
	Name     string // "local" or "city"
	Path     string
	Body     []byte
	MediaMap map[string]string // reference as written -> sha256
	Version  string
	LoadedAt time.Time
}

// ReplaceProgramSource switches the programs of src.Name to src, and
// records media, in one transaction: either all of it is in effect
// afterwards, or none.
func (db *AgentDB) ReplaceProgramSource(ctx context.Context, src ProgramSource, media []Media) error {
	mm, err := json.Marshal(src.MediaMap)
	if err != nil {
		return err
	}
	if src.LoadedAt.IsZero() {
		src.LoadedAt = db.Now()
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, m := range media {
		if err := putMedia(ctx, tx, m); err != nil {
			return fmt.Errorf("record media %s: %w", m.SHA256, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO program_source(name, path, body, media_map, version, loaded_at) VALUES(?,?,?,?,?,?)
		ON CONFLICT(name) DO UPDATE SET path=excluded.path, body=excluded.body, media_map=excluded.media_map,
		version=excluded.version, loaded_at=excluded.loaded_at`,
		src.Name, src.Path, src.Body, string(mm), src.Version, ms(src.LoadedAt)); err != nil {
		return err
	}
	return tx.Commit()
}

// ProgramSources returns every stored program source, by name.
func (db *AgentDB) ProgramSources(ctx context.Context) ([]ProgramSource, error) {
	rows, err := db.QueryContext(ctx, `SELECT name, path, body, media_map, version, loaded_at FROM program_source ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []ProgramSource
	for rows.Next() {
		var s ProgramSource
		var mm string
		var loaded int64
		if err := rows.Scan(&s.Name, &s.Path, &s.Body, &mm, &s.Version, &loaded); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(mm), &s.MediaMap); err != nil {
			return nil, fmt.Errorf("program source %s: media map: %w", s.Name, err)
		}
		s.LoadedAt = fromMS(loaded)
		out = append(out, s)
	}
	return out, rows.Err()
}

// ProgramsStamp is a cheap fingerprint of the stored program sources: the
// daemon polls it to notice a `program load` by another process.
func (db *AgentDB) ProgramsStamp(ctx context.Context) (string, error) {
	var s sql.NullString
	err := db.QueryRowContext(ctx, `SELECT group_concat(name || ':' || version || ':' || loaded_at, ',') FROM program_source`).Scan(&s)
	return s.String, err
}

// AsRunEntry is one line of the station's broadcast log: what was planned
// and what actually went on air.
type AsRunEntry struct {
	ID         int64
	Program    string
	Source     string
	Occurrence time.Time
	Part       int
	Item       string
	Kind       string // program | alert | live | relay
	Planned    time.Time
	Actual     time.Time // zero: never started
	End        time.Time
	Result     string
	Missed     time.Duration
	Note       string
}

// AddAsRun appends an entry. One call is one small committed transaction:
// the log is written once per item, never while it plays.
func (db *AgentDB) AddAsRun(ctx context.Context, e AsRunEntry) (int64, error) {
	res, err := db.ExecContext(ctx, `INSERT INTO asrun(program, source, occurrence, part, item, kind, planned_ms, actual_ms, end_ms, result, missed_ms, note)
		VALUES(?,?,?,?,?,?,?,?,?,?,?,?)`,
		e.Program, e.Source, ms(e.Occurrence), e.Part, e.Item, e.Kind, ms(e.Planned), nullMS(e.Actual), nullMS(e.End), e.Result, e.Missed.Milliseconds(), e.Note)
	if err != nil {
		return 0, err
	}
	return res.LastInsertId()
}

const asrunCols = `id, program, source, occurrence, part, item, kind, planned_ms, actual_ms, end_ms, result, missed_ms, note`

func scanAsRun(sc interface{ Scan(...any) error }) (AsRunEntry, error) {
	var e AsRunEntry
	var occ, planned, missed int64
	var actual, end sql.NullInt64
	err := sc.Scan(&e.ID, &e.Program, &e.Source, &occ, &e.Part, &e.Item, &e.Kind, &planned, &actual, &end, &e.Result, &missed, &e.Note)
	e.Occurrence, e.Planned = fromMS(occ), fromMS(planned)
	if actual.Valid {
		e.Actual = fromMS(actual.Int64)
	}
	if end.Valid {
		e.End = fromMS(end.Int64)
	}
	e.Missed = time.Duration(missed) * time.Millisecond
	return e, err
}

// AsRun lists entries planned in [from, to), oldest first.
func (db *AgentDB) AsRun(ctx context.Context, from, to time.Time) ([]AsRunEntry, error) {
	return db.queryAsRun(ctx, `SELECT `+asrunCols+` FROM asrun WHERE planned_ms >= ? AND planned_ms < ? ORDER BY planned_ms, id`, ms(from), ms(to))
}

// LastAsRun lists the n most recent entries, newest first.
func (db *AgentDB) LastAsRun(ctx context.Context, n int) ([]AsRunEntry, error) {
	return db.queryAsRun(ctx, `SELECT `+asrunCols+` FROM asrun ORDER BY id DESC LIMIT ?`, n)
}

// UnshippedAsRun lists up to n entries the city has not acknowledged yet.
func (db *AgentDB) UnshippedAsRun(ctx context.Context, n int) ([]AsRunEntry, error) {
	return db.queryAsRun(ctx, `SELECT `+asrunCols+` FROM asrun WHERE shipped = 0 ORDER BY id LIMIT ?`, n)
}

// MarkShipped records that the city acknowledged entries up to and
// including id.
func (db *AgentDB) MarkShipped(ctx context.Context, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	q := `UPDATE asrun SET shipped = 1 WHERE id IN (?` + strings.Repeat(",?", len(ids)-1) + `)`
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	_, err := db.ExecContext(ctx, q, args...)
	return err
}

func (db *AgentDB) queryAsRun(ctx context.Context, q string, args ...any) ([]AsRunEntry, error) {
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []AsRunEntry
	for rows.Next() {
		e, err := scanAsRun(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// PruneAsRun deletes entries planned before cutoff that the city already
// has (or that are older than hardCutoff whatever their state), keeping the
// log's growth bounded.
func (db *AgentDB) PruneAsRun(ctx context.Context, cutoff, hardCutoff time.Time) (int64, error) {
	res, err := db.ExecContext(ctx, `DELETE FROM asrun WHERE (planned_ms < ? AND shipped = 1) OR planned_ms < ?`, ms(cutoff), ms(hardCutoff))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// Get reads a value from the key-value table ("" when absent).
func (db *AgentDB) Get(ctx context.Context, key string) (string, error) {
	var v string
	err := db.QueryRowContext(ctx, `SELECT value FROM kv WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return v, err
}

// Set writes a value to the key-value table.
func (db *AgentDB) Set(ctx context.Context, key, value string) error {
	_, err := db.ExecContext(ctx, `INSERT INTO kv(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`, key, value)
	return err
}

// MediaUse is a media row's garbage-collection state.
type MediaUse struct {
	SHA256            string
	UnreferencedSince time.Time // zero while referred to
}

// MediaUses lists every media row's garbage-collection state.
func (db *AgentDB) MediaUses(ctx context.Context) ([]MediaUse, error) {
	rows, err := db.QueryContext(ctx, `SELECT sha256, unreferenced_since FROM media ORDER BY sha256`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []MediaUse
	for rows.Next() {
		var u MediaUse
		var since sql.NullInt64
		if err := rows.Scan(&u.SHA256, &since); err != nil {
			return nil, err
		}
		if since.Valid {
			u.UnreferencedSince = fromMS(since.Int64)
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// SetUnreferenced records since when media is not referred to (zero: it
// is again).
func (db *AgentDB) SetUnreferenced(ctx context.Context, sha string, since time.Time) error {
	_, err := db.ExecContext(ctx, `UPDATE media SET unreferenced_since = ? WHERE sha256 = ?`, nullMS(since), sha)
	return err
}

// SetMediaName records the name operators know a media item by.
func (db *AgentDB) SetMediaName(ctx context.Context, sha, name string) error {
	_, err := db.ExecContext(ctx, `UPDATE media SET name = ? WHERE sha256 = ? AND name != ?`, name, sha, name)
	return err
}
