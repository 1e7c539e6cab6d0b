package alerting

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"loa/alert"
	"loa/internal/cmdkit"
	"loa/sqlite"
)

// fakeStore is the city's database as a plain struct.
type fakeStore struct {
	mu      sync.Mutex
	wards   map[string][]string // ward → groups
	alerts  map[string]*sqlite.CityAlert
	reports []sqlite.AlertReport
	failAdd error
}

func newFakeStore(wards map[string][]string) *fakeStore {
	return &fakeStore{wards: wards, alerts: map[string]*sqlite.CityAlert{}}
}

func (s *fakeStore) Alert(ctx context.Context, id string) (sqlite.CityAlert, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.alerts[id]
	if !ok {
		return sqlite.CityAlert{}, fmt.Errorf("alert %s: %w", id, sqlite.ErrNotFound)
	}
	out := *a
	out.Copies = slices.Clone(a.Copies)
	return out, nil
}

func (s *fakeStore) Alerts(ctx context.Context, limit int) ([]sqlite.CityAlert, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []sqlite.CityAlert
	for _, a := range s.alerts {
		out = append(out, *a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID > out[j].ID })
	return out[:min(limit, len(out))], nil
}

func (s *fakeStore) AlertWards(ctx context.Context, id string) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.alerts[id].Wards), nil
}

func (s *fakeStore) AlertReports(ctx context.Context, id string) ([]sqlite.AlertReport, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []sqlite.AlertReport
	for _, r := range s.reports {
		if r.Alert == id {
			out = append(out, r)
		}
	}
	return out, nil
}

func (s *fakeStore) AddAlert(ctx context.Context, a sqlite.CityAlert, stops []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failAdd != nil {
		return s.failAdd
	}
	for _, id := range stops {
		if old := s.alerts[id]; old == nil || old.CancelledBy != "" {
			return fmt.Errorf("%w: alert %s was stopped meanwhile", ErrAlertConflict, id)
		}
	}
	for _, id := range stops {
		s.alerts[id].CancelledBy = a.ID
	}
	for _, sub := range a.Subjects {
		a.Copies = append(a.Copies, sqlite.AlertCopy{Alert: a.ID, Subject: sub})
	}
	s.alerts[a.ID] = &a
	return nil
}

func (s *fakeStore) PendingCopies(ctx context.Context, now time.Time) ([]sqlite.AlertCopy, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var as []*sqlite.CityAlert
	for _, a := range s.alerts {
		as = append(as, a)
	}
	sort.Slice(as, func(i, j int) bool { return as[i].Issued.Before(as[j].Issued) })
	var out []sqlite.AlertCopy
	for _, a := range as {
		if !a.Expires.After(now) {
			continue
		}
		for _, cp := range a.Copies {
			if cp.PublishedAt.IsZero() {
				cp.Envelope, cp.Expires = a.Envelope, a.Expires
				out = append(out, cp)
			}
		}
	}
	return out, nil
}

func (s *fakeStore) MarkPublished(ctx context.Context, copies []Published, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range copies {
		a := s.alerts[p.Alert]
		for i := range a.Copies {
			if a.Copies[i].Subject == p.Subject {
				a.Copies[i].PublishedAt, a.Copies[i].StreamSeq = at, p.Seq
			}
		}
	}
	return nil
}

func (s *fakeStore) MayFetchAlertMedia(ctx context.Context, ward, sha string, now time.Time) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range s.alerts {
		if a.Expires.After(now) && slices.Contains(a.Wards, ward) && slices.Contains(a.Media, sha) {
			return true, nil
		}
	}
	return false, nil
}

func (s *fakeStore) AddReports(ctx context.Context, reps []sqlite.AlertReport) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reports = append(s.reports, reps...)
	return nil
}

func (s *fakeStore) LastReportSeq(ctx context.Context) (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var last uint64
	for _, r := range s.reports {
		last = max(last, r.StreamSeq)
	}
	return last, nil
}

func (s *fakeStore) WardIDs(ctx context.Context) ([]string, error) {
	var ids []string
	for w := range s.wards {
		ids = append(ids, w)
	}
	sort.Strings(ids)
	return ids, nil
}

func (s *fakeStore) Ward(ctx context.Context, id string) error {
	if _, ok := s.wards[id]; !ok {
		return fmt.Errorf("ward %s: %w", id, sqlite.ErrNotFound)
	}
	return nil
}

func (s *fakeStore) WardsInGroup(ctx context.Context, g string) ([]string, error) {
	var ids []string
	for w, gs := range s.wards {
		if slices.Contains(gs, g) {
			ids = append(ids, w)
		}
	}
	sort.Strings(ids)
	return ids, nil
}

// sent is one message the fake bus took.
type sent struct {
	subject string
	data    []byte
}

// fakeBus is the city's NATS as a plain struct: one subject per ward (or
// one for all), and a switch to refuse every copy.
type fakeBus struct {
	mu       sync.Mutex
	copies   []sent
	live     []sent
	seq      uint64
	refuse   error // every copy fails with it
	problems []string
}

func (b *fakeBus) AlertSubjects(t alert.Targets, recipients []string) []string {
	if t.All {
		return []string{"alert.all"}
	}
	var out []string
	for _, w := range recipients {
		out = append(out, "alert.ward."+w)
	}
	return out
}

func (b *fakeBus) LiveSubjects(t alert.Targets, recipients []string) []string {
	if t.All {
		return []string{"live.all"}
	}
	var out []string
	for _, w := range recipients {
		out = append(out, "live.ward."+w)
	}
	return out
}

func (b *fakeBus) PublishCopies(ctx context.Context, copies []sqlite.AlertCopy) Round {
	b.mu.Lock()
	defer b.mu.Unlock()
	var r Round
	for _, cp := range copies {
		if b.refuse != nil {
			r.Left++
			r.Errs = append(r.Errs, b.refuse)
			continue
		}
		b.seq++
		b.copies = append(b.copies, sent{cp.Subject, cp.Envelope})
		r.Acked = append(r.Acked, Published{Alert: cp.Alert, Subject: cp.Subject, Seq: b.seq})
	}
	return r
}

func (b *fakeBus) Announce(subject string, msg []byte) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.live = append(b.live, sent{subject, msg})
	return nil
}

func (b *fakeBus) Reason(err error) string { return "store_full" }

func (b *fakeBus) Problems() []string { return b.problems }

func (b *fakeBus) setRefuse(err error) {
	b.mu.Lock()
	b.refuse = err
	b.mu.Unlock()
}

// taken returns the copies published so far, by subject.
func (b *fakeBus) taken() map[string][][]byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := map[string][][]byte{}
	for _, s := range b.copies {
		out[s.subject] = append(out[s.subject], s.data)
	}
	return out
}

// fakeMedia is the library: a few items by name, speech and a chime that
// only count.
type fakeMedia struct {
	mu     sync.Mutex
	items  map[string]sqlite.CityMedia
	spoken []string
}

func mediaOf(name string) sqlite.CityMedia {
	sum := sha256.Sum256([]byte(name))
	return sqlite.CityMedia{SHA256: hex.EncodeToString(sum[:]), Size: 1000, Rate: 44100, Frames: 44100 * 5 / 2}
}

func (m *fakeMedia) Find(ctx context.Context, ref string) (sqlite.CityMedia, error) {
	if it, ok := m.items[ref]; ok {
		return it, nil
	}
	return sqlite.CityMedia{}, cmdkit.BadInput("media %q: not in the city's library (loactl media list)", ref)
}

func (m *fakeMedia) Speak(ctx context.Context, id, text, voice string, speed int, by string) (sqlite.CityMedia, error) {
	m.mu.Lock()
	m.spoken = append(m.spoken, text)
	m.mu.Unlock()
	return mediaOf("speech " + text), nil
}

func (m *fakeMedia) Chime(ctx context.Context) (sqlite.CityMedia, error) {
	return mediaOf("chime"), nil
}

func (m *fakeMedia) said() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.spoken)
}

// fakeStreams answers for the streams it knows.
type fakeStreams map[string]error

func (f fakeStreams) ProbeStream(ctx context.Context, u string) error {
	if err, ok := f[u]; ok {
		return err
	}
	return errors.New("connection refused")
}

// fakeKeys are the wards' receipt keys.
type fakeKeys struct {
	keys map[string]ed25519.PublicKey
	err  error
}

func (k *fakeKeys) ReceiptKey(ctx context.Context, ward string) (ed25519.PublicKey, error) {
	if k.err != nil {
		return nil, k.err
	}
	return k.keys[ward], nil
}

// fixture is a Service over fakes: wards phuong-1 and phuong-2 in
// quan-1, phuong-3 in quan-2, a media item coi.wav, a stream that
// answers, a fixed clock.
type fixture struct {
	svc   *Service
	store *fakeStore
	bus   *fakeBus
	media *fakeMedia
	keys  *fakeKeys
	pub   ed25519.PublicKey
	now   time.Time
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	pub, priv, _ := ed25519.GenerateKey(nil)
	f := &fixture{
		store: newFakeStore(map[string][]string{"phuong-1": {"quan-1"}, "phuong-2": {"quan-1"}, "phuong-3": {"quan-2"}}),
		bus:   &fakeBus{},
		media: &fakeMedia{items: map[string]sqlite.CityMedia{"coi.wav": mediaOf("coi.wav")}},
		keys:  &fakeKeys{keys: map[string]ed25519.PublicKey{}},
		pub:   pub,
		now:   time.Date(2026, 9, 12, 8, 30, 0, 0, time.UTC),
	}
	loc, _ := time.LoadLocation("Asia/Ho_Chi_Minh")
	f.svc = New(Options{
		Config: Config{Sender: "ubnd-hue", DefaultExpires: 30 * time.Minute, MaxExpires: 24 * time.Hour},
		Store:  f.store, Media: f.media, Streams: fakeStreams{"http://radio.example/live": nil}, ReceiptKeys: f.keys,
		Key: priv, Now: func() time.Time { return f.now }, Location: loc,
	})
	f.svc.SetPublisher(f.bus)
	return f
}

// open reads a published copy, checking the city's signature.
func (f *fixture) open(t *testing.T, data []byte) *alert.Alert {
	t.Helper()
	env, err := alert.ReadEnvelope(data)
	if err != nil {
		t.Fatal(err)
	}
	a, err := alert.Open(env, f.pub)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
