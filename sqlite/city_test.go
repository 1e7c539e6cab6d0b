package sqlite

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func openCity(t *testing.T) (*CityDB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "city.db")
	db, err := OpenCity(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, path
}

func TestCityWardsAndUsers(t *testing.T) {
	ctx := context.Background()
	db, path := openCity(t)
	err := db.Update(ctx, func(tx CityTx) error {
		if err := tx.AddWard(ctx, Ward{ID: "phuong-2", Groups: []string{"quan-1", "ven-song"}}, []byte("h2")); err != nil {
			return err
		}
		return tx.AddWard(ctx, Ward{ID: "phuong-1", Groups: []string{"quan-1"}}, []byte("h1"))
	})
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(ctx, func(tx CityTx) error { return tx.AddWard(ctx, Ward{ID: "phuong-1"}, []byte("h3")) })
	if !errors.Is(err, ErrExists) {
		t.Errorf("duplicate ward: %v", err)
	}
	err = db.Update(ctx, func(tx CityTx) error { return tx.AddWard(ctx, Ward{ID: "phuong-9"}, []byte("h1")) })
	if !errors.Is(err, ErrExists) {
		t.Errorf("duplicate token hash: %v", err)
	}
	r := db.Read()
	ws, err := r.Wards(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ws) != 2 || ws[0].ID != "phuong-1" || !reflect.DeepEqual(ws[1].Groups, []string{"quan-1", "ven-song"}) {
		t.Fatalf("wards %+v", ws)
	}
	in, err := r.WardsInGroup(ctx, "ven-song")
	if err != nil || len(in) != 1 || in[0].ID != "phuong-2" {
		t.Fatalf("WardsInGroup = %+v, %v", in, err)
	}
	if id, err := r.WardByToken(ctx, []byte("h2")); err != nil || id != "phuong-2" {
		t.Errorf("WardByToken = %q, %v", id, err)
	}
	if _, err := r.WardByToken(ctx, []byte("nope")); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown token: %v", err)
	}
	seen := time.UnixMilli(1_780_000_000_000)
	if err := r.WardSeen(ctx, "phuong-1", seen, 42); err != nil {
		t.Fatal(err)
	}
	if w, err := r.Ward(ctx, "phuong-1"); err != nil || !w.LastSeen.Equal(seen) || w.SeenVersion != 42 {
		t.Errorf("Ward = %+v, %v", w, err)
	}

	if err := r.AddUser(ctx, User{Name: "lan", Role: "operator"}, []byte("u1")); err != nil {
		t.Fatal(err)
	}
	if err := r.AddUser(ctx, User{Name: "x", Role: "root"}, []byte("u2")); err == nil || !strings.Contains(err.Error(), "CHECK") {
		t.Errorf("unknown role: %v", err)
	}
	if u, err := r.UserByToken(ctx, []byte("u1")); err != nil || u.Name != "lan" || u.Role != "operator" {
		t.Errorf("UserByToken = %+v, %v", u, err)
	}

	// Reopening applies no migration twice and keeps the rows.
	db.Close()
	db2, err := OpenCity(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	if ws, err := db2.Read().Wards(ctx); err != nil || len(ws) != 2 {
		t.Errorf("after reopen: %v, %v", ws, err)
	}
}

func TestCityMediaAndNames(t *testing.T) {
	ctx := context.Background()
	db, _ := openCity(t)
	r := db.Read()
	m := CityMedia{SHA256: strings.Repeat("a", 64), Size: 100, Rate: 44100, Frames: 44100, LoudnessLUFS: -20, HasLoudness: true,
		TruePeakDB: -1, Title: "Bản tin", OriginalName: "bt.wav", OriginalSHA256: strings.Repeat("b", 64), OriginalSize: 500, AddedBy: "lan"}
	if added, err := r.PutMedia(ctx, m); err != nil || !added {
		t.Fatalf("PutMedia = %v, %v", added, err)
	}
	if added, err := r.PutMedia(ctx, m); err != nil || added {
		t.Fatalf("second PutMedia = %v, %v; want not added", added, err)
	}
	silent := m
	silent.SHA256, silent.HasLoudness, silent.OriginalSHA256 = strings.Repeat("c", 64), false, strings.Repeat("d", 64)
	if _, err := r.PutMedia(ctx, silent); err != nil {
		t.Fatal(err)
	}
	if err := r.NameMedia(ctx, "bt.mp3", m.SHA256, false); err != nil {
		t.Fatal(err)
	}
	if err := r.NameMedia(ctx, "bt.mp3", m.SHA256, false); err != nil {
		t.Errorf("same name, same item: %v", err)
	}
	if err := r.NameMedia(ctx, "bt.mp3", silent.SHA256, false); !errors.Is(err, ErrExists) || !strings.Contains(err.Error(), m.SHA256) {
		t.Errorf("name taken: %v", err)
	}
	if err := r.NameMedia(ctx, "bt.mp3", silent.SHA256, true); err != nil {
		t.Fatal(err)
	}
	if k, err := r.MediaByName(ctx, "bt.mp3"); err != nil || k != silent.SHA256 {
		t.Errorf("after replace: %s, %v", k, err)
	}
	got, err := r.MediaByOriginal(ctx, m.OriginalSHA256)
	if err != nil || got.SHA256 != m.SHA256 || got.Duration() != time.Second || !got.HasLoudness || got.LoudnessLUFS != -20 {
		t.Errorf("MediaByOriginal = %+v, %v", got, err)
	}
	s, err := r.Media(ctx, silent.SHA256)
	if err != nil || s.HasLoudness || !reflect.DeepEqual(s.Names, []string{"bt.mp3"}) {
		t.Errorf("Media = %+v, %v", s, err)
	}
	all, err := r.AllMedia(ctx)
	if err != nil || len(all) != 2 {
		t.Fatalf("AllMedia = %v, %v", all, err)
	}
	if _, err := r.Media(ctx, strings.Repeat("e", 64)); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing media: %v", err)
	}
}

func TestCityProgramsAndManifests(t *testing.T) {
	ctx := context.Background()
	db, _ := openCity(t)
	r := db.Read()
	if err := r.AddWard(ctx, Ward{ID: "p1"}, []byte("h")); err != nil {
		t.Fatal(err)
	}
	for _, tg := range []string{"ward:p1", "all", "group:g"} {
		if err := r.PutProgramSet(ctx, ProgramSet{Target: tg, File: tg + ".yaml", Body: []byte("programs:\n"), MediaMap: map[string]string{"a.mp3": "k"}, LoadedBy: "lan"}); err != nil {
			t.Fatal(err)
		}
	}
	sets, err := r.ProgramSets(ctx, "all", "group:none", "group:g", "ward:p1")
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, s := range sets {
		order = append(order, s.Target)
	}
	if !reflect.DeepEqual(order, []string{"all", "group:g", "ward:p1"}) || sets[0].MediaMap["a.mp3"] != "k" {
		t.Errorf("ProgramSets order %v, %+v", order, sets[0])
	}
	if ok, err := r.DeleteProgramSet(ctx, "group:g"); !ok || err != nil {
		t.Errorf("delete: %v %v", ok, err)
	}
	if ok, _ := r.DeleteProgramSet(ctx, "group:g"); ok {
		t.Error("deleted twice")
	}

	if etag, v, err := r.ManifestETag(ctx, "p1"); etag != "" || v != 0 || err != nil {
		t.Errorf("no manifest yet: %q %d %v", etag, v, err)
	}
	wm := WardManifest{Ward: "p1", Version: 5, ContentHash: "c", KeyID: "k", ETag: `"5"`, Envelope: []byte("{}"), Gzip: []byte{1}, Issued: time.UnixMilli(1000), Media: []string{"x", "y"}}
	if err := r.PutWardManifest(ctx, wm); err != nil {
		t.Fatal(err)
	}
	wm.Version, wm.ETag, wm.Media = 6, `"6"`, []string{"y"}
	if err := r.PutWardManifest(ctx, wm); err != nil {
		t.Fatal(err)
	}
	got, err := r.WardManifest(ctx, "p1")
	if err != nil || got.Version != 6 || got.ETag != `"6"` || string(got.Envelope) != "{}" {
		t.Errorf("WardManifest = %+v, %v", got, err)
	}
	if vs, err := r.ManifestVersions(ctx); err != nil || len(vs) != 1 || vs["p1"] != 6 {
		t.Errorf("ManifestVersions = %v, %v", vs, err)
	}
	for key, want := range map[string]bool{"x": false, "y": true} {
		if ok, err := r.WardMayFetch(ctx, "p1", key); ok != want || err != nil {
			t.Errorf("WardMayFetch(%s) = %v, %v", key, ok, err)
		}
	}
}

func TestCityUploads(t *testing.T) {
	ctx := context.Background()
	db, _ := openCity(t)
	r := db.Read()
	old := time.UnixMilli(1000)
	if err := r.AddUpload(ctx, Upload{ID: "u1", Name: "a.wav", Size: 10, CreatedBy: "lan", CreatedAt: old}); err != nil {
		t.Fatal(err)
	}
	if err := r.AddUpload(ctx, Upload{ID: "u2", Name: "b.wav", Size: -1, Replace: true, CreatedBy: "lan", CreatedAt: time.UnixMilli(5000)}); err != nil {
		t.Fatal(err)
	}
	u, err := r.Upload(ctx, "u2")
	if err != nil || !u.Replace || u.Size != -1 || u.Name != "b.wav" {
		t.Errorf("Upload = %+v, %v", u, err)
	}
	stale, err := r.StaleUploads(ctx, time.UnixMilli(2000))
	if err != nil || !reflect.DeepEqual(stale, []string{"u1"}) {
		t.Errorf("StaleUploads = %v, %v", stale, err)
	}
	if err := r.DeleteUpload(ctx, "u1"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Upload(ctx, "u1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("deleted upload: %v", err)
	}
}

func TestCityUpdateRollsBack(t *testing.T) {
	ctx := context.Background()
	db, _ := openCity(t)
	boom := errors.New("boom")
	err := db.Update(ctx, func(tx CityTx) error {
		if err := tx.AddWard(ctx, Ward{ID: "p1"}, []byte("h")); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatal(err)
	}
	if ws, _ := db.Read().Wards(ctx); len(ws) != 0 {
		t.Errorf("rolled-back ward is there: %v", ws)
	}
}
