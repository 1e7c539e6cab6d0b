package accounts

import (
	"context"
	"errors"
	"slices"
	"strings"

	"loa/sqlite"
)

// Roles of API users.
var Roles = []string{"admin", "operator", "alerter", "approver", "technician"}

// AddUser adds an API user and returns their token, shown once: only its
// hash is stored.
func (s *Service) AddUser(ctx context.Context, name, role string) (string, error) {
	if name == "" || len(name) > 64 || strings.ContainsAny(name, " \t\r\n/") {
		return "", badInput("user name %q: want a word without spaces or '/' (at most 64)", name)
	}
	if !slices.Contains(Roles, role) {
		return "", badInput("role %q: want one of %s", role, strings.Join(Roles, ", "))
	}
	token, hash := newToken(userTokenPrefix)
	err := s.Store.Read().AddUser(ctx, User{Name: name, Role: role}, hash)
	if errors.Is(err, sqlite.ErrExists) {
		return "", badInput("user %s already exists", name)
	}
	if err != nil {
		return "", err
	}
	s.Log.Info("user added", "user", name, "role", role)
	return token, nil
}

// Users lists every user, by name.
func (s *Service) Users(ctx context.Context) ([]User, error) {
	return s.Store.Read().Users(ctx)
}
