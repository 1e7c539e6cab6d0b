// Package testdb opens a station's real SQLite database for a test to
// read while the station writes it, once per test.
//
// Tests wait on rows (an as-run entry, a receipt) by reading the database
// every few milliseconds. Opening it each time made SQLite read and parse
// its whole schema each time, which under the race detector was a third of
// some test processes' CPU; a handle opened on first use and kept for the
// test costs one query a poll. When the test ends, the database is checked
// for integrity (PRAGMA integrity_check) and closed.
package testdb

import (
	"context"
	"sync"
	"testing"

	"loa/sqlite"
)

type key struct {
	tb   testing.TB
	path string
}

var open sync.Map // key → *sqlite.AgentDB or *sqlite.CityDB

// Agent is the agent database at path, opened on the test's first call.
func Agent(tb testing.TB, path string) *sqlite.AgentDB {
	tb.Helper()
	return get(tb, path, sqlite.OpenAgent)
}

// City is the city database at path, opened on the test's first call.
func City(tb testing.TB, path string) *sqlite.CityDB {
	tb.Helper()
	return get(tb, path, sqlite.OpenCity)
}

// database is what *sqlite.AgentDB and *sqlite.CityDB have from the
// *sqlite.DB they embed.
type database interface {
	IntegrityCheck(context.Context) error
	Close() error
}

func get[T database](tb testing.TB, path string, openDB func(context.Context, string) (T, error)) T {
	tb.Helper()
	k := key{tb, path}
	if db, ok := open.Load(k); ok {
		return db.(T)
	}
	db, err := openDB(context.Background(), path)
	if err != nil {
		tb.Fatal(err)
	}
	if first, loaded := open.LoadOrStore(k, db); loaded {
		// Another goroutine of the test opened it first.
		db.Close()
		return first.(T)
	}
	tb.Cleanup(func() {
		open.Delete(k)
		if err := db.IntegrityCheck(context.Background()); err != nil {
			tb.Errorf("database %s at the end of the test: %v", path, err)
		}
		db.Close()
	})
	return db
}
