package accounts

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"loa/internal/cmdkit"
	"loa/signing"
	"loa/sqlite"
)

// newTest returns a service over a fake store on a fake clock, and the
// function that moves the clock on.
func newTest(t *testing.T) (*Service, *fakeStore, func(time.Duration)) {
	t.Helper()
	now := time.Date(2026, 7, 1, 8, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	store := newFakeStore(clock)
	s := New(store, JoinKey(make([]byte, 32)), nil)
	s.Now = clock
	s.Loc = time.FixedZone("ICT", 7*3600)
	return s, store, func(d time.Duration) { now = now.Add(d) }
}

// wantBadInput fails t unless err is a BadInputError whose message holds want.
func wantBadInput(t *testing.T, what string, err error, want string) {
	t.Helper()
	var bad *cmdkit.BadInputError
	if !errors.As(err, &bad) || !strings.Contains(bad.Msg, want) {
		t.Errorf("%s: got %v, want a bad-input error with %q", what, err, want)
	}
}

func TestAddUser(t *testing.T) {
	ctx := context.Background()
	s, store, _ := newTest(t)
	for _, tc := range []struct{ name, role, want string }{
		{"", "admin", `user name ""`},
		{"lan anh", "admin", `user name "lan anh"`},
		{"lan/anh", "admin", `user name "lan/anh"`},
		{"lan\tanh", "admin", `want a word without spaces`},
		{strings.Repeat("a", 65), "admin", "at most 64"},
		{"lan", "root", `role "root": want one of admin, operator, alerter, approver, technician`},
		{"lan", "", `role ""`},
		{"lan", "Admin", `role "Admin"`},
	} {
		tok, err := s.AddUser(ctx, tc.name, tc.role)
		wantBadInput(t, tc.name+"/"+tc.role, err, tc.want)
		if tok != "" {
			t.Errorf("%q/%q: a token for a refused user", tc.name, tc.role)
		}
	}
	if len(store.st.users) != 0 {
		t.Fatalf("refused users were stored: %v", store.st.users)
	}

	for _, role := range Roles {
		tok, err := s.AddUser(ctx, "u-"+role, role)
		if err != nil || !strings.HasPrefix(tok, userTokenPrefix) || len(tok) != len(userTokenPrefix)+43 {
			t.Fatalf("AddUser(%s) = %q, %v", role, tok, err)
		}
		if h := store.st.userTok["u-"+role]; !reflect.DeepEqual(h, hashToken(tok)) {
			t.Errorf("%s: stored %x, want the token's sha256 (never the token)", role, h)
		}
	}
	tok, err := s.AddUser(ctx, "u-admin", "operator")
	wantBadInput(t, "duplicate", err, "user u-admin already exists")
	if tok != "" || store.st.users["u-admin"].Role != "admin" {
		t.Errorf("a duplicate changed the user: %q %+v", tok, store.st.users["u-admin"])
	}
	users, err := s.Users(ctx)
	if err != nil || len(users) != len(Roles) || users[0].Name != "u-admin" {
		t.Errorf("Users = %+v, %v", users, err)
	}
}

func TestNewTokenIsRandomAndHashed(t *testing.T) {
	a, ha := newToken(wardTokenPrefix)
	b, hb := newToken(wardTokenPrefix)
	if a == b || reflect.DeepEqual(ha, hb) {
		t.Fatal("two tokens alike")
	}
	if want, _ := hex.DecodeString("2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"); !reflect.DeepEqual(hashToken("hello"), want) {
		t.Errorf("hashToken is not sha256: %x", hashToken("hello"))
	}
}

func TestLookupToken(t *testing.T) {
	ctx := context.Background()
	s, store, _ := newTest(t)
	wardTok, err := s.AddWard(ctx, "phuong-1", nil)
	if err != nil {
		t.Fatal(err)
	}
	userTok, err := s.AddUser(ctx, "lan", "operator")
	if err != nil {
		t.Fatal(err)
	}
	if p, err := s.LookupToken(ctx, wardTok); err != nil || !reflect.DeepEqual(p, Principal{Ward: "phuong-1", Role: RoleWard}) || p.Name() != "ward:phuong-1" {
		t.Errorf("ward token: %+v, %v", p, err)
	}
	if p, err := s.LookupToken(ctx, userTok); err != nil || !reflect.DeepEqual(p, Principal{User: "lan", Role: "operator"}) || p.Name() != "lan" {
		t.Errorf("user token: %+v, %v", p, err)
	}
	// A token is looked up by its prefix's kind only: a user's hash
	// under a ward prefix (or the reverse) is nobody's.
	store.st.userTok["lan"] = hashToken(wardTokenPrefix + "x")
	store.st.wardTok["phuong-1"] = hashToken(userTokenPrefix + "y")
	for _, tok := range []string{wardTokenPrefix + "x", userTokenPrefix + "y", "", "loaw_", "loau_nope", "nope", wardTok, userTok} {
		if p, err := s.LookupToken(ctx, tok); !errors.Is(err, ErrUnknownToken) || !reflect.DeepEqual(p, Principal{}) {
			t.Errorf("token %q: %+v, %v; want ErrUnknownToken", tok, p, err)
		}
	}
}

func TestAddWard(t *testing.T) {
	ctx := context.Background()
	s, store, _ := newTest(t)
	for _, tc := range []struct {
		id     string
		groups []string
		want   string
	}{
		{"", nil, `ward id ""`},
		{"Phuong-1", nil, `ward id "Phuong-1": want lowercase letters a-z, digits and '-' (at most 64)`},
		{"phuong 1", nil, `ward id "phuong 1"`},
		{strings.Repeat("a", 65), nil, "ward id"},
		{"phuong-1", []string{"quan-1", "Quan 2"}, `group "Quan 2": want lowercase letters`},
		{"phuong-1", []string{""}, `group ""`},
	} {
		tok, err := s.AddWard(ctx, tc.id, tc.groups)
		wantBadInput(t, tc.id, err, tc.want)
		if tok != "" {
			t.Errorf("%q: a token for a refused ward", tc.id)
		}
	}
	if len(store.st.wards) != 0 || store.updates != 0 {
		t.Fatalf("refused wards reached the store: %v", store.st.wards)
	}

	var checked []Ward
	s.CheckWard = func(ctx context.Context, tx Tx, w Ward) error {
		// The ward is in, in the transaction the check runs in.
		if _, err := tx.Ward(ctx, w.ID); err != nil {
			t.Errorf("check of %s: not in its transaction: %v", w.ID, err)
		}
		checked = append(checked, w)
		if w.ID == "phuong-9" {
			return errors.New("the programs of its groups clash")
		}
		return nil
	}
	tok, err := s.AddWard(ctx, "phuong-1", []string{"ven-song", "quan-1", "ven-song"})
	if err != nil || !strings.HasPrefix(tok, wardTokenPrefix) {
		t.Fatalf("AddWard = %q, %v", tok, err)
	}
	w, err := s.Ward(ctx, "phuong-1")
	if err != nil || !reflect.DeepEqual(w.Groups, []string{"quan-1", "ven-song"}) {
		t.Fatalf("Ward = %+v, %v", w, err)
	}
	if len(checked) != 1 || !reflect.DeepEqual(checked[0], w) {
		t.Errorf("checked %+v, want the stored ward once", checked)
	}
	if p, err := s.LookupToken(ctx, tok); err != nil || p.Ward != "phuong-1" {
		t.Errorf("its token: %+v, %v", p, err)
	}

	tok, err = s.AddWard(ctx, "phuong-1", []string{"quan-2"})
	wantBadInput(t, "existing", err, "ward phuong-1 already exists")
	if w2, _ := s.Ward(ctx, "phuong-1"); tok != "" || !reflect.DeepEqual(w2, w) {
		t.Errorf("an existing ward changed: %q %+v", tok, w2)
	}

	// A ward its check refuses is not kept, nor is its token.
	tok, err = s.AddWard(ctx, "phuong-9", []string{"quan-1"})
	if err == nil || !strings.Contains(err.Error(), "clash") || tok != "" {
		t.Fatalf("refused by the check: %q, %v", tok, err)
	}
	if _, err := s.Ward(ctx, "phuong-9"); !errors.Is(err, sqlite.ErrNotFound) {
		t.Errorf("a refused ward was kept: %v", err)
	}
	if _, ok := store.st.wardTok["phuong-9"]; ok {
		t.Error("a refused ward's token was kept")
	}

	wards, err := s.Wards(ctx)
	if err != nil || len(wards) != 1 || wards[0].ID != "phuong-1" {
		t.Errorf("Wards = %+v, %v", wards, err)
	}
	if _, err := s.Ward(ctx, "phuong-2"); !errors.Is(err, sqlite.ErrNotFound) {
		t.Errorf("unknown ward: %v", err)
	}
}

func TestNormalizeJoinCode(t *testing.T) {
	for in, want := range map[string]string{
		"7KQMX-2HD9P":    "7KQMX2HD9P",
		"7kqmx 2hd9p":    "7KQMX2HD9P",
		" 7kqmx\t2hd9p ": "7KQMX2HD9P",
		"OIL00-00000":    "0110000000",
		"oil0000000":     "0110000000",
	} {
		if got, err := NormalizeJoinCode(in); err != nil || got != want {
			t.Errorf("NormalizeJoinCode(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for in, want := range map[string]string{
		"":             "want 10 letters and digits",
		"7KQMX-2HD9":   "want 10 letters and digits",
		"7KQMX-2HD9PP": "want 10 letters and digits",
		"7KQMU-2HD9P":  `'U' is not one of its letters and digits`,
		"7KQMX-2HD9Đ":  `'Đ' is not one of`,
	} {
		_, err := NormalizeJoinCode(in)
		wantBadInput(t, in, err, want)
	}
	for range 100 {
		c := newJoinCode()
		if n, err := NormalizeJoinCode(c); err != nil || len(c) != 11 || c[5] != '-' || n != strings.ReplaceAll(c, "-", "") {
			t.Fatalf("newJoinCode() = %q: %q, %v", c, n, err)
		}
	}
}

// The HMAC codes are kept under must not change: codes already printed
// (and stored) would stop working.
func TestJoinHashStable(t *testing.T) {
	s := New(newFakeStore(time.Now), JoinKey(make([]byte, 32)), nil)
	got := hex.EncodeToString(s.joinHash("7KQMX2HD9P"))
	if got != goldenJoinHash {
		t.Errorf("joinHash = %s, want %s", got, goldenJoinHash)
	}
	other := New(newFakeStore(time.Now), JoinKey([]byte(strings.Repeat("x", 32))), nil)
	if hex.EncodeToString(other.joinHash("7KQMX2HD9P")) == got {
		t.Error("the hash does not depend on the city's key")
	}
}

const goldenJoinHash = "e68220dc630ec8599a6143dc1e86553a13be8a8a35f39d67eb3eef3230d9ca2c"

func TestJoinCodeLifecycle(t *testing.T) {
	ctx := context.Background()
	s, store, advance := newTest(t)

	_, _, err := s.IssueJoinCode(ctx, "xa-1", time.Hour)
	wantBadInput(t, "unknown ward", err, "no ward xa-1 (add it with `loa-city ward add xa-1`)")
	oldTok, err := s.AddWard(ctx, "xa-1", []string{"quan-1"})
	if err != nil {
		t.Fatal(err)
	}
	for _, ttl := range []time.Duration{0, -time.Hour} {
		_, _, err := s.IssueJoinCode(ctx, "xa-1", ttl)
		wantBadInput(t, "ttl", err, "join code lifetime "+ttl.String()+": want a positive duration")
	}
	if len(store.st.codes) != 0 {
		t.Fatal("a refused code was stored")
	}

	code1, exp, err := s.IssueJoinCode(ctx, "xa-1", time.Hour)
	if err != nil || !exp.Equal(s.Now().Add(time.Hour)) {
		t.Fatalf("IssueJoinCode = %q %v, %v", code1, exp, err)
	}
	for h := range store.st.codes {
		if strings.Contains(h, strings.ReplaceAll(code1, "-", "")) {
			t.Fatal("the code is stored in clear")
		}
	}
	// A new code replaces the ward's unused one.
	code2, _, err := s.IssueJoinCode(ctx, "xa-1", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.RedeemJoinCode(ctx, code1, "10.0.0.5"); !errors.Is(err, ErrJoinCodeUnknown) {
		t.Errorf("replaced code: %v", err)
	}
	_, err = s.RedeemJoinCode(ctx, "7KQMU-2HD9P", "10.0.0.5")
	wantBadInput(t, "malformed", err, "is not one of its letters")

	// Redeemed as typed: lower case, no dash.
	key := ed25519.PublicKey(make([]byte, 32))
	rand.Read(key)
	if _, _, err := s.RegisterReceiptKey(ctx, "xa-1", signing.PublicKeyText(key)); err != nil {
		t.Fatal(err)
	}
	advance(59 * time.Minute)
	j, err := s.RedeemJoinCode(ctx, strings.ToLower(strings.ReplaceAll(code2, "-", "")), "10.0.0.5 (pi-7)")
	if err != nil {
		t.Fatal(err)
	}
	if j.Ward.ID != "xa-1" || !reflect.DeepEqual(j.Ward.Groups, []string{"quan-1"}) || !j.At.Equal(s.Now()) || !strings.HasPrefix(j.Token, wardTokenPrefix) {
		t.Errorf("Joined = %+v", j)
	}
	if p, err := s.LookupToken(ctx, j.Token); err != nil || p.Ward != "xa-1" {
		t.Errorf("the new token: %+v, %v", p, err)
	}
	if _, err := s.LookupToken(ctx, oldTok); !errors.Is(err, ErrUnknownToken) {
		t.Errorf("the token of ward add still works: %v", err)
	}
	if k, err := s.ReceiptKey(ctx, "xa-1"); err != nil || k != nil {
		t.Errorf("the receipt key survived re-provisioning: %v, %v", k, err)
	}

	// Used once: the second attempt says when and from where, in the
	// city's zone.
	_, err = s.RedeemJoinCode(ctx, code2, "10.0.0.6")
	if !errors.Is(err, ErrJoinCodeUsed) || !strings.Contains(err.Error(), "(ward xa-1, 2026-07-01 15:59:00, from 10.0.0.5 (pi-7)): issue a new one with `loa-city ward code xa-1`") {
		t.Errorf("second use: %v", err)
	}
	if p, _ := s.LookupToken(ctx, j.Token); p.Ward != "xa-1" {
		t.Error("a refused second use changed the token")
	}

	// Expired: refused with when, and nothing changes.
	code3, exp3, err := s.IssueJoinCode(ctx, "xa-1", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	advance(time.Minute + time.Millisecond)
	_, err = s.RedeemJoinCode(ctx, code3, "10.0.0.5")
	if !errors.Is(err, ErrJoinCodeExpired) || !strings.Contains(err.Error(), "expired at "+exp3.In(s.Loc).Format("2006-01-02 15:04:05")) {
		t.Errorf("expired: %v", err)
	}
	if p, _ := s.LookupToken(ctx, j.Token); p.Ward != "xa-1" {
		t.Error("an expired code changed the token")
	}

	// Used and expired codes are kept 30 days, then forgotten when a new
	// code is issued.
	advance(30*24*time.Hour + time.Hour)
	if _, _, err := s.IssueJoinCode(ctx, "xa-1", time.Hour); err != nil {
		t.Fatal(err)
	}
	if len(store.st.codes) != 1 {
		t.Errorf("%d codes kept, want only the new one", len(store.st.codes))
	}
	if _, err := s.RedeemJoinCode(ctx, code2, "10.0.0.6"); !errors.Is(err, ErrJoinCodeUnknown) {
		t.Errorf("a forgotten code: %v", err)
	}
}

func TestReceiptKeys(t *testing.T) {
	ctx := context.Background()
	s, _, _ := newTest(t)
	pub1, _, _ := ed25519.GenerateKey(rand.Reader)
	pub2, _, _ := ed25519.GenerateKey(rand.Reader)
	if k, err := s.ReceiptKey(ctx, "phuong-1"); k != nil || err != nil || s.ReceiptKeyID(ctx, "phuong-1") != "" {
		t.Fatalf("no key yet: %v, %v", k, err)
	}
	for _, bad := range []string{"", "AAAA", "not a key"} {
		_, _, err := s.RegisterReceiptKey(ctx, "phuong-1", bad)
		wantBadInput(t, bad, err, "public_key: khoá không hợp lệ / not an Ed25519 public key")
	}
	k, created, err := s.RegisterReceiptKey(ctx, "phuong-1", signing.PublicKeyText(pub1))
	if err != nil || !created || k.KeyID != signing.KeyID(pub1) || k.PublicKey != signing.PublicKeyText(pub1) {
		t.Fatalf("first key: %+v %v %v", k, created, err)
	}
	if _, created, err := s.RegisterReceiptKey(ctx, "phuong-1", signing.PublicKeyText(pub1)); err != nil || created {
		t.Errorf("the same key again: %v %v", created, err)
	}
	k, created, err = s.RegisterReceiptKey(ctx, "phuong-1", signing.PublicKeyText(pub2))
	if !errors.Is(err, ErrReceiptKeyTaken) || created || k.KeyID != signing.KeyID(pub2) {
		t.Errorf("another key: %+v %v %v", k, created, err)
	}
	if got, err := s.ReceiptKey(ctx, "phuong-1"); err != nil || !got.Equal(pub1) || s.ReceiptKeyID(ctx, "phuong-1") != signing.KeyID(pub1) {
		t.Errorf("kept key: %v, %v", got, err)
	}
}
