package sqlite

import (
	"context"
	"errors"
	"slices"
	"testing"
)

func TestUserScopeStoredWithTheUser(t *testing.T) {
	ctx := context.Background()
	db, _ := openCity(t)
	err := db.Update(ctx, func(tx CityTx) error {
		if err := tx.AddUser(ctx, User{Name: "lan", Role: "operator"}, []byte("tok-lan")); err != nil {
			return err
		}
		return tx.SetUserScope(ctx, "lan", []string{"ben-nghe", "an-phu"}, []string{"quan-1"})
	})
	if err != nil {
		t.Fatal(err)
	}
	u, err := db.Read().UserByToken(ctx, []byte("tok-lan"))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(u.Wards, []string{"an-phu", "ben-nghe"}) || !slices.Equal(u.Groups, []string{"quan-1"}) {
		t.Fatalf("scope by token = %v %v", u.Wards, u.Groups)
	}
	if err := db.Update(ctx, func(tx CityTx) error { return tx.SetUserScope(ctx, "lan", nil, nil) }); err != nil {
		t.Fatal(err)
	}
	users, err := db.Read().Users(ctx)
	if err != nil || len(users) != 1 || users[0].Wards != nil || users[0].Groups != nil {
		t.Fatalf("after clearing: %+v, %v", users, err)
	}
	err = db.Update(ctx, func(tx CityTx) error { return tx.SetUserScope(ctx, "nobody", []string{"x"}, nil) })
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("scope of no user: %v", err)
	}
}
