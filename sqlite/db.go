// Package sqlite is the SQLite adapter of loa: the agent's and the city's
// databases, their embedded migrations, and the queries on them.
//
// The pure-Go modernc.org/sqlite driver is used (no cgo beyond ALSA), in WAL
// mode with synchronous=FULL: a committed as-run row or program switch
// survives a power cut, which on a ward Pi is a daily event.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	_ "modernc.org/sqlite"
)

//go:embed migrations
var migrations embed.FS

// DB is an open database with its migrations applied.
type DB struct {
	*sql.DB
	Path string
	// Now is the clock for timestamps written by this package.
	Now func() time.Time
	// OnFull, if set, is called when a write fails because the disk is
	// full; it returns true when it freed space (full.go), and the write
	// is tried once more.
	OnFull func() bool
}

// open opens (creating) the database at path and applies the migrations of
// set ("agent" or "city").
func open(ctx context.Context, file, set string) (*DB, error) {
	if err := create(file); err != nil {
		return nil, fmt.Errorf("create database %s: %w", file, err)
	}
	q := url.Values{}
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_txlock", "immediate")
	sdb, err := sql.Open("sqlite", "file:"+file+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", file, err)
	}
	db := &DB{DB: sdb, Path: file, Now: time.Now}
	if err := db.migrate(ctx, set); err != nil {
		sdb.Close()
		return nil, fmt.Errorf("open database %s: %w", file, err)
	}
	return db, nil
}

// create makes a new database file with small pages: every committed row
// rewrites whole pages in the WAL, and an SD card pays for each byte (1 KB
// pages write a quarter of what the default 4 KB pages do). The page size
// is set once, before the first write; an existing database keeps its own.
func create(file string) error {
	if _, err := os.Stat(file); err == nil || !errors.Is(err, os.ErrNotExist) {
		return nil
	}
	sdb, err := sql.Open("sqlite", "file:"+file)
	if err != nil {
		return err
	}
	defer sdb.Close()
	sdb.SetMaxOpenConns(1)
	for _, p := range []string{"PRAGMA page_size = 1024", "PRAGMA journal_mode = WAL", "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT"} {
		if _, err := sdb.Exec(p); err != nil {
			return err
		}
	}
	return nil
}

func (db *DB) migrate(ctx context.Context, set string) error {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT`); err != nil {
		return err
	}
	dir := path.Join("migrations", set)
	entries, err := fs.ReadDir(migrations, dir)
	if err != nil {
		return err
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	applied, err := db.appliedMigrations(ctx)
	if err != nil {
		return err
	}
	for _, e := range entries {
		name := e.Name()
		num, _, ok := strings.Cut(name, "_")
		version, err := strconv.Atoi(num)
		if !ok || err != nil {
			return fmt.Errorf("migration %s: name must start with a number", name)
		}
		if applied[version] {
			continue
		}
		body, err := migrations.ReadFile(path.Join(dir, name))
		if err != nil {
			return err
		}
		if err := db.applyMigration(ctx, version, name, string(body)); err != nil {
			return err
		}
	}
	return nil
}

// appliedMigrations are the versions the database has, read at once: a
// database that is up to date (every start but the first) costs one query.
func (db *DB) appliedMigrations(ctx context.Context) (map[int]bool, error) {
	rows, err := db.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	applied := map[int]bool{}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		applied[v] = true
	}
	return applied, rows.Err()
}

// applyMigration runs one migration in its own transaction, unless another
// process opening the same database (the daemon and a command) applied it
// since appliedMigrations: the transaction takes the write lock first.
func (db *DB) applyMigration(ctx context.Context, version int, name, body string) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, version).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, body); err != nil {
		return fmt.Errorf("migration %s: %w", name, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations(version, name, applied_at) VALUES(?, ?, ?)`, version, name, db.Now().UnixMilli()); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migration %s: %w", name, err)
	}
	return nil
}

// IntegrityCheck runs PRAGMA integrity_check and returns its complaints.
func (db *DB) IntegrityCheck(ctx context.Context) error {
	rows, err := db.QueryContext(ctx, `PRAGMA integrity_check`)
	if err != nil {
		return err
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return err
		}
		if s != "ok" {
			problems = append(problems, s)
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(problems) > 0 {
		return errors.New("integrity check: " + strings.Join(problems, "; "))
	}
	return nil
}

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time { return time.UnixMilli(v) }

func nullMS(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixMilli(), Valid: true}
}
