package accounts

import (
	"context"
	"errors"
	"strings"

	"loa/sqlite"
)

// AddWard registers a ward in groups and returns its token, shown once:
// only its hash is stored. Repeated groups count once. CheckWard runs in
// the same transaction and may refuse the ward.
func (s *Service) AddWard(ctx context.Context, id string, groups []string) (string, error) {
	if !validID(id) {
		return "", badInput("ward id %q: want lowercase letters a-z, digits and '-' (at most 64)", id)
	}
	seen := map[string]bool{}
	var gs []string
	for _, g := range groups {
		if !validID(g) {
			return "", badInput("group %q: want lowercase letters a-z, digits and '-' (at most 64)", g)
		}
		if !seen[g] {
			seen[g] = true
			gs = append(gs, g)
		}
	}
	token, hash := newToken(wardTokenPrefix)
	err := s.Store.Update(ctx, func(tx Tx) error {
		if err := tx.AddWard(ctx, Ward{ID: id, Groups: gs}, hash); err != nil {
			if errors.Is(err, sqlite.ErrExists) {
				return badInput("ward %s already exists", id)
			}
			return err
		}
		if s.CheckWard == nil {
			return nil
		}
		w, err := tx.Ward(ctx, id)
		if err != nil {
			return err
		}
		return s.CheckWard(ctx, tx, w)
	})
	if err != nil {
		return "", err
	}
	s.Log.Info("ward added", "ward", id, "groups", strings.Join(gs, ","))
	return token, nil
}

// Ward returns one ward; an error wrapping sqlite.ErrNotFound when there
// is no such ward.
func (s *Service) Ward(ctx context.Context, id string) (Ward, error) {
	return s.Store.Read().Ward(ctx, id)
}

// Wards lists every ward, by id.
func (s *Service) Wards(ctx context.Context) ([]Ward, error) {
	return s.Store.Read().Wards(ctx)
}
