package sqlite

import (
	"context"
	"errors"
	"testing"
	"time"
)

// The join-code queries of city/accounts on a real city database: add,
// read back, use, the two deletes, and the ward's token and receipt key
// replaced when a code is redeemed.
func TestCityJoinCodes(t *testing.T) {
	ctx := context.Background()
	db, _ := openCity(t)
	r := db.Read()
	if err := r.AddWard(ctx, Ward{ID: "xa-1"}, []byte("t1")); err != nil {
		t.Fatal(err)
	}
	t0 := time.UnixMilli(1_780_000_000_000)
	for _, c := range []JoinCode{
		{Hash: []byte("a"), Ward: "xa-1", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)},
		{Hash: []byte("b"), Ward: "xa-1", CreatedAt: t0, ExpiresAt: t0.Add(2 * time.Hour)},
		{Hash: []byte("old"), Ward: "xa-1", CreatedAt: t0, ExpiresAt: t0.Add(-time.Hour)},
	} {
		if err := r.AddJoinCode(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	c, err := r.JoinCode(ctx, []byte("a"))
	if err != nil || c.Ward != "xa-1" || !c.CreatedAt.Equal(t0) || !c.ExpiresAt.Equal(t0.Add(time.Hour)) || !c.UsedAt.IsZero() {
		t.Fatalf("JoinCode = %+v, %v", c, err)
	}
	if _, err := r.JoinCode(ctx, []byte("nope")); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown code: %v", err)
	}
	if err := r.UseJoinCode(ctx, []byte("a"), t0.Add(time.Minute), "10.0.0.7"); err != nil {
		t.Fatal(err)
	}
	if c, err := r.JoinCode(ctx, []byte("a")); err != nil || !c.UsedAt.Equal(t0.Add(time.Minute)) || c.UsedFrom != "10.0.0.7" {
		t.Errorf("used code = %+v, %v", c, err)
	}
	if err := r.DeleteJoinCodesExpiredBefore(ctx, t0); err != nil {
		t.Fatal(err)
	}
	if _, err := r.JoinCode(ctx, []byte("old")); !errors.Is(err, ErrNotFound) {
		t.Errorf("expired code kept: %v", err)
	}
	if err := r.DeleteUnusedJoinCodes(ctx, "xa-1"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.JoinCode(ctx, []byte("b")); !errors.Is(err, ErrNotFound) {
		t.Errorf("unused code kept: %v", err)
	}
	if _, err := r.JoinCode(ctx, []byte("a")); err != nil {
		t.Errorf("used code removed: %v", err)
	}

	if _, err := r.AddWardReceiptKey(ctx, "xa-1", "key", "id"); err != nil {
		t.Fatal(err)
	}
	if err := r.SetWardToken(ctx, "xa-1", []byte("t2")); err != nil {
		t.Fatal(err)
	}
	if err := r.DeleteWardReceiptKey(ctx, "xa-1"); err != nil {
		t.Fatal(err)
	}
	if id, err := r.WardByToken(ctx, []byte("t2")); err != nil || id != "xa-1" {
		t.Errorf("new token: %q, %v", id, err)
	}
	if _, err := r.WardByToken(ctx, []byte("t1")); !errors.Is(err, ErrNotFound) {
		t.Errorf("old token still works: %v", err)
	}
	if _, err := r.WardReceiptKey(ctx, "xa-1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("receipt key kept: %v", err)
	}
}
