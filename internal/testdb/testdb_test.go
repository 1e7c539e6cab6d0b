package testdb

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"loa/sqlite"
)

// recordingTB keeps a test's cleanups and errors, so that this test can
// run them and read them.
type recordingTB struct {
	testing.TB
	cleanups []func()
	errs     []string
}

func (r *recordingTB) Cleanup(f func()) { r.cleanups = append(r.cleanups, f) }
func (r *recordingTB) Errorf(format string, a ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, a...))
}

func (r *recordingTB) end() {
	for i := len(r.cleanups) - 1; i >= 0; i-- {
		r.cleanups[i]()
	}
}

// One handle for the test, closed at its end after a clean check.
func TestOneHandleClosedAtTheEnd(t *testing.T) {
	path := filepath.Join(t.TempDir(), "loa.db")
	tb := &recordingTB{TB: t}
	db := Agent(tb, path)
	if again := Agent(tb, path); again != db {
		t.Fatal("a second call opened the database again")
	}
	other := &recordingTB{TB: t}
	if Agent(other, path) == db {
		t.Fatal("another test got this test's handle")
	}
	other.end()
	tb.end()
	if len(tb.errs) != 0 {
		t.Fatalf("a healthy database reported: %v", tb.errs)
	}
	if err := db.PingContext(context.Background()); err == nil {
		t.Fatal("the handle is still open after the test")
	}
}

// A database damaged during the test fails the test at its end.
func TestDamageFailsTheTest(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "loa.db")
	db, err := sqlite.OpenAgent(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 400 {
		if _, err := db.AddAsRun(ctx, sqlite.AsRunEntry{Program: fmt.Sprintf("p%d", i), Kind: "program", Result: "completed",
			Note: strings.Repeat("x", 200), Planned: time.Unix(int64(i), 0), Occurrence: time.Unix(int64(i), 0)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	// Garbage over the as-run rows' last pages.
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := f.Stat()
	f.WriteAt([]byte(strings.Repeat("\xa5", 4096)), st.Size()-8192)
	f.Close()

	tb := &recordingTB{TB: t}
	Agent(tb, path)
	tb.end()
	if len(tb.errs) != 1 || !strings.Contains(tb.errs[0], "at the end of the test") {
		t.Fatalf("errors at the end of a test that damaged its database: %q", tb.errs)
	}
}
