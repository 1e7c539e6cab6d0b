package library

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"loa/mediastore"
	"loa/sqlite"
)

// fakeDB is the library's rows in memory, with the database's rules: a
// name means one item, naming is refused with sqlite.ErrExists unless
// replace, adding media and naming it is one transaction.
type fakeDB struct {
	mu      sync.Mutex
	media   map[string]sqlite.CityMedia
	names   map[string]string
	uploads map[string]sqlite.Upload
	// failName, when set, makes naming fail with it (a database error).
	failName error
}

func newFakeDB() *fakeDB {
	return &fakeDB{media: map[string]sqlite.CityMedia{}, names: map[string]string{}, uploads: map[string]sqlite.Upload{}}
}

var _ DB = (*fakeDB)(nil)

func (f *fakeDB) Media(_ context.Context, sha string) (sqlite.CityMedia, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.mediaLocked(sha)
}

func (f *fakeDB) mediaLocked(sha string) (sqlite.CityMedia, error) {
	m, ok := f.media[sha]
	if !ok {
		return m, fmt.Errorf("media %s: %w", sha, sqlite.ErrNotFound)
	}
	m.Names = nil
	for n, k := range f.names {
		if k == sha {
			m.Names = append(m.Names, n)
		}
	}
	sort.Strings(m.Names)
	return m, nil
}

func (f *fakeDB) MediaByOriginal(_ context.Context, sha string) (sqlite.CityMedia, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for k, m := range f.media {
		if m.OriginalSHA256 == sha {
			return f.mediaLocked(k)
		}
	}
	return sqlite.CityMedia{}, fmt.Errorf("upload %s: %w", sha, sqlite.ErrNotFound)
}

func (f *fakeDB) MediaByName(_ context.Context, name string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	k, ok := f.names[name]
	if !ok {
		return "", fmt.Errorf("media named %q: %w", name, sqlite.ErrNotFound)
	}
	return k, nil
}

func (f *fakeDB) AllMedia(context.Context) ([]sqlite.CityMedia, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []sqlite.CityMedia
	for k := range f.media {
		m, _ := f.mediaLocked(k)
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].SHA256 < out[j].SHA256 })
	return out, nil
}

func (f *fakeDB) nameLocked(name, key string, replace bool) error {
	if f.failName != nil {
		return f.failName
	}
	if cur, ok := f.names[name]; ok && cur != key && !replace {
		return fmt.Errorf("the name %q is used by media %s: %w", name, cur, sqlite.ErrExists)
	}
	f.names[name] = key
	return nil
}

func (f *fakeDB) NameMedia(_ context.Context, name, key string, replace bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.nameLocked(name, key, replace)
}

func (f *fakeDB) AddNamedMedia(_ context.Context, m sqlite.CityMedia, name string, replace bool) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, had := f.media[m.SHA256]
	if !had {
		f.media[m.SHA256] = m
	}
	if err := f.nameLocked(name, m.SHA256, replace); err != nil {
		if !had {
			delete(f.media, m.SHA256) // the transaction rolls back
		}
		return false, err
	}
	return !had, nil
}

func (f *fakeDB) AddUpload(_ context.Context, u sqlite.Upload) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.uploads[u.ID]; ok {
		return fmt.Errorf("upload %s: %w", u.ID, sqlite.ErrExists)
	}
	f.uploads[u.ID] = u
	return nil
}

func (f *fakeDB) Upload(_ context.Context, id string) (sqlite.Upload, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	u, ok := f.uploads[id]
	if !ok {
		return u, fmt.Errorf("upload %s: %w", id, sqlite.ErrNotFound)
	}
	return u, nil
}

func (f *fakeDB) DeleteUpload(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.uploads, id)
	return nil
}

func (f *fakeDB) StaleUploads(_ context.Context, cutoff time.Time) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var ids []string
	for id, u := range f.uploads {
		if u.CreatedAt.Before(cutoff) {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids, nil
}

// clock is a fake clock tests move by hand.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// fixture is a library over a fake DB, a real media store in a temporary
// folder, the real ffmpeg and a fake clock.
type fixture struct {
	*Service
	db    *fakeDB
	files *mediastore.Store
	clock *clock
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	files, err := mediastore.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	db := newFakeDB()
	cfg := Config{FFmpeg: "ffmpeg", FFprobe: "ffprobe", Espeak: "espeak-ng", Workers: 2, MaxUploadMB: 1,
		Timeout: time.Minute, UploadExpiry: 24 * time.Hour, UploadDir: filepath.Join(files.Dir, "tmp")}
	s := New(cfg, files, db, nil)
	clk := &clock{now: time.Date(2026, 9, 20, 6, 0, 0, 0, time.UTC)}
	s.Now = clk.Now
	return &fixture{Service: s, db: db, files: files, clock: clk}
}

// tmp lists the store's temporary folder.
func (f *fixture) tmp(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(f.files.Dir, "tmp"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// writeTone writes a 16-bit mono WAV of a sine at hz for seconds.
func writeTone(t *testing.T, path string, seconds float64, hz float64) {
	t.Helper()
	const rate = 22050
	n := int(seconds * rate)
	data := make([]byte, 44+2*n)
	copy(data, "RIFF")
	binary.LittleEndian.PutUint32(data[4:], uint32(36+2*n))
	copy(data[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(data[16:], 16)
	binary.LittleEndian.PutUint16(data[20:], 1)
	binary.LittleEndian.PutUint16(data[22:], 1)
	binary.LittleEndian.PutUint32(data[24:], rate)
	binary.LittleEndian.PutUint32(data[28:], 2*rate)
	binary.LittleEndian.PutUint16(data[32:], 2)
	binary.LittleEndian.PutUint16(data[34:], 16)
	copy(data[36:], "data")
	binary.LittleEndian.PutUint32(data[40:], uint32(2*n))
	for i := 0; i < n; i++ {
		v := int16(0.3 * 32767 * math.Sin(2*math.Pi*hz*float64(i)/rate))
		binary.LittleEndian.PutUint16(data[44+2*i:], uint16(v))
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}
