package accounts

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"time"

	"loa/sqlite"
)

// Join codes provision a ward without copying secrets by hand: `loa-city
// ward add` (or `ward code`) prints a short code, the technician types it on
// the Pi (`loa-agent join --city URL --code CODE`), and the agent receives
// the ward's id, a token and the city's public key in one signed answer
// (package city signs it and serves POST /api/v1/join).
//
// A code is 10 characters of Crockford's base32 (50 bits, no I, L, O or U,
// so that it survives being read over the phone), used once, and expires
// (24 h by default). The city keeps only an HMAC of it, keyed by a secret
// derived from its signing key, so a copy of the database alone does not
// give the codes away. Redeeming a code issues the ward a new token: the
// token printed by `ward add` stops working, so that there is only ever one
// credential per ward and it is the one the station holds.

// DefaultJoinTTL is how long a join code stays valid.
const DefaultJoinTTL = 24 * time.Hour

const (
	joinAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ" // Crockford's base32
	joinCodeLen  = 10
	// joinKeep is how long used and expired codes are kept, for the
	// error a late attempt gets and for the log's sake.
	joinKeep = 30 * 24 * time.Hour
)

// JoinKey derives the secret join codes are kept under from the seed of
// the city's signing key.
func JoinKey(signingSeed []byte) []byte {
	k := sha256.Sum256(append([]byte("loa join codes\x00"), signingSeed...))
	return k[:]
}

// newJoinCode returns a random code, grouped for reading: 7KQMX-2HD9P.
func newJoinCode() string {
	b := make([]byte, joinCodeLen)
	rand.Read(b)
	var s strings.Builder
	for i, x := range b {
		if i == joinCodeLen/2 {
			s.WriteByte('-')
		}
		s.WriteByte(joinAlphabet[int(x)%len(joinAlphabet)]) // 256 is a multiple of 32: no bias
	}
	return s.String()
}

// NormalizeJoinCode reads a code as a person typed it: any case, with or
// without the dash or spaces, O for 0 and I or L for 1.
func NormalizeJoinCode(s string) (string, error) {
	var out strings.Builder
	for _, r := range strings.ToUpper(s) {
		switch {
		case r == '-' || r == ' ' || r == '\t':
			continue
		case r == 'O':
			r = '0'
		case r == 'I' || r == 'L':
			r = '1'
		}
		if r > 127 || !strings.ContainsRune(joinAlphabet, r) {
			return "", badInput("join code %q: %q is not one of its letters and digits", s, r)
		}
		out.WriteRune(r)
	}
	if out.Len() != joinCodeLen {
		return "", badInput("join code %q: want %d letters and digits, like 7KQMX-2HD9P", s, joinCodeLen)
	}
	return out.String(), nil
}

// joinHash is the HMAC under which a code is stored.
func (s *Service) joinHash(normalized string) []byte {
	m := hmac.New(sha256.New, s.joinKey)
	m.Write([]byte(normalized))
	return m.Sum(nil)
}

// IssueJoinCode makes a one-time join code for ward, valid for ttl. Its
// earlier unused codes stop working: only the last code printed is valid.
func (s *Service) IssueJoinCode(ctx context.Context, ward string, ttl time.Duration) (code string, expires time.Time, err error) {
	if ttl <= 0 {
		return "", time.Time{}, badInput("join code lifetime %s: want a positive duration", ttl)
	}
	if _, err := s.Store.Read().Ward(ctx, ward); err != nil {
		if errors.Is(err, sqlite.ErrNotFound) {
			return "", time.Time{}, badInput("no ward %s (add it with `loa-city ward add %s`)", ward, ward)
		}
		return "", time.Time{}, err
	}
	code = newJoinCode()
	norm, _ := NormalizeJoinCode(code)
	now := s.Now()
	expires = now.Add(ttl)
	err = s.Store.Update(ctx, func(tx Tx) error {
		if err := tx.DeleteUnusedJoinCodes(ctx, ward); err != nil {
			return err
		}
		if err := tx.DeleteJoinCodesExpiredBefore(ctx, now.Add(-joinKeep)); err != nil {
			return err
		}
		return tx.AddJoinCode(ctx, JoinCode{Hash: s.joinHash(norm), Ward: ward, CreatedAt: now, ExpiresAt: expires})
	})
	if err != nil {
		return "", time.Time{}, fmt.Errorf("join code for %s: %w", ward, err)
	}
	s.Log.Info("join code issued", "ward", ward, "expires", expires.Format(time.RFC3339))
	return code, expires, nil
}

// Joined is a redeemed join code: the ward, its new token (its old one no
// longer works; shown once) and when.
type Joined struct {
	Ward  Ward
	Token string
	At    time.Time
}

// RedeemJoinCode uses a code: the ward gets a new token (its old one stops
// working) and must register a new receipt key. from says who asked, for
// the log and for the error a second attempt will get. A code of the wrong
// shape is a BadInputError; otherwise ErrJoinCodeUnknown, ErrJoinCodeUsed
// or ErrJoinCodeExpired say why a code is refused.
func (s *Service) RedeemJoinCode(ctx context.Context, code, from string) (Joined, error) {
	norm, err := NormalizeJoinCode(code)
	if err != nil {
		return Joined{}, err
	}
	now := s.Now()
	token, hash := newToken(wardTokenPrefix)
	var ward string
	err = s.Store.Update(ctx, func(tx Tx) error {
		h := s.joinHash(norm)
		jc, err := tx.JoinCode(ctx, h)
		if errors.Is(err, sqlite.ErrNotFound) {
			return ErrJoinCodeUnknown
		}
		if err != nil {
			return err
		}
		if !jc.UsedAt.IsZero() {
			return fmt.Errorf("%w (ward %s, %s, from %s): issue a new one with `loa-city ward code %s`", ErrJoinCodeUsed,
				jc.Ward, jc.UsedAt.In(s.Loc).Format("2006-01-02 15:04:05"), jc.UsedFrom, jc.Ward)
		}
		if now.UnixMilli() > jc.ExpiresAt.UnixMilli() {
			return fmt.Errorf("%w at %s: issue a new one with `loa-city ward code %s`", ErrJoinCodeExpired,
				jc.ExpiresAt.In(s.Loc).Format("2006-01-02 15:04:05"), jc.Ward)
		}
		if err := tx.UseJoinCode(ctx, h, now, from); err != nil {
			return err
		}
		if err := tx.SetWardToken(ctx, jc.Ward, hash); err != nil {
			return err
		}
		// A re-provisioned station makes and registers a new receipt key.
		if err := tx.DeleteWardReceiptKey(ctx, jc.Ward); err != nil {
			return err
		}
		ward = jc.Ward
		return nil
	})
	if err != nil {
		return Joined{}, err
	}
	w, err := s.Store.Read().Ward(ctx, ward)
	if err != nil {
		return Joined{}, err
	}
	s.Log.Info("ward joined with its code: new token issued", "ward", w.ID, "from", from)
	return Joined{Ward: w, Token: token, At: now}, nil
}
