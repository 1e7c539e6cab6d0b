package sqlite

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestConsoleAccountsSessionsAudit(t *testing.T) {
	ctx := context.Background()
	db, _ := openCity(t)
	now := time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)
	db.Now = func() time.Time { return now }
	err := db.Update(ctx, func(tx CityTx) error {
		if err := tx.AddUser(ctx, User{Name: "lan", Role: "operator"}, []byte("tok-lan")); err != nil {
			return err
		}
		if err := tx.SetPassword(ctx, "lan", "$argon2id$x", true); err != nil {
			return err
		}
		if err := tx.AddSession(ctx, Session{IDHash: "s1", User: "lan", CSRF: "c1", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
			return err
		}
		if err := tx.AddSession(ctx, Session{IDHash: "s2", User: "lan", CSRF: "c2", CreatedAt: now, ExpiresAt: now.Add(time.Minute)}); err != nil {
			return err
		}
		return tx.AddAudit(ctx, AuditEntry{Actor: "loa-city", Action: "user.add", Target: "lan", Detail: "role operator"})
	})
	if err != nil {
		t.Fatal(err)
	}
	r := db.Read()
	if u, err := r.UserLogin(ctx, "lan"); err != nil || u.PasswordHash != "$argon2id$x" || !u.MustChange || u.Disabled || u.Role != "operator" {
		t.Fatalf("UserLogin = %+v, %v", u, err)
	}
	if err := db.Update(ctx, func(tx CityTx) error { return tx.SetPassword(ctx, "nobody", "h", false) }); !errors.Is(err, ErrNotFound) {
		t.Errorf("password of an unknown user: %v", err)
	}
	if s, err := r.SessionByHash(ctx, "s1"); err != nil || s.User != "lan" || s.Role != "operator" || s.CSRF != "c1" {
		t.Fatalf("SessionByHash = %+v, %v", s, err)
	}
	now = now.Add(2 * time.Minute) // s2 has expired
	if _, err := r.SessionByHash(ctx, "s2"); !errors.Is(err, ErrNotFound) {
		t.Errorf("expired session: %v", err)
	}
	// Disabling a user ends their sessions and their API token.
	if err := db.Update(ctx, func(tx CityTx) error { return tx.SetUserDisabled(ctx, "lan", true) }); err != nil {
		t.Fatal(err)
	}
	if _, err := r.SessionByHash(ctx, "s1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("session of a disabled user: %v", err)
	}
	if _, err := r.UserByToken(ctx, []byte("tok-lan")); !errors.Is(err, ErrNotFound) {
		t.Errorf("token of a disabled user: %v", err)
	}
	if u, _ := r.UserLogin(ctx, "lan"); !u.Disabled {
		t.Error("not disabled")
	}
	if err := db.Update(ctx, func(tx CityTx) error { return tx.SetUserDisabled(ctx, "lan", false) }); err != nil {
		t.Fatal(err)
	}
	if u, err := r.UserByToken(ctx, []byte("tok-lan")); err != nil || u.Name != "lan" {
		t.Errorf("enabled again: %+v %v", u, err)
	}
	// The audit log, filtered by an action prefix whose '_' is literal.
	db.Update(ctx, func(tx CityTx) error {
		tx.AddAudit(ctx, AuditEntry{Actor: "lan", Action: "media.upload", Target: "ban-tin.mp3", Address: "10.0.0.5"})
		return tx.AddAudit(ctx, AuditEntry{Actor: "lan", Action: "user_x", Target: "y"})
	})
	all, err := r.Audit(ctx, AuditFilter{})
	if err != nil || len(all) != 3 || all[0].Action != "user_x" || all[2].Action != "user.add" {
		t.Fatalf("audit = %+v, %v", all, err)
	}
	if got, _ := r.Audit(ctx, AuditFilter{Action: "user."}); len(got) != 1 || got[0].Target != "lan" {
		t.Errorf("action prefix: %+v", got)
	}
	if got, _ := r.Audit(ctx, AuditFilter{Actor: "lan", Limit: 1}); len(got) != 1 || got[0].Action != "user_x" {
		t.Errorf("actor, limit: %+v", got)
	}
	if got, _ := r.Audit(ctx, AuditFilter{Before: all[0].ID}); len(got) != 2 {
		t.Errorf("next page: %+v", got)
	}
}
