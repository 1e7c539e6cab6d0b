package accounts

import (
	"context"
	"errors"
	"math"
	"strings"
	"unicode/utf8"

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

// SetWardInfo sets a ward's display name, written as people write it
// ("Phường Bến Nghé"), and where its station is (both lat and lon, or
// neither), for the console's lists and map.
func (s *Service) SetWardInfo(ctx context.Context, id, name string, lat, lon *float64) error {
	name = strings.TrimSpace(name)
	switch {
	case !validID(id):
		return badInput("ward id %q: want lowercase letters a-z, digits and '-' (at most 64)", id)
	case utf8.RuneCountInString(name) > 100 || !utf8.ValidString(name) || strings.ContainsAny(name, "\r\n\t"):
		return badInput("tên phường %q: tối đa 100 ký tự, một dòng / display name %q: at most 100 characters, one line", name, name)
	case (lat == nil) != (lon == nil):
		return badInput("vị trí: cần cả vĩ độ và kinh độ / location: want both --lat and --lon")
	case lat != nil && (*lat < -90 || *lat > 90 || *lon < -180 || *lon > 180 || math.IsNaN(*lat) || math.IsNaN(*lon)):
		return badInput("vị trí %v, %v: vĩ độ -90..90, kinh độ -180..180 / location %v, %v: latitude -90..90, longitude -180..180", *lat, *lon, *lat, *lon)
	}
	ls, err := s.logins()
	if err != nil {
		return err
	}
	err = ls.UpdateLogins(ctx, func(tx LoginTx) error { return tx.SetWardInfo(ctx, id, name, lat, lon) })
	if errors.Is(err, sqlite.ErrNotFound) {
		return badInput("không có phường %s / no ward %s", id, id)
	}
	return err
}
