package sqlite

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// An item a program file uses is not deleted, and the uses are named; an
// unused one goes with its names.
func TestDeleteMediaRefusedWhileInUse(t *testing.T) {
	ctx := context.Background()
	db, _ := openCity(t)
	now := time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)
	used, free := strings.Repeat("a", 64), strings.Repeat("b", 64)
	err := db.Update(ctx, func(tx CityTx) error {
		for _, sha := range []string{used, free} {
			if _, err := tx.PutMedia(ctx, CityMedia{SHA256: sha, Size: 1, Rate: 44100, Frames: 44100, Title: "x", OriginalName: "x.mp3",
				OriginalSHA256: sha, OriginalSize: 1, AddedBy: "lan", AddedAt: now}); err != nil {
				return err
			}
			if err := tx.NameMedia(ctx, sha[:1]+".mp3", sha, false); err != nil {
				return err
			}
		}
		return tx.PutProgramSet(ctx, ProgramSet{Target: "group:quan-1", File: "q1.yaml", Body: []byte("programs: []"),
			MediaMap: map[string]string{"media/a.mp3": used}, LoadedBy: "lan", LoadedAt: now})
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(ctx, func(tx CityTx) error { return tx.SetMediaTitle(ctx, used, "Bản tin sáng") }); err != nil {
		t.Fatal(err)
	}
	if m, _ := db.Read().Media(ctx, used); m.Title != "Bản tin sáng" {
		t.Fatalf("title %q", m.Title)
	}
	var uses []string
	err = db.Update(ctx, func(tx CityTx) (err error) { uses, err = tx.DeleteMedia(ctx, used, now); return err })
	if err != nil || len(uses) != 1 || uses[0] != "programs group:quan-1" {
		t.Fatalf("delete of an item in use: %v %v", uses, err)
	}
	if _, err := db.Read().Media(ctx, used); err != nil {
		t.Fatal("the item in use was deleted")
	}
	err = db.Update(ctx, func(tx CityTx) (err error) { uses, err = tx.DeleteMedia(ctx, free, now); return err })
	if err != nil || len(uses) != 0 {
		t.Fatalf("delete: %v %v", uses, err)
	}
	if _, err := db.Read().Media(ctx, free); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted item still there: %v", err)
	}
	if _, err := db.Read().MediaByName(ctx, "b.mp3"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("its name still there: %v", err)
	}
	err = db.Update(ctx, func(tx CityTx) (err error) { _, err = tx.DeleteMedia(ctx, free, now); return err })
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("delete twice: %v", err)
	}
}

// A name a program file refers to (as written or as a path's last element)
// is not renamed, and the files are named; a free one is, and keeps its
// item; a name other media has is refused.
func TestRenameMedia(t *testing.T) {
	ctx := context.Background()
	db, _ := openCity(t)
	now := time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)
	a, b := strings.Repeat("a", 64), strings.Repeat("b", 64)
	err := db.Update(ctx, func(tx CityTx) error {
		for _, sha := range []string{a, b} {
			if _, err := tx.PutMedia(ctx, CityMedia{SHA256: sha, Size: 1, Rate: 44100, Frames: 44100, Title: "x", OriginalName: "x.mp3",
				OriginalSHA256: sha, OriginalSize: 1, AddedBy: "lan", AddedAt: now}); err != nil {
				return err
			}
		}
		for name, sha := range map[string]string{"ban-tin.mp3": a, "ban-tin-cu.mp3": a, "nhac.mp3": b} {
			if err := tx.NameMedia(ctx, name, sha, false); err != nil {
				return err
			}
		}
		if err := tx.PutProgramSet(ctx, ProgramSet{Target: "group:quan-1", File: "q1.yaml", Body: []byte("programs: []"),
			MediaMap: map[string]string{"media/ban-tin.mp3": a}, LoadedBy: "lan", LoadedAt: now}); err != nil {
			return err
		}
		return tx.PutProgramSet(ctx, ProgramSet{Target: "ward:phuong-1", File: "p1.yaml", Body: []byte("programs: []"),
			MediaMap: map[string]string{"ban-tin.mp3": a}, LoadedBy: "lan", LoadedAt: now})
	})
	if err != nil {
		t.Fatal(err)
	}
	rename := func(sha, from, to string) (uses []string, err error) {
		err = db.Update(ctx, func(tx CityTx) (err error) { uses, err = tx.RenameMedia(ctx, sha, from, to); return err })
		return uses, err
	}
	uses, err := rename(a, "ban-tin.mp3", "ban-tin-sang.mp3")
	if err != nil || strings.Join(uses, "; ") != "p1.yaml (ward:phuong-1); q1.yaml (group:quan-1)" {
		t.Fatalf("rename of a used name: %v %v", uses, err)
	}
	if k, err := db.Read().MediaByName(ctx, "ban-tin.mp3"); err != nil || k != a {
		t.Fatalf("the used name moved: %v %v", k, err)
	}
	if _, err := rename(a, "ban-tin-cu.mp3", "nhac.mp3"); !errors.Is(err, ErrExists) {
		t.Fatalf("rename onto another item's name: %v", err)
	}
	if _, err := rename(b, "ban-tin-cu.mp3", "x.mp3"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("rename of another item's name: %v", err)
	}
	if uses, err := rename(a, "ban-tin-cu.mp3", "ban-tin-2025.mp3"); err != nil || len(uses) != 0 {
		t.Fatalf("rename: %v %v", uses, err)
	}
	if m, _ := db.Read().Media(ctx, a); strings.Join(m.Names, ",") != "ban-tin-2025.mp3,ban-tin.mp3" {
		t.Fatalf("names %v", m.Names)
	}
	if _, err := db.Read().MediaByName(ctx, "ban-tin-cu.mp3"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("the old name stays: %v", err)
	}
}
