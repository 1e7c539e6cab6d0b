package accounts

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"loa/sqlite"
)

// fakeStore is an in-memory Store with the database's rules that accounts
// relies on: unique ward ids, user names and token hashes, groups read
// back sorted, missing rows as sqlite.ErrNotFound, taken keys as
// sqlite.ErrExists, and Update all-or-nothing.
type fakeStore struct {
	st      fakeState
	now     func() time.Time
	updates int
}

type fakeState struct {
	wards   map[string]Ward
	wardTok map[string][]byte // ward → token hash
	users   map[string]User
	userTok map[string][]byte // user → token hash
	codes   map[string]JoinCode
	keys    map[string][2]string // ward → public key, key id
}

func newFakeStore(now func() time.Time) *fakeStore {
	return &fakeStore{now: now, st: fakeState{wards: map[string]Ward{}, wardTok: map[string][]byte{}, users: map[string]User{},
		userTok: map[string][]byte{}, codes: map[string]JoinCode{}, keys: map[string][2]string{}}}
}

func (s fakeState) clone() fakeState {
	return fakeState{wards: maps.Clone(s.wards), wardTok: maps.Clone(s.wardTok), users: maps.Clone(s.users),
		userTok: maps.Clone(s.userTok), codes: maps.Clone(s.codes), keys: maps.Clone(s.keys)}
}

func (f *fakeStore) Read() Tx { return fakeTx{f} }

func (f *fakeStore) Update(ctx context.Context, fn func(Tx) error) error {
	f.updates++
	saved := f.st.clone()
	if err := fn(fakeTx{f}); err != nil {
		f.st = saved
		return err
	}
	return nil
}

type fakeTx struct{ f *fakeStore }

func (t fakeTx) tokenTaken(h []byte) bool {
	for _, x := range t.f.st.wardTok {
		if bytes.Equal(x, h) {
			return true
		}
	}
	for _, x := range t.f.st.userTok {
		if bytes.Equal(x, h) {
			return true
		}
	}
	return false
}

func (t fakeTx) AddWard(ctx context.Context, w Ward, h []byte) error {
	if _, ok := t.f.st.wards[w.ID]; ok || t.tokenTaken(h) {
		return fmt.Errorf("ward %s: %w", w.ID, sqlite.ErrExists)
	}
	if w.CreatedAt.IsZero() {
		w.CreatedAt = t.f.now()
	}
	w.Groups = slices.Clone(w.Groups)
	slices.Sort(w.Groups)
	w.Groups = slices.Compact(w.Groups)
	t.f.st.wards[w.ID] = w
	t.f.st.wardTok[w.ID] = h
	return nil
}

func (t fakeTx) Ward(ctx context.Context, id string) (Ward, error) {
	w, ok := t.f.st.wards[id]
	if !ok {
		return Ward{}, fmt.Errorf("ward %s: %w", id, sqlite.ErrNotFound)
	}
	return w, nil
}

func (t fakeTx) Wards(ctx context.Context) ([]Ward, error) {
	var out []Ward
	for _, id := range slices.Sorted(maps.Keys(t.f.st.wards)) {
		out = append(out, t.f.st.wards[id])
	}
	return out, nil
}

func (t fakeTx) WardByToken(ctx context.Context, h []byte) (string, error) {
	for id, x := range t.f.st.wardTok {
		if bytes.Equal(x, h) {
			return id, nil
		}
	}
	return "", sqlite.ErrNotFound
}

func (t fakeTx) SetWardToken(ctx context.Context, ward string, h []byte) error {
	if _, ok := t.f.st.wards[ward]; ok {
		t.f.st.wardTok[ward] = h
	}
	return nil
}

func (t fakeTx) AddUser(ctx context.Context, u User, h []byte) error {
	if _, ok := t.f.st.users[u.Name]; ok || t.tokenTaken(h) {
		return fmt.Errorf("user %s: %w", u.Name, sqlite.ErrExists)
	}
	if u.CreatedAt.IsZero() {
		u.CreatedAt = t.f.now()
	}
	t.f.st.users[u.Name] = u
	t.f.st.userTok[u.Name] = h
	return nil
}

func (t fakeTx) UserByToken(ctx context.Context, h []byte) (User, error) {
	for name, x := range t.f.st.userTok {
		if bytes.Equal(x, h) {
			return t.f.st.users[name], nil
		}
	}
	return User{}, sqlite.ErrNotFound
}

func (t fakeTx) Users(ctx context.Context) ([]User, error) {
	var out []User
	for _, n := range slices.Sorted(maps.Keys(t.f.st.users)) {
		out = append(out, t.f.st.users[n])
	}
	return out, nil
}

func (t fakeTx) AddJoinCode(ctx context.Context, c JoinCode) error {
	if _, ok := t.f.st.codes[string(c.Hash)]; ok {
		return fmt.Errorf("join code: %w", sqlite.ErrExists)
	}
	t.f.st.codes[string(c.Hash)] = c
	return nil
}

func (t fakeTx) JoinCode(ctx context.Context, h []byte) (JoinCode, error) {
	c, ok := t.f.st.codes[string(h)]
	if !ok {
		return JoinCode{}, fmt.Errorf("join code: %w", sqlite.ErrNotFound)
	}
	return c, nil
}

func (t fakeTx) UseJoinCode(ctx context.Context, h []byte, at time.Time, from string) error {
	if c, ok := t.f.st.codes[string(h)]; ok {
		c.UsedAt, c.UsedFrom = at, from
		t.f.st.codes[string(h)] = c
	}
	return nil
}

func (t fakeTx) DeleteUnusedJoinCodes(ctx context.Context, ward string) error {
	maps.DeleteFunc(t.f.st.codes, func(_ string, c JoinCode) bool { return c.Ward == ward && c.UsedAt.IsZero() })
	return nil
}

func (t fakeTx) DeleteJoinCodesExpiredBefore(ctx context.Context, before time.Time) error {
	maps.DeleteFunc(t.f.st.codes, func(_ string, c JoinCode) bool { return c.ExpiresAt.Before(before) })
	return nil
}

func (t fakeTx) WardReceiptKey(ctx context.Context, ward string) (string, error) {
	k, ok := t.f.st.keys[ward]
	if !ok {
		return "", fmt.Errorf("receipt key of ward %s: %w", ward, sqlite.ErrNotFound)
	}
	return k[0], nil
}

func (t fakeTx) AddWardReceiptKey(ctx context.Context, ward, pub, id string) (bool, error) {
	k, ok := t.f.st.keys[ward]
	if !ok {
		t.f.st.keys[ward] = [2]string{pub, id}
		return true, nil
	}
	if k[0] != pub {
		return false, fmt.Errorf("receipt key of ward %s: another key is registered: %w", ward, sqlite.ErrExists)
	}
	return false, nil
}

func (t fakeTx) DeleteWardReceiptKey(ctx context.Context, ward string) error {
	delete(t.f.st.keys, ward)
	return nil
}
