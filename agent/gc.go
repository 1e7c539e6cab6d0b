package agent

import (
	"context"
	"os"
	"time"
)

// CollectGarbage removes media that no program has referred to for grace:
// the original, its decodes and its row. Media referred to again before
// then are kept; inUse (what is on air, recent alerts) is never removed.
// Only changes are written: a pass over an unchanged station writes
// nothing to the SD card.
func (s *Station) CollectGarbage(ctx context.Context, now time.Time, grace time.Duration, inUse func(key string) bool) (int, error) {
	srcs, err := s.DB.ProgramSources(ctx)
	if err != nil {
		return 0, err
	}
	referenced := map[string]bool{}
	for _, src := range srcs {
		for _, key := range src.MediaMap {
			referenced[key] = true
		}
	}
	uses, err := s.DB.MediaUses(ctx)
	if err != nil {
		return 0, err
	}
	known := map[string]bool{}
	removed := 0
	for _, u := range uses {
		known[u.SHA256] = true
		used := referenced[u.SHA256] || (inUse != nil && inUse(u.SHA256))
		switch {
		case used && !u.UnreferencedSince.IsZero():
			err = s.DB.SetUnreferenced(ctx, u.SHA256, time.Time{})
		case !used && u.UnreferencedSince.IsZero():
			err = s.DB.SetUnreferenced(ctx, u.SHA256, now)
		case !used && now.Sub(u.UnreferencedSince) >= grace:
			if err = s.DB.DeleteMedia(ctx, u.SHA256); err == nil {
				err = s.Store.Remove(u.SHA256)
				removed++
			}
		}
		if err != nil {
			return removed, err
		}
	}
	// Files without a row (a power cut between the store and the
	// database): removed once they are older than the grace period.
	keys, err := s.Store.Keys()
	if err != nil {
		return removed, err
	}
	for _, k := range keys {
		if known[k] {
			continue
		}
		if fi, err := os.Stat(s.Store.Path(k)); err == nil && now.Sub(fi.ModTime()) >= grace {
			if err := s.Store.Remove(k); err == nil {
				removed++
			}
		}
	}
	return removed, nil
}
