package accounts

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"loa/internal/cmdkit"
	"loa/sqlite"
)

// The city of these tests: group quan-1 has ben-nghe and da-kao, group
// quan-3 has vo-thi-sau, and tan-dinh is in both.
var testPlaces = []Place{
	{ID: "ben-nghe", Groups: []string{"quan-1"}},
	{ID: "da-kao", Groups: []string{"quan-1"}},
	{ID: "tan-dinh", Groups: []string{"quan-1", "quan-3"}},
	{ID: "vo-thi-sau", Groups: []string{"quan-3"}},
}

func TestScopeDecides(t *testing.T) {
	city := Scope{}
	q1 := Scope{Groups: []string{"quan-1"}}
	one := Scope{Wards: []string{"vo-thi-sau"}}
	two := Scope{Wards: []string{"ben-nghe", "da-kao", "tan-dinh"}}
	for _, c := range []struct {
		name   string
		scope  Scope
		target string
		want   bool
	}{
		{"city-wide: all", city, "all", true},
		{"city-wide: any group", city, "group:quan-3", true},
		{"scoped: never all", q1, "all", false},
		{"its group", q1, "group:quan-1", true},
		{"a ward of its group", q1, "ward:da-kao", true},
		{"a bare ward id (alerts)", q1, "da-kao", true},
		{"another group's ward", q1, "ward:vo-thi-sau", false},
		{"another group sharing a ward", q1, "group:quan-3", false},
		{"named ward", one, "ward:vo-thi-sau", true},
		{"group of a named ward with others", one, "group:quan-3", false},
		{"every ward of a group named", two, "group:quan-1", true},
		{"unknown group", two, "group:quan-9", false},
		{"unknown ward", q1, "ward:nowhere", false},
	} {
		if got := c.scope.AllowsTarget(c.target, testPlaces); got != c.want {
			t.Errorf("%s: %v.AllowsTarget(%q) = %v, want %v", c.name, c.scope, c.target, got, c.want)
		}
	}
	if !q1.AllowsTargets("ben-nghe, group:quan-1", testPlaces) || q1.AllowsTargets("ben-nghe,vo-thi-sau", testPlaces) || q1.AllowsTargets("", testPlaces) {
		t.Error("AllowsTargets: every target must be allowed, and there must be one")
	}
	if !q1.Reaches("all", testPlaces) || !q1.Reaches("group:quan-3", testPlaces) || (Scope{Groups: []string{"quan-3"}}).Reaches("ben-nghe,da-kao", testPlaces) {
		t.Error("Reaches: an alert is read by a scope it reaches")
	}
	got := Filter(q1, testPlaces, func(p Place) Place { return p })
	var ids []string
	for _, p := range got {
		ids = append(ids, p.ID)
	}
	if !slices.Equal(ids, []string{"ben-nghe", "da-kao", "tan-dinh"}) {
		t.Errorf("Filter = %v", ids)
	}
	if len(Filter(city, testPlaces, func(p Place) Place { return p })) != 4 {
		t.Error("a city-wide scope filters nothing")
	}
	if s := ScopeOf(User{Role: "admin", Groups: []string{"quan-1"}}); !s.CityWide() {
		t.Error("an admin is never scoped")
	}
}

func TestSetScopeRulesOnTheCityDatabase(t *testing.T) {
	ctx := context.Background()
	s, db := newPeople(t)
	s.Store = sqliteAccounts{db}
	for _, w := range testPlaces {
		if _, err := s.AddWard(ctx, w.ID, w.Groups); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := s.AddScopedPerson(ctx, "lan", "operator", []string{"ben-nghe"}, []string{"quan-3"}); err != nil {
		t.Fatal(err)
	}
	if sc, err := s.UserScope(ctx, "lan"); err != nil || !slices.Equal(sc.Wards, []string{"ben-nghe"}) || !slices.Equal(sc.Groups, []string{"quan-3"}) {
		t.Fatalf("scope of lan = %v, %v", sc, err)
	}
	bad := func(what string, err error, field string) {
		t.Helper()
		var b *cmdkit.BadInputError
		if !errors.As(err, &b) || !strings.Contains(b.Msg, field) || !strings.Contains(b.Msg, " / ") {
			t.Errorf("%s: %v, want a bilingual error naming %s", what, err, field)
		}
	}
	_, _, err := s.AddScopedPerson(ctx, "mai", "operator", []string{"nowhere"}, nil)
	bad("unknown ward", err, "--wards")
	_, _, err = s.AddScopedPerson(ctx, "mai", "technician", nil, []string{"Quan 9"})
	bad("bad group", err, "--groups")
	_, _, err = s.AddScopedPerson(ctx, "boss", "admin", nil, []string{"quan-1"})
	bad("scoped admin", err, "admin")
	if users, _ := s.Users(ctx); len(users) != 1 {
		t.Fatalf("a refused user was added: %+v", users)
	}
	_, err = s.SetScope(ctx, "lan", []string{"da-kao", "nowhere"}, nil, false)
	bad("set: unknown ward", err, "--wards")
	_, err = s.SetScope(ctx, "lan", nil, nil, false)
	bad("set: empty", err, "--all")
	_, err = s.SetScope(ctx, "lan", []string{"da-kao"}, nil, true)
	bad("set: both", err, "--all")
	if sc, _ := s.UserScope(ctx, "lan"); !slices.Equal(sc.Wards, []string{"ben-nghe"}) {
		t.Fatalf("a refused scope changed lan's: %v", sc)
	}
	if _, err := s.SetScope(ctx, "lan", nil, []string{"quan-1"}, false); err != nil {
		t.Fatal(err)
	}
	tok, _, err := s.AddScopedPerson(ctx, "hoa", "alerter", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := s.LookupToken(ctx, tok); !p.Scope.CityWide() {
		t.Errorf("a user added without a scope is city-wide: %v", p.Scope)
	}
	if _, err := s.SetScope(ctx, "hoa", nil, []string{"quan-3"}, false); err != nil {
		t.Fatal(err)
	}
	if p, _ := s.LookupToken(ctx, tok); !slices.Equal(p.Scope.Groups, []string{"quan-3"}) {
		t.Errorf("the token carries the new scope at once: %v", p.Scope)
	}
	if _, err := s.SetScope(ctx, "hoa", nil, nil, true); err != nil {
		t.Fatal(err)
	}
	if sc, _ := s.UserScope(ctx, "hoa"); !sc.CityWide() {
		t.Errorf("--all: %v", sc)
	}
	_, err = s.SetScope(ctx, "nobody", nil, []string{"quan-1"}, false)
	bad("no user", err, "nobody")
}

// sqliteAccounts is the real city database as Store.
type sqliteAccounts struct{ db *sqlite.CityDB }

func (s sqliteAccounts) Read() Tx { return s.db.Read() }
func (s sqliteAccounts) Update(ctx context.Context, fn func(Tx) error) error {
	return s.db.Update(ctx, func(tx sqlite.CityTx) error { return fn(tx) })
}
