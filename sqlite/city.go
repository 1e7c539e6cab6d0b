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

// CityDB is the city station's database.
type CityDB struct{ *DB }

// OpenCity opens (creating) the city database at path.
func OpenCity(ctx context.Context, path string) (*CityDB, error) {
	db, err := open(ctx, path, "city")
	if err != nil {
		return nil, err
	}
	return &CityDB{db}, nil
}

// ErrExists is returned when adding a row whose key is taken.
var ErrExists = errors.New("already exists")

// querier is what *sql.DB and *sql.Tx have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// CityTx runs the city's queries, inside a transaction (Update) or not
// (Read).
type CityTx struct {
	q   querier
	now func() time.Time
}

// Read returns the queries outside any transaction.
func (db *CityDB) Read() CityTx { return CityTx{q: db.DB.DB, now: db.Now} }

// Update runs fn in one write transaction: everything fn did is committed
// if it returns nil, nothing otherwise. Writers (the server and a
// `loa-city ward add` beside it) are serialised by SQLite.
func (db *CityDB) Update(ctx context.Context, fn func(CityTx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(CityTx{q: tx, now: db.Now}); err != nil {
		return err
	}
	return tx.Commit()
}

func isUnique(err error) bool {
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}

// Ward is a registered ward station.
type Ward struct {
	ID        string
	Groups    []string // sorted
	CreatedAt time.Time
	// LastSeen is its last manifest request (zero: never), when it had
	// SeenVersion in effect.
	LastSeen    time.Time
	SeenVersion int64
	// DisplayName is the ward's name with its diacritics ("" : none);
	// Lat and Lon where its station is (nil: not known).
	DisplayName string
	Lat, Lon    *float64
}

// AddWard registers a ward with the hash of its token.
func (t CityTx) AddWard(ctx context.Context, w Ward, tokenHash []byte) error {
	if w.CreatedAt.IsZero() {
		w.CreatedAt = t.now()
	}
	_, err := t.q.ExecContext(ctx, `INSERT INTO wards(id, token_hash, created_at) VALUES(?,?,?)`, w.ID, tokenHash, ms(w.CreatedAt))
	if isUnique(err) {
		return fmt.Errorf("ward %s: %w", w.ID, ErrExists)
	}
	if err != nil {
		return err
	}
	for _, g := range w.Groups {
		if _, err := t.q.ExecContext(ctx, `INSERT OR IGNORE INTO ward_groups(ward, grp) VALUES(?,?)`, w.ID, g); err != nil {
			return err
		}
	}
	return nil
}

// Wards lists every ward, by id.
func (t CityTx) Wards(ctx context.Context) ([]Ward, error) {
	return t.wards(ctx, `SELECT id, created_at, last_seen, seen_version, display_name, lat, lon FROM wards ORDER BY id`)
}

// WardsInGroup lists the wards of group g, by id.
func (t CityTx) WardsInGroup(ctx context.Context, g string) ([]Ward, error) {
	return t.wards(ctx, `SELECT id, created_at, last_seen, seen_version, display_name, lat, lon FROM wards
		WHERE id IN (SELECT ward FROM ward_groups WHERE grp = ?) ORDER BY id`, g)
}

// SetWardInfo sets a ward's display name and location (nil: not known).
func (t CityTx) SetWardInfo(ctx context.Context, id, name string, lat, lon *float64) error {
	res, err := t.q.ExecContext(ctx, `UPDATE wards SET display_name = ?, lat = ?, lon = ? WHERE id = ?`, name, lat, lon, id)
	return oneRow(res, err)
}

// Ward returns one ward.
func (t CityTx) Ward(ctx context.Context, id string) (Ward, error) {
	ws, err := t.wards(ctx, `SELECT id, created_at, last_seen, seen_version, display_name, lat, lon FROM wards WHERE id = ?`, id)
	if err != nil {
		return Ward{}, err
	}
	if len(ws) == 0 {
		return Ward{}, fmt.Errorf("ward %s: %w", id, ErrNotFound)
	}
	return ws[0], nil
}

func (t CityTx) wards(ctx context.Context, q string, args ...any) ([]Ward, error) {
	rows, err := t.q.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	var out []Ward
	for rows.Next() {
		var w Ward
		var created int64
		var seen sql.NullInt64
		var lat, lon sql.NullFloat64
		if err := rows.Scan(&w.ID, &created, &seen, &w.SeenVersion, &w.DisplayName, &lat, &lon); err != nil {
			rows.Close()
			return nil, err
		}
		w.CreatedAt = fromMS(created)
		if lat.Valid && lon.Valid {
			w.Lat, w.Lon = &lat.Float64, &lon.Float64
		}
		if seen.Valid {
			w.LastSeen = fromMS(seen.Int64)
		}
		out = append(out, w)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(out) == 1 {
		g, err := t.strings(ctx, `SELECT grp FROM ward_groups WHERE ward = ? ORDER BY grp`, out[0].ID)
		if err != nil {
			return nil, err
		}
		out[0].Groups = g
		return out, nil
	}
	// Many wards (the fleet page draws them all at each event): their
	// groups in one query, not one query a ward.
	if len(out) > 1 {
		at := make(map[string]int, len(out))
		for i, w := range out {
			at[w.ID] = i
		}
		rows, err := t.q.QueryContext(ctx, `SELECT ward, grp FROM ward_groups ORDER BY ward, grp`)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		for rows.Next() {
			var ward, grp string
			if err := rows.Scan(&ward, &grp); err != nil {
				return nil, err
			}
			if i, ok := at[ward]; ok {
				out[i].Groups = append(out[i].Groups, grp)
			}
		}
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (t CityTx) strings(ctx context.Context, q string, args ...any) ([]string, error) {
	rows, err := t.q.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// WardSeen records a manifest request from a ward that has version in effect.
func (t CityTx) WardSeen(ctx context.Context, id string, at time.Time, version int64) error {
	_, err := t.q.ExecContext(ctx, `UPDATE wards SET last_seen = ?, seen_version = ? WHERE id = ?`, ms(at), version, id)
	return err
}

// WardByToken returns the id of the ward whose token hashes to h.
func (t CityTx) WardByToken(ctx context.Context, h []byte) (string, error) {
	var id string
	err := t.q.QueryRowContext(ctx, `SELECT id FROM wards WHERE token_hash = ?`, h).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrNotFound
	}
	return id, err
}

// User is a person (or a script) using the API.
type User struct {
	Name      string
	Role      string
	CreatedAt time.Time
	// Wards and Groups are the user's scope (sorted); both empty: the
	// whole city (city/accounts decides what a scope allows).
	Wards  []string
	Groups []string
}

// AddUser adds a user with the hash of their token.
func (t CityTx) AddUser(ctx context.Context, u User, tokenHash []byte) error {
	if u.CreatedAt.IsZero() {
		u.CreatedAt = t.now()
	}
	_, err := t.q.ExecContext(ctx, `INSERT INTO users(name, role, token_hash, created_at) VALUES(?,?,?,?)`, u.Name, u.Role, tokenHash, ms(u.CreatedAt))
	if isUnique(err) {
		return fmt.Errorf("user %s: %w", u.Name, ErrExists)
	}
	return err
}

// UserByToken returns the user whose token hashes to h.
func (t CityTx) UserByToken(ctx context.Context, h []byte) (User, error) {
	var u User
	var created int64
	err := t.q.QueryRowContext(ctx, `SELECT name, role, created_at FROM users WHERE token_hash = ? AND disabled_at IS NULL`, h).Scan(&u.Name, &u.Role, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, ErrNotFound
	}
	u.CreatedAt = fromMS(created)
	if err != nil {
		return u, err
	}
	u.Wards, u.Groups, err = t.UserScope(ctx, u.Name)
	return u, err
}

// Users lists every user, by name.
func (t CityTx) Users(ctx context.Context) ([]User, error) {
	rows, err := t.q.QueryContext(ctx, `SELECT name, role, created_at FROM users ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []User
	for rows.Next() {
		var u User
		var created int64
		if err := rows.Scan(&u.Name, &u.Role, &created); err != nil {
			return nil, err
		}
		u.CreatedAt = fromMS(created)
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows.Close()
	for i := range out {
		if out[i].Wards, out[i].Groups, err = t.UserScope(ctx, out[i].Name); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// UserScope returns the wards and groups user name is scoped to (sorted;
// none: the whole city).
func (t CityTx) UserScope(ctx context.Context, name string) (wards, groups []string, err error) {
	rows, err := t.q.QueryContext(ctx, `SELECT kind, name FROM user_scope WHERE user = ? ORDER BY kind, name`, name)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var kind, n string
		if err := rows.Scan(&kind, &n); err != nil {
			return nil, nil, err
		}
		if kind == "ward" {
			wards = append(wards, n)
		} else {
			groups = append(groups, n)
		}
	}
	return wards, groups, rows.Err()
}

// SetUserScope replaces user name's scope (none: the whole city);
// ErrNotFound when there is no such user.
func (t CityTx) SetUserScope(ctx context.Context, name string, wards, groups []string) error {
	var n int
	if err := t.q.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE name = ?`, name).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return ErrNotFound
	}
	if _, err := t.q.ExecContext(ctx, `DELETE FROM user_scope WHERE user = ?`, name); err != nil {
		return err
	}
	for kind, names := range map[string][]string{"ward": wards, "group": groups} {
		for _, x := range names {
			if _, err := t.q.ExecContext(ctx, `INSERT OR IGNORE INTO user_scope(user, kind, name) VALUES(?,?,?)`, name, kind, x); err != nil {
				return err
			}
		}
	}
	return nil
}

// CityMedia is an item of the city's media library.
type CityMedia struct {
	SHA256 string
	Size   int64
	Rate   int
	Frames int64
	// LoudnessLUFS is valid when HasLoudness (false for digital silence).
	LoudnessLUFS   float64
	HasLoudness    bool
	TruePeakDB     float64
	Title          string
	OriginalName   string
	OriginalSHA256 string
	OriginalSize   int64
	AddedBy        string
	AddedAt        time.Time
	// Names are the names programs may use for it (filled by the list
	// queries).
	Names []string
}

// Duration is the decoded length.
func (m CityMedia) Duration() time.Duration {
	if m.Rate == 0 {
		return 0
	}
	return time.Duration(float64(m.Frames) * float64(time.Second) / float64(m.Rate))
}

const cityMediaCols = `sha256, size, rate, frames, loudness_lufs, true_peak_db, title, original_name, original_sha256, original_size, added_by, added_at`

func scanCityMedia(sc interface{ Scan(...any) error }) (CityMedia, error) {
	var m CityMedia
	var loud sql.NullFloat64
	var added int64
	err := sc.Scan(&m.SHA256, &m.Size, &m.Rate, &m.Frames, &loud, &m.TruePeakDB, &m.Title, &m.OriginalName, &m.OriginalSHA256, &m.OriginalSize, &m.AddedBy, &added)
	m.LoudnessLUFS, m.HasLoudness = loud.Float64, loud.Valid
	m.AddedAt = fromMS(added)
	return m, err
}

// PutMedia adds an item unless one with its key exists. It reports whether
// it was added.
func (t CityTx) PutMedia(ctx context.Context, m CityMedia) (bool, error) {
	if m.AddedAt.IsZero() {
		m.AddedAt = t.now()
	}
	var loud sql.NullFloat64
	if m.HasLoudness {
		loud = sql.NullFloat64{Float64: m.LoudnessLUFS, Valid: true}
	}
	res, err := t.q.ExecContext(ctx, `INSERT INTO media(`+cityMediaCols+`) VALUES(?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT(sha256) DO NOTHING`,
		m.SHA256, m.Size, m.Rate, m.Frames, loud, m.TruePeakDB, m.Title, m.OriginalName, m.OriginalSHA256, m.OriginalSize, m.AddedBy, ms(m.AddedAt))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// Media returns the item with key sha.
func (t CityTx) Media(ctx context.Context, sha string) (CityMedia, error) {
	m, err := scanCityMedia(t.q.QueryRowContext(ctx, `SELECT `+cityMediaCols+` FROM media WHERE sha256 = ?`, sha))
	if errors.Is(err, sql.ErrNoRows) {
		return m, fmt.Errorf("media %s: %w", sha, ErrNotFound)
	}
	if err != nil {
		return m, err
	}
	m.Names, err = t.strings(ctx, `SELECT name FROM media_names WHERE sha256 = ? ORDER BY name`, sha)
	return m, err
}

// MediaByOriginal returns the item made from an upload with that sha256.
func (t CityTx) MediaByOriginal(ctx context.Context, sha string) (CityMedia, error) {
	var key string
	err := t.q.QueryRowContext(ctx, `SELECT sha256 FROM media WHERE original_sha256 = ? LIMIT 1`, sha).Scan(&key)
	if errors.Is(err, sql.ErrNoRows) {
		return CityMedia{}, fmt.Errorf("upload %s: %w", sha, ErrNotFound)
	}
	if err != nil {
		return CityMedia{}, err
	}
	return t.Media(ctx, key)
}

// MediaByName returns the key of the item called name.
func (t CityTx) MediaByName(ctx context.Context, name string) (string, error) {
	var key string
	err := t.q.QueryRowContext(ctx, `SELECT sha256 FROM media_names WHERE name = ?`, name).Scan(&key)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("media named %q: %w", name, ErrNotFound)
	}
	return key, err
}

// NameMedia gives name to the item sha. If the name means another item it
// is moved when replace is true, else the error wraps ErrExists and says
// which item has it.
func (t CityTx) NameMedia(ctx context.Context, name, sha string, replace bool) error {
	cur, err := t.MediaByName(ctx, name)
	switch {
	case errors.Is(err, ErrNotFound):
		_, err = t.q.ExecContext(ctx, `INSERT INTO media_names(name, sha256) VALUES(?,?)`, name, sha)
		return err
	case err != nil:
		return err
	case cur == sha:
		return nil
	case !replace:
		return fmt.Errorf("the name %q is used by media %s: %w", name, cur, ErrExists)
	}
	_, err = t.q.ExecContext(ctx, `UPDATE media_names SET sha256 = ? WHERE name = ?`, sha, name)
	return err
}

// AllMedia lists the library, newest first.
func (t CityTx) AllMedia(ctx context.Context) ([]CityMedia, error) {
	rows, err := t.q.QueryContext(ctx, `SELECT `+cityMediaCols+` FROM media ORDER BY added_at DESC, sha256`)
	if err != nil {
		return nil, err
	}
	var out []CityMedia
	idx := map[string]int{}
	for rows.Next() {
		m, err := scanCityMedia(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		idx[m.SHA256] = len(out)
		out = append(out, m)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = t.q.QueryContext(ctx, `SELECT name, sha256 FROM media_names ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var name, sha string
		if err := rows.Scan(&name, &sha); err != nil {
			return nil, err
		}
		if i, ok := idx[sha]; ok {
			out[i].Names = append(out[i].Names, name)
		}
	}
	return out, rows.Err()
}

// ProgramSet is the program file loaded for a target.
type ProgramSet struct {
	Target   string // all | group:G | ward:ID
	File     string
	Body     []byte
	MediaMap map[string]string
	LoadedBy string
	LoadedAt time.Time
}

// PutProgramSet replaces the program file of its target.
func (t CityTx) PutProgramSet(ctx context.Context, p ProgramSet) error {
	mm, err := json.Marshal(p.MediaMap)
	if err != nil {
		return err
	}
	if p.LoadedAt.IsZero() {
		p.LoadedAt = t.now()
	}
	_, err = t.q.ExecContext(ctx, `INSERT INTO programs(target, file, body, media_map, loaded_by, loaded_at) VALUES(?,?,?,?,?,?)
		ON CONFLICT(target) DO UPDATE SET file=excluded.file, body=excluded.body, media_map=excluded.media_map,
		loaded_by=excluded.loaded_by, loaded_at=excluded.loaded_at`,
		p.Target, p.File, p.Body, string(mm), p.LoadedBy, ms(p.LoadedAt))
	return err
}

// DeleteProgramSet removes the program file of target. It reports whether
// there was one.
func (t CityTx) DeleteProgramSet(ctx context.Context, target string) (bool, error) {
	res, err := t.q.ExecContext(ctx, `DELETE FROM programs WHERE target = ?`, target)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// ProgramSets returns the program files of the given targets that exist,
// in the order asked; with no targets, every one, by target.
func (t CityTx) ProgramSets(ctx context.Context, targets ...string) ([]ProgramSet, error) {
	q := `SELECT target, file, body, media_map, loaded_by, loaded_at FROM programs`
	args := make([]any, len(targets))
	if len(targets) > 0 {
		q += ` WHERE target IN (?` + strings.Repeat(",?", len(targets)-1) + `)`
		for i, tg := range targets {
			args[i] = tg
		}
	}
	rows, err := t.q.QueryContext(ctx, q+` ORDER BY target`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	byTarget := map[string]ProgramSet{}
	var all []ProgramSet
	for rows.Next() {
		var p ProgramSet
		var mm string
		var loaded int64
		if err := rows.Scan(&p.Target, &p.File, &p.Body, &mm, &p.LoadedBy, &loaded); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(mm), &p.MediaMap); err != nil {
			return nil, fmt.Errorf("programs of %s: media map: %w", p.Target, err)
		}
		p.LoadedAt = fromMS(loaded)
		byTarget[p.Target] = p
		all = append(all, p)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(targets) == 0 {
		return all, nil
	}
	out := make([]ProgramSet, 0, len(byTarget))
	for _, tg := range targets {
		if p, ok := byTarget[tg]; ok {
			out = append(out, p)
			delete(byTarget, tg)
		}
	}
	return out, nil
}

// WardManifest is the signed manifest served to a ward.
type WardManifest struct {
	Ward        string
	Version     int64
	ContentHash string
	KeyID       string
	ETag        string
	Envelope    []byte
	Gzip        []byte
	Issued      time.Time
	// Media are the keys the ward may fetch (PutWardManifest only).
	Media []string
}

// WardManifest returns the manifest of ward (ErrNotFound: none yet).
func (t CityTx) WardManifest(ctx context.Context, ward string) (WardManifest, error) {
	var m WardManifest
	var issued int64
	err := t.q.QueryRowContext(ctx, `SELECT ward, version, content_hash, key_id, etag, envelope, envelope_gzip, issued_at FROM manifests WHERE ward = ?`, ward).
		Scan(&m.Ward, &m.Version, &m.ContentHash, &m.KeyID, &m.ETag, &m.Envelope, &m.Gzip, &issued)
	if errors.Is(err, sql.ErrNoRows) {
		return m, fmt.Errorf("manifest of %s: %w", ward, ErrNotFound)
	}
	m.Issued = fromMS(issued)
	return m, err
}

// ManifestETag returns the ETag of ward's manifest ("" when none): what a
// poll that changed nothing needs, without reading the envelope.
func (t CityTx) ManifestETag(ctx context.Context, ward string) (etag string, version int64, err error) {
	err = t.q.QueryRowContext(ctx, `SELECT etag, version FROM manifests WHERE ward = ?`, ward).Scan(&etag, &version)
	if errors.Is(err, sql.ErrNoRows) {
		return "", 0, nil
	}
	return etag, version, err
}

// ManifestVersions returns the version of every ward's manifest, by ward
// (a ward with none is absent): one query for a list of wards, where
// ManifestETag per ward would be one each.
func (t CityTx) ManifestVersions(ctx context.Context) (map[string]int64, error) {
	rows, err := t.q.QueryContext(ctx, `SELECT ward, version FROM manifests`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var ward string
		var v int64
		if err := rows.Scan(&ward, &v); err != nil {
			return nil, err
		}
		out[ward] = v
	}
	return out, rows.Err()
}

// PutWardManifest stores a ward's manifest and the media it may fetch.
func (t CityTx) PutWardManifest(ctx context.Context, m WardManifest) error {
	if _, err := t.q.ExecContext(ctx, `INSERT INTO manifests(ward, version, content_hash, key_id, etag, envelope, envelope_gzip, issued_at) VALUES(?,?,?,?,?,?,?,?)
		ON CONFLICT(ward) DO UPDATE SET version=excluded.version, content_hash=excluded.content_hash, key_id=excluded.key_id,
		etag=excluded.etag, envelope=excluded.envelope, envelope_gzip=excluded.envelope_gzip, issued_at=excluded.issued_at`,
		m.Ward, m.Version, m.ContentHash, m.KeyID, m.ETag, m.Envelope, m.Gzip, ms(m.Issued)); err != nil {
		return err
	}
	if _, err := t.q.ExecContext(ctx, `DELETE FROM manifest_media WHERE ward = ?`, m.Ward); err != nil {
		return err
	}
	for _, k := range m.Media {
		if _, err := t.q.ExecContext(ctx, `INSERT OR IGNORE INTO manifest_media(ward, sha256) VALUES(?,?)`, m.Ward, k); err != nil {
			return err
		}
	}
	return nil
}

// WardMayFetch reports whether sha is in ward's current manifest.
func (t CityTx) WardMayFetch(ctx context.Context, ward, sha string) (bool, error) {
	var n int
	err := t.q.QueryRowContext(ctx, `SELECT count(*) FROM manifest_media WHERE ward = ? AND sha256 = ?`, ward, sha).Scan(&n)
	return n > 0, err
}

// Upload is a resumable upload in progress.
type Upload struct {
	ID        string
	Name      string
	Title     string
	Size      int64 // -1: not announced
	Replace   bool
	CreatedBy string
	CreatedAt time.Time
}

// AddUpload records a new upload.
func (t CityTx) AddUpload(ctx context.Context, u Upload) error {
	if u.CreatedAt.IsZero() {
		u.CreatedAt = t.now()
	}
	_, err := t.q.ExecContext(ctx, `INSERT INTO uploads(id, name, title, size, replace, created_by, created_at) VALUES(?,?,?,?,?,?,?)`,
		u.ID, u.Name, u.Title, u.Size, u.Replace, u.CreatedBy, ms(u.CreatedAt))
	return err
}

// Upload returns an upload in progress.
func (t CityTx) Upload(ctx context.Context, id string) (Upload, error) {
	var u Upload
	var created int64
	err := t.q.QueryRowContext(ctx, `SELECT id, name, title, size, replace, created_by, created_at FROM uploads WHERE id = ?`, id).
		Scan(&u.ID, &u.Name, &u.Title, &u.Size, &u.Replace, &u.CreatedBy, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return u, fmt.Errorf("upload %s: %w", id, ErrNotFound)
	}
	u.CreatedAt = fromMS(created)
	return u, err
}

// DeleteUpload forgets an upload.
func (t CityTx) DeleteUpload(ctx context.Context, id string) error {
	_, err := t.q.ExecContext(ctx, `DELETE FROM uploads WHERE id = ?`, id)
	return err
}

// StaleUploads lists the ids of uploads started before cutoff.
func (t CityTx) StaleUploads(ctx context.Context, cutoff time.Time) ([]string, error) {
	return t.strings(ctx, `SELECT id FROM uploads WHERE created_at < ? ORDER BY id`, ms(cutoff))
}
