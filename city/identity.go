package city

import (
	"context"
	"crypto/ed25519"

	"loa/natsbus/natsserver"
)

// A ward's identity at the city (docs/security.md, "Ward identity"):
//
//   - one live NATS connection per ward key (the embedded server closes
//     the older; natsserver/identity.go), a replaced live one reported
//     here: counted, logged with both addresses, flagged on the board;
//   - the ward's own Ed25519 key, made on the station and registered with
//     its token (PUT /api/v1/ward/receipt-key), signs its receipts and
//     as-run lines; the city reads them only when that key verifies them
//     and refuses (counts, logs, flags) any other;
//   - receipts judged against heartbeats (fleet/identity.go).

// duplicateLogin takes the embedded server's report of a ward key logged
// in twice.
func (c *City) duplicateLogin(d natsserver.DuplicateLogin) {
	c.board.DuplicateLogin(d.Ward, d.Old, d.New, d.OldStart)
}

// refuseSigned counts, logs and flags a message on ward's subject that
// its key did not sign.
func (c *City) refuseSigned(ward, kind string, err error) { c.board.RefuseSigned(ward, kind, err) }

// wardKeys looks up wards' receipt keys, remembering them for a batch.
type wardKeys struct {
	c *City
	m map[string]ed25519.PublicKey
}

// get returns ward's registered receipt key (nil: none registered).
func (k *wardKeys) get(ctx context.Context, ward string) (ed25519.PublicKey, error) {
	if pub, ok := k.m[ward]; ok {
		return pub, nil
	}
	pub, err := k.c.Accounts.ReceiptKey(ctx, ward)
	if err != nil {
		return nil, err
	}
	if k.m == nil {
		k.m = map[string]ed25519.PublicKey{}
	}
	k.m[ward] = pub
	return pub, nil
}
