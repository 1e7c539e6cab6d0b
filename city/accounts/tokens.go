package accounts

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"

	"loa/sqlite"
)

// Token prefixes say what a token is when one turns up in a log or a
// config file; the city looks every token up by its hash either way.
const (
	wardTokenPrefix = "loaw_"
	userTokenPrefix = "loau_"
)

// newToken returns a random token (256 bits) and its hash. Tokens are
// stored only as sha256: they are random, so a slow hash adds nothing.
func newToken(prefix string) (string, []byte) {
	b := make([]byte, 32)
	rand.Read(b)
	tok := prefix + base64.RawURLEncoding.EncodeToString(b)
	return tok, hashToken(tok)
}

func hashToken(tok string) []byte {
	h := sha256.Sum256([]byte(tok))
	return h[:]
}

// RoleWard is the role of a ward's token.
const RoleWard = "ward"

// Principal is who holds a token: a ward (Role RoleWard) or a user.
type Principal struct {
	Ward string
	User string
	Role string
	// Scope is a user's (scope.go): a scoped user's token carries it.
	Scope Scope
}

// Name is how the principal is shown and recorded: "ward:ID" or the
// user's name.
func (p Principal) Name() string {
	if p.Ward != "" {
		return "ward:" + p.Ward
	}
	return p.User
}

// LookupToken says whose token tok is: ErrUnknownToken when nobody's.
// A ward token (loaw_) is looked up among the wards, any other among the
// users.
func (s *Service) LookupToken(ctx context.Context, tok string) (Principal, error) {
	h := hashToken(tok)
	tx := s.Store.Read()
	var p Principal
	var err error
	if strings.HasPrefix(tok, wardTokenPrefix) {
		p.Role = RoleWard
		p.Ward, err = tx.WardByToken(ctx, h)
	} else {
		var u User
		u, err = tx.UserByToken(ctx, h)
		p.User, p.Role, p.Scope = u.Name, u.Role, ScopeOf(u)
	}
	if errors.Is(err, sqlite.ErrNotFound) {
		return Principal{}, ErrUnknownToken
	}
	if err != nil {
		return Principal{}, err
	}
	return p, nil
}
