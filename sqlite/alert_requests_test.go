package sqlite

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// A request is kept with who, what and to whom; of two decisions the
// first wins; one past its expiry cannot be decided; an approved one
// records the alert it sent.
func TestAlertRequests(t *testing.T) {
	ctx := context.Background()
	db, err := OpenCity(ctx, filepath.Join(t.TempDir(), "city.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	now := time.UnixMilli(time.Date(2026, 9, 12, 8, 30, 0, 0, time.UTC).UnixMilli())
	add := func(id string) {
		t.Helper()
		r := AlertRequest{ID: id, RequestedBy: "an", RequestedAt: now, Expires: now.Add(15 * time.Minute), Priority: "emergency", Status: "Actual",
			Targets: "all", Wards: []string{"phuong-1", "phuong-2"}, Request: []byte(`{"to":"all"}`)}
		if err := db.Update(ctx, func(tx CityTx) error { return tx.AddAlertRequest(ctx, r) }); err != nil {
			t.Fatal(err)
		}
	}
	add("yc-1")
	add("yc-2")
	r, err := db.Read().AlertRequest(ctx, "yc-1")
	if err != nil || r.State != "pending" || r.RequestedBy != "an" || len(r.Wards) != 2 || !r.Expires.Equal(now.Add(15*time.Minute)) || string(r.Request) != `{"to":"all"}` {
		t.Fatalf("%+v %v", r, err)
	}
	decide := func(id, state string, at time.Time) error {
		return db.Update(ctx, func(tx CityTx) error { return tx.DecideAlertRequest(ctx, id, state, "binh", "", at) })
	}
	if err := decide("yc-1", "approved", now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := decide("yc-1", "refused", now.Add(time.Minute)); !errors.Is(err, ErrNotPending) {
		t.Fatalf("second decision: %v", err)
	}
	if err := decide("yc-2", "approved", now.Add(15*time.Minute)); !errors.Is(err, ErrNotPending) {
		t.Fatalf("decision after expiry: %v", err)
	}
	if err := db.Update(ctx, func(tx CityTx) error { return tx.SetAlertRequestOutcome(ctx, "yc-1", "cb-1", "") }); err != nil {
		t.Fatal(err)
	}
	list, err := db.Read().AlertRequests(ctx, 10)
	if err != nil || len(list) != 2 || list[1].ID != "yc-1" && list[0].ID != "yc-1" {
		t.Fatalf("%+v %v", list, err)
	}
	r, _ = db.Read().AlertRequest(ctx, "yc-1")
	if r.State != "approved" || r.DecidedBy != "binh" || r.Alert != "cb-1" || r.DecidedAt.IsZero() {
		t.Fatalf("%+v", r)
	}
	if _, err := db.Read().AlertRequest(ctx, "yc-9"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown: %v", err)
	}
}

// The migration that brings the approver role rebuilds users: on a
// database that has users and sessions already, both are kept, a user may
// then be an approver, and a session still goes with its user.
func TestApproverMigrationKeepsSessions(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "city.db")
	db, err := OpenCity(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	// Back to before the migration, with a user logged in.
	for _, q := range []string{`DROP TABLE alert_requests`, `DELETE FROM schema_migrations WHERE version = 35`} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now()
	err = db.Update(ctx, func(tx CityTx) error {
		if err := tx.AddUser(ctx, User{Name: "lan", Role: "operator"}, []byte("hash-lan")); err != nil {
			return err
		}
		if err := tx.SetUserScope(ctx, "lan", []string{"phuong-1"}, []string{"quan-1"}); err != nil {
			return err
		}
		return tx.AddSession(ctx, Session{IDHash: "s1", User: "lan", CSRF: "c", CreatedAt: now, ExpiresAt: now.Add(time.Hour)})
	})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()

	db, err = OpenCity(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if s, err := db.Read().SessionByHash(ctx, "s1"); err != nil || s.User != "lan" || s.Role != "operator" {
		t.Fatalf("session after the migration: %+v %v", s, err)
	}
	if w, g, err := db.Read().UserScope(ctx, "lan"); err != nil || !slices.Equal(w, []string{"phuong-1"}) || !slices.Equal(g, []string{"quan-1"}) {
		t.Fatalf("scope after the migration: wards %v groups %v %v", w, g, err)
	}
	if err := db.Update(ctx, func(tx CityTx) error {
		return tx.AddUser(ctx, User{Name: "binh", Role: "approver"}, []byte("hash-binh"))
	}); err != nil {
		t.Fatalf("an approver: %v", err)
	}
	if err := db.Update(ctx, func(tx CityTx) error { return tx.AddUser(ctx, User{Name: "x", Role: "root"}, []byte("hash-x")) }); err == nil {
		t.Fatal("a role outside the list was taken")
	}
	if _, err := db.ExecContext(ctx, `DELETE FROM users WHERE name = 'lan'`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Read().SessionByHash(ctx, "s1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a deleted user's session: %v", err)
	}
}
