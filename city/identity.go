package city

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"net/http"

	"loa/city/accounts"
	"loa/city/api"
	"loa/fleet"
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

// putReceiptKey is PUT /api/v1/ward/receipt-key: a ward registers the
// public half of the key it signs its receipts with. The first key stays:
// the same key again is 200, another one 409 (and an identity alarm),
// until a join code re-provisions the ward.
func (c *City) putReceiptKey(w http.ResponseWriter, r *http.Request, p principal) {
	var body api.ReceiptKey
	if !decodeBody(w, r, &body) {
		return
	}
	k, _, err := c.Accounts.RegisterReceiptKey(r.Context(), p.ward, body.PublicKey)
	switch {
	case errors.Is(err, accounts.ErrReceiptKeyTaken):
		c.Log.Warn("a second receipt key offered for a ward: refused", "ward", p.ward, "key_id", k.KeyID, "remote", r.RemoteAddr)
		c.Board().Flag(p.ward, fleet.AlarmKeyConflict, fmt.Sprintf(
			"khoá ký báo nhận thứ hai / a second receipt key (%s) offered from %s; re-provision the ward (loa-city ward code %s)", k.KeyID, r.RemoteAddr, p.ward), c.Now())
		writeError(w, http.StatusConflict, "ward %s already has another receipt key: a new join code (loa-city ward code %s) re-provisions it", p.ward, p.ward)
		return
	case err != nil:
		c.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, api.ReceiptKey{PublicKey: k.PublicKey, KeyID: k.KeyID})
}
