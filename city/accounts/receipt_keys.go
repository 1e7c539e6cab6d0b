package accounts

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"

	"loa/signing"
	"loa/sqlite"
)

// A ward's receipt key is the public half of the Ed25519 key the station
// makes for itself and signs its receipts and as-run lines with
// (docs/security.md, "Ward identity"). The first key a ward registers
// stays until a join code re-provisions the ward.

// ReceiptKey is a registered receipt key: its text form and its id.
type ReceiptKey struct {
	PublicKey string
	KeyID     string
}

// RegisterReceiptKey records publicKey (signing's text form) as ward's
// receipt key. The key it already has is fine (created false); another is
// ErrReceiptKeyTaken; a key that does not parse is a BadInputError naming
// the field public_key.
func (s *Service) RegisterReceiptKey(ctx context.Context, ward, publicKey string) (k ReceiptKey, created bool, err error) {
	pub, err := signing.ParsePublicKey(publicKey)
	if err != nil {
		return ReceiptKey{}, false, badInput("public_key: khoá không hợp lệ / not an Ed25519 public key: %v", err)
	}
	k = ReceiptKey{PublicKey: signing.PublicKeyText(pub), KeyID: signing.KeyID(pub)}
	err = s.Store.Update(ctx, func(tx Tx) error {
		created, err = tx.AddWardReceiptKey(ctx, ward, k.PublicKey, k.KeyID)
		return err
	})
	if errors.Is(err, sqlite.ErrExists) {
		return k, false, fmt.Errorf("ward %s: %w", ward, ErrReceiptKeyTaken)
	}
	if err != nil {
		return k, false, err
	}
	if created {
		s.Log.Info("ward receipt key registered", "ward", ward, "key_id", k.KeyID)
	}
	return k, created, nil
}

// ReceiptKey returns ward's registered receipt key (nil: none registered).
func (s *Service) ReceiptKey(ctx context.Context, ward string) (ed25519.PublicKey, error) {
	text, err := s.Store.Read().WardReceiptKey(ctx, ward)
	switch {
	case errors.Is(err, sqlite.ErrNotFound):
		return nil, nil
	case err != nil:
		return nil, err
	}
	pub, err := signing.ParsePublicKey(text)
	if err != nil {
		return nil, fmt.Errorf("receipt key of ward %s: %w", ward, err)
	}
	return pub, nil
}

// ReceiptKeyID is the id of ward's receipt key ("": none, or unreadable).
func (s *Service) ReceiptKeyID(ctx context.Context, ward string) string {
	pub, err := s.ReceiptKey(ctx, ward)
	if err != nil || pub == nil {
		return ""
	}
	return signing.KeyID(pub)
}
