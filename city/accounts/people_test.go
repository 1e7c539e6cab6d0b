package accounts

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"loa/internal/cmdkit"
	"loa/sqlite"
)

// sqliteLogins is the real city database as LoginStore (people's log-ins
// are tested on the real SQLite file: their queries are the point).
type sqliteLogins struct{ db *sqlite.CityDB }

func (s sqliteLogins) ReadLogins() LoginTx { return s.db.Read() }
func (s sqliteLogins) UpdateLogins(ctx context.Context, fn func(LoginTx) error) error {
	return s.db.Update(ctx, func(tx sqlite.CityTx) error { return fn(tx) })
}

func newPeople(t *testing.T) (*Service, *sqlite.CityDB) {
	t.Helper()
	db, err := sqlite.OpenCity(context.Background(), filepath.Join(t.TempDir(), "city.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	s := New(nil, nil, nil)
	s.Logins = sqliteLogins{db}
	return s, db
}

func TestPeopleLogInChangeDisable(t *testing.T) {
	ctx := context.Background()
	s, db := newPeople(t)
	tok, pw, err := s.AddPerson(ctx, "lan", "operator")
	if err != nil || !strings.HasPrefix(tok, userTokenPrefix) || len(pw) != 19 {
		t.Fatalf("AddPerson: %q %q %v", tok, pw, err)
	}
	if _, _, err := s.AddPerson(ctx, "lan", "operator"); !cmdkit.IsBadInput(err) || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("twice: %v", err)
	}
	for _, bad := range [][2]string{{"có dấu cách", "operator"}, {"x", "chief"}} {
		if _, _, err := s.AddPerson(ctx, bad[0], bad[1]); !cmdkit.IsBadInput(err) {
			t.Errorf("AddPerson%v: %v", bad, err)
		}
	}
	if role, err := s.CheckPassword(ctx, "lan", pw); err != nil || role != "operator" {
		t.Fatalf("one-time password: %q %v", role, err)
	}
	for _, try := range [][2]string{{"lan", "sai"}, {"khong-co", pw}, {"lan", ""}} {
		if _, err := s.CheckPassword(ctx, try[0], try[1]); !errors.Is(err, ErrBadPassword) {
			t.Errorf("CheckPassword%v: %v", try, err)
		}
	}
	// A session shows the must-change mark until the password is changed.
	now := time.Now()
	if err := s.StartSession(ctx, Session{IDHash: "h1", User: "lan", CSRF: "c", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if sess, must, err := s.Session(ctx, "h1"); err != nil || !must || sess.Role != "operator" {
		t.Fatalf("session: %+v %v %v", sess, must, err)
	}
	if err := s.ChangePassword(ctx, "lan", pw, "ngắn"); !cmdkit.IsBadInput(err) || !strings.Contains(err.Error(), "quá ngắn") {
		t.Fatalf("short password: %v", err)
	}
	if err := s.ChangePassword(ctx, "lan", "sai", "một câu đủ dài"); !errors.Is(err, ErrBadPassword) {
		t.Fatalf("wrong old password: %v", err)
	}
	if err := s.ChangePassword(ctx, "lan", pw, "một câu đủ dài"); err != nil {
		t.Fatal(err)
	}
	if _, must, _ := s.Session(ctx, "h1"); must {
		t.Fatal("still must change")
	}
	if _, err := s.CheckPassword(ctx, "lan", pw); !errors.Is(err, ErrBadPassword) {
		t.Fatal("the one-time password still works")
	}
	// Disabled: no log-in, no session, no token.
	if err := s.SetDisabled(ctx, "lan", true); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CheckPassword(ctx, "lan", "một câu đủ dài"); !errors.Is(err, ErrBadPassword) {
		t.Fatalf("disabled log-in: %v", err)
	}
	if _, _, err := s.Session(ctx, "h1"); !errors.Is(err, sqlite.ErrNotFound) {
		t.Fatalf("disabled session: %v", err)
	}
	if _, err := db.Read().UserByToken(ctx, hashToken(tok)); !errors.Is(err, sqlite.ErrNotFound) {
		t.Fatalf("disabled token: %v", err)
	}
	if err := s.SetDisabled(ctx, "khong-co", true); !cmdkit.IsBadInput(err) {
		t.Fatalf("unknown user: %v", err)
	}
	// A reset gives a new one-time password.
	if err := s.SetDisabled(ctx, "lan", false); err != nil {
		t.Fatal(err)
	}
	again, err := s.ResetPassword(ctx, "lan")
	if err != nil || again == pw {
		t.Fatalf("reset: %v", err)
	}
	if role, err := s.CheckPassword(ctx, "lan", again); err != nil || role != "operator" {
		t.Fatalf("after reset: %v", err)
	}
	people, err := s.People(ctx)
	if err != nil || len(people) != 1 || !people[0].Password || people[0].Disabled {
		t.Fatalf("People: %+v %v", people, err)
	}
}

func TestSetWardInfo(t *testing.T) {
	ctx := context.Background()
	s, db := newPeople(t)
	if err := db.Update(ctx, func(tx sqlite.CityTx) error { return tx.AddWard(ctx, sqlite.Ward{ID: "ben-nghe"}, []byte("h")) }); err != nil {
		t.Fatal(err)
	}
	lat, lon := 10.7769, 106.7009
	if err := s.SetWardInfo(ctx, "ben-nghe", " Phường Bến Nghé ", &lat, &lon); err != nil {
		t.Fatal(err)
	}
	w, _ := db.Read().Ward(ctx, "ben-nghe")
	if w.DisplayName != "Phường Bến Nghé" || w.Lat == nil || *w.Lat != lat || *w.Lon != lon {
		t.Fatalf("ward %+v", w)
	}
	bad, north := 200.0, 95.0
	for _, c := range []struct {
		id, name string
		lat, lon *float64
		want     string
	}{
		{"khong-co", "X", nil, nil, "no ward khong-co"},
		{"ben-nghe", strings.Repeat("á", 101), nil, nil, "at most 100"},
		{"ben-nghe", "a\nb", nil, nil, "one line"},
		{"ben-nghe", "", &lat, nil, "both"},
		{"ben-nghe", "", &north, &bad, "latitude -90..90"},
	} {
		if err := s.SetWardInfo(ctx, c.id, c.name, c.lat, c.lon); !cmdkit.IsBadInput(err) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("SetWardInfo(%q, %q): %v, want %q", c.id, c.name, err, c.want)
		}
	}
	if w2, _ := db.Read().Ward(ctx, "ben-nghe"); w2.DisplayName != "Phường Bến Nghé" {
		t.Fatal("a refused change changed the ward")
	}
}
