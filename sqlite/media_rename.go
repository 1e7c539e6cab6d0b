package sqlite

import (
	"context"
	"errors"
	"fmt"
	"path"
	"sort"
)

// RenameMedia gives media sha's name from the name to instead, unless a
// program file refers to from (then it returns those files, as "FILE
// (TARGET)", and changes nothing): a stored file keeps working by its
// media map, but loading it again (the console's next edit, an import of
// its export) would no longer find the name. Run it in a transaction
// (CityDB.Update), so that no program is loaded between the check and the
// rename. A from that is not sha's name is ErrNotFound; a to other media
// has wraps ErrExists.
func (t CityTx) RenameMedia(ctx context.Context, sha, from, to string) ([]string, error) {
	cur, err := t.MediaByName(ctx, from)
	if err != nil {
		return nil, err
	}
	if cur != sha {
		return nil, fmt.Errorf("media %s has no name %q: %w", sha, from, ErrNotFound)
	}
	if from == to {
		return nil, nil
	}
	switch other, err := t.MediaByName(ctx, to); {
	case err == nil:
		return nil, fmt.Errorf("the name %q is used by media %s: %w", to, other, ErrExists)
	case !errors.Is(err, ErrNotFound):
		return nil, err
	}
	uses, err := t.NameUses(ctx, from)
	if err != nil || len(uses) > 0 {
		return uses, err
	}
	_, err = t.q.ExecContext(ctx, `UPDATE media_names SET name = ? WHERE name = ? AND sha256 = ?`, to, from, sha)
	return nil, err
}

// NameUses lists the program files that refer to the media name, as
// "FILE (TARGET)": a reference is the name, or a path whose last element
// is the name ("media/ban-tin.mp3"), as programs resolve them.
func (t CityTx) NameUses(ctx context.Context, name string) ([]string, error) {
	sets, err := t.ProgramSets(ctx)
	if err != nil {
		return nil, err
	}
	var uses []string
	for _, s := range sets {
		for ref := range s.MediaMap {
			if ref == name || path.Base(ref) == name {
				uses = append(uses, s.File+" ("+s.Target+")")
				break
			}
		}
	}
	sort.Strings(uses)
	return uses, nil
}
