package sqlite

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fillUp makes db full (SQLITE_FULL) for writes that need a new page:
// one connection, its page count capped where it stands.
func fillUp(t *testing.T, db *AgentDB) {
	t.Helper()
	db.SetMaxOpenConns(1)
	if _, err := db.DB.DB.Exec(`PRAGMA max_page_count = 1`); err != nil { // clamps to the current size
		t.Fatal(err)
	}
}

// A write refused because the disk is full is done again once OnFull
// has given space back; without space, the error says the disk is full.
func TestExecRetriedWhenOnFullFreesSpace(t *testing.T) {
	ctx := context.Background()
	db, err := OpenAgent(ctx, filepath.Join(t.TempDir(), "loa.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	fillUp(t, db)
	big := strings.Repeat("x", 4000) // needs new pages
	e := AsRunEntry{Program: "p", Item: big, Kind: "alert", Planned: time.Now(), Result: "completed"}
	if _, err := db.AddAsRun(ctx, e); !IsFull(err) {
		t.Fatalf("full database: %v", err)
	}
	calls := 0
	db.OnFull = func() bool {
		calls++
		if _, err := db.DB.DB.Exec(`PRAGMA max_page_count = 1000000`); err != nil {
			t.Error(err)
		}
		return true
	}
	if _, err := db.AddAsRun(ctx, e); err != nil || calls != 1 {
		t.Fatalf("after OnFull: %v (%d calls)", err, calls)
	}
	rows, err := db.LastAsRun(ctx, 5)
	if err != nil || len(rows) != 1 {
		t.Fatalf("stored: %v %v", rows, err)
	}
}
