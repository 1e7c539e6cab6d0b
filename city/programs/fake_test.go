package programs

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"loa/sqlite"
)

// fakeStore is an in-memory Store: Update works on a copy and keeps it
// only when fn returns nil, as a transaction does.
type fakeStore struct {
	mu      sync.Mutex
	st      *fakeState
	updates int // committed
}

type fakeState struct {
	wards     map[string]sqlite.Ward
	media     map[string]sqlite.CityMedia
	names     map[string]string // name -> key
	sets      map[string]sqlite.ProgramSet
	manifests map[string]sqlite.WardManifest
	now       func() time.Time
}

func newFakeStore(now func() time.Time) *fakeStore {
	return &fakeStore{st: &fakeState{wards: map[string]sqlite.Ward{}, media: map[string]sqlite.CityMedia{},
		names: map[string]string{}, sets: map[string]sqlite.ProgramSet{}, manifests: map[string]sqlite.WardManifest{}, now: now}}
}

func (s *fakeState) clone() *fakeState {
	return &fakeState{wards: maps.Clone(s.wards), media: maps.Clone(s.media), names: maps.Clone(s.names),
		sets: maps.Clone(s.sets), manifests: maps.Clone(s.manifests), now: s.now}
}

func (f *fakeStore) Read() Tx {
	f.mu.Lock()
	defer f.mu.Unlock()
	return fakeTx{f.st}
}

func (f *fakeStore) Update(ctx context.Context, fn func(Tx) error) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	st := f.st.clone()
	if err := fn(fakeTx{st}); err != nil {
		return err
	}
	f.st = st
	f.updates++
	return nil
}

// state is a copy of what is committed.
func (f *fakeStore) state() *fakeState {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.st.clone()
}

type fakeTx struct{ st *fakeState }

func (t fakeTx) Ward(_ context.Context, id string) (sqlite.Ward, error) {
	w, ok := t.st.wards[id]
	if !ok {
		return w, fmt.Errorf("ward %s: %w", id, sqlite.ErrNotFound)
	}
	return w, nil
}

func (t fakeTx) Wards(_ context.Context) ([]sqlite.Ward, error) {
	var out []sqlite.Ward
	for _, id := range slices.Sorted(maps.Keys(t.st.wards)) {
		out = append(out, t.st.wards[id])
	}
	return out, nil
}

func (t fakeTx) WardsInGroup(ctx context.Context, g string) ([]sqlite.Ward, error) {
	all, _ := t.Wards(ctx)
	var out []sqlite.Ward
	for _, w := range all {
		if slices.Contains(w.Groups, g) {
			out = append(out, w)
		}
	}
	return out, nil
}

func (t fakeTx) Media(_ context.Context, key string) (sqlite.CityMedia, error) {
	m, ok := t.st.media[key]
	if !ok {
		return m, fmt.Errorf("media %s: %w", key, sqlite.ErrNotFound)
	}
	return m, nil
}

func (t fakeTx) MediaByName(_ context.Context, name string) (string, error) {
	k, ok := t.st.names[name]
	if !ok {
		return "", fmt.Errorf("media named %q: %w", name, sqlite.ErrNotFound)
	}
	return k, nil
}

func (t fakeTx) ProgramSets(_ context.Context, targets ...string) ([]sqlite.ProgramSet, error) {
	if len(targets) == 0 {
		targets = slices.Sorted(maps.Keys(t.st.sets))
	}
	var out []sqlite.ProgramSet
	for _, tg := range targets {
		if s, ok := t.st.sets[tg]; ok {
			out = append(out, s)
		}
	}
	return out, nil
}

func (t fakeTx) PutProgramSet(_ context.Context, s sqlite.ProgramSet) error {
	if s.LoadedAt.IsZero() {
		s.LoadedAt = t.st.now()
	}
	t.st.sets[s.Target] = s
	return nil
}

func (t fakeTx) DeleteProgramSet(_ context.Context, target string) (bool, error) {
	_, ok := t.st.sets[target]
	delete(t.st.sets, target)
	return ok, nil
}

func (t fakeTx) WardManifest(_ context.Context, ward string) (sqlite.WardManifest, error) {
	m, ok := t.st.manifests[ward]
	if !ok {
		return m, fmt.Errorf("manifest of %s: %w", ward, sqlite.ErrNotFound)
	}
	return m, nil
}

func (t fakeTx) ManifestETag(_ context.Context, ward string) (string, int64, error) {
	m := t.st.manifests[ward]
	return m.ETag, m.Version, nil
}

func (t fakeTx) PutWardManifest(_ context.Context, m sqlite.WardManifest) error {
	t.st.manifests[m.Ward] = m
	return nil
}

// fakeNotifier records notifications.
type fakeNotifier struct {
	mu    sync.Mutex
	calls []string
}

func (n *fakeNotifier) NotifyPrograms(target string, changed []string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.calls = append(n.calls, fmt.Sprintf("%s %v", target, changed))
}

func (n *fakeNotifier) got() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.calls)
}

// fixture is a service over a fake store on 2026-05-01 10:00
// (Asia/Ho_Chi_Minh), with 2-second media items nhac-hieu.wav and
// ban-tin.wav.
type fixture struct {
	*Service
	store *fakeStore
	notes *fakeNotifier
	pub   ed25519.PublicKey
	now   time.Time
	loc   *time.Location
	keyOf map[string]string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	loc, err := time.LoadLocation("Asia/Ho_Chi_Minh")
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{loc: loc, notes: &fakeNotifier{}, keyOf: map[string]string{}}
	f.now = time.Date(2026, 5, 1, 10, 0, 0, 0, loc)
	clock := func() time.Time { return f.now }
	f.store = newFakeStore(clock)
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	f.pub = pub
	f.Service = New(f.store, KeySigner(priv), loc, nil)
	f.Service.Now = clock
	f.Service.Notifier = f.notes
	for _, name := range []string{"nhac-hieu.wav", "ban-tin.wav"} {
		sum := sha256.Sum256([]byte(name))
		key := hex.EncodeToString(sum[:])
		f.keyOf[name] = key
		f.store.st.media[key] = sqlite.CityMedia{SHA256: key, Size: 16000, Rate: 44100, Frames: 2 * 44100, OriginalName: name, Names: []string{name}}
		f.store.st.names[name] = key
	}
	return f
}

// addWard adds a ward as the registry does: in a transaction that runs
// CheckWard.
func (f *fixture) addWard(t *testing.T, id string, groups ...string) error {
	t.Helper()
	return f.store.Update(t.Context(), func(tx Tx) error {
		tx.(fakeTx).st.wards[id] = sqlite.Ward{ID: id, Groups: groups, CreatedAt: f.now}
		return f.CheckWard(t.Context(), tx, id)
	})
}

func (f *fixture) mustAddWard(t *testing.T, id string, groups ...string) {
	t.Helper()
	if err := f.addWard(t, id, groups...); err != nil {
		t.Fatal(err)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func ed25519GenerateKey(t *testing.T) (ed25519.PublicKey, ed25519.PrivateKey, error) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	return pub, priv, nil
}
