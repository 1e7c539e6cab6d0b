package city

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"net/http"

	"loa/city/api"
	"loa/fleet"
	"loa/natsbus/natsserver"
	"loa/signing"
	"loa/sqlite"
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
	text, err := k.c.DB.Read().WardReceiptKey(ctx, ward)
	var pub ed25519.PublicKey
	switch {
	case errors.Is(err, sqlite.ErrNotFound):
	case err != nil:
		return nil, err
	default:
		if pub, err = signing.ParsePublicKey(text); err != nil {
			return nil, fmt.Errorf("receipt key of ward %s: %w", ward, err)
		}
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
	pub, err := signing.ParsePublicKey(body.PublicKey)
	if err != nil {
		writeError(w, http.StatusBadRequest, "public_key: khoá không hợp lệ / not an Ed25519 public key: %v", err)
		return
	}
	id := signing.KeyID(pub)
	var created bool
	err = c.DB.Update(r.Context(), func(tx sqlite.CityTx) error {
		created, err = tx.AddWardReceiptKey(r.Context(), p.ward, signing.PublicKeyText(pub), id)
		return err
	})
	switch {
	case errors.Is(err, sqlite.ErrExists):
		c.Log.Warn("a second receipt key offered for a ward: refused", "ward", p.ward, "key_id", id, "remote", r.RemoteAddr)
		c.Board().Flag(p.ward, fleet.AlarmKeyConflict, fmt.Sprintf(
			"khoá ký báo nhận thứ hai / a second receipt key (%s) offered from %s; re-provision the ward (loa-city ward code %s)", id, r.RemoteAddr, p.ward), c.Now())
		writeError(w, http.StatusConflict, "ward %s already has another receipt key: a new join code (loa-city ward code %s) re-provisions it", p.ward, p.ward)
		return
	case err != nil:
		c.fail(w, r, err)
		return
	}
	if created {
		c.Log.Info("ward receipt key registered", "ward", p.ward, "key_id", id)
	}
	writeJSON(w, http.StatusOK, api.ReceiptKey{PublicKey: signing.PublicKeyText(pub), KeyID: id})
}

// receiptKeyID is the id of ward's receipt key ("" : none).
func (c *City) receiptKeyID(ctx context.Context, ward string) string {
	k := &wardKeys{c: c}
	pub, err := k.get(ctx, ward)
	if err != nil || pub == nil {
		return ""
	}
	return signing.KeyID(pub)
}
