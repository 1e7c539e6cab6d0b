package city

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"loa/city/accounts"
	"loa/city/api"
	"loa/fleet"
	"loa/natsbus/natsserver"
	"loa/signing"
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

// identityCounts are the counters behind the identity metrics.
type identityCounts struct {
	mu         sync.Mutex
	duplicates map[string]uint64    // ward → duplicate logins
	refused    map[[3]string]uint64 // ward, kind (receipt|asrun), reason → messages refused
	hbSince    time.Time            // heartbeats taken since (ServeFleetNATS)
}

// heartbeatsSince is when the city began taking heartbeats (zero: not).
func (f *identityCounts) heartbeatsSince() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.hbSince
}

var (
	descDupLogins = prometheus.NewDesc("loa_city_ward_duplicate_logins_total",
		"NATS logins with a ward's key while another connection of it was alive (the older was closed).", []string{"ward"}, nil)
	descRefused = prometheus.NewDesc("loa_city_ward_messages_refused_total",
		"Receipts and as-run lines refused because the ward's key did not sign them (reason: unsigned, unknown_key, bad_signature).",
		[]string{"ward", "kind", "reason"}, nil)
)

func (f *identityCounts) Describe(ch chan<- *prometheus.Desc) { prometheus.DescribeByCollect(f, ch) }

func (f *identityCounts) Collect(ch chan<- prometheus.Metric) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for w, n := range f.duplicates {
		ch <- prometheus.MustNewConstMetric(descDupLogins, prometheus.CounterValue, float64(n), w)
	}
	for k, n := range f.refused {
		ch <- prometheus.MustNewConstMetric(descRefused, prometheus.CounterValue, float64(n), k[0], k[1], k[2])
	}
}

// duplicateLogin takes the embedded server's report of a ward key logged
// in twice.
func (c *City) duplicateLogin(d natsserver.DuplicateLogin) {
	f := &c.fleet.ident
	f.mu.Lock()
	if f.duplicates == nil {
		f.duplicates = map[string]uint64{}
	}
	f.duplicates[d.Ward]++
	n := f.duplicates[d.Ward]
	f.mu.Unlock()
	c.Log.Warn("khoá trạm đăng nhập hai nơi / ward key logged in twice", "ward", d.Ward,
		"old_remote", d.Old, "new_remote", d.New, "old_since", d.OldStart.UTC().Format(time.RFC3339), "count", n)
	c.Board().Flag(d.Ward, fleet.AlarmDuplicateLogin, fmt.Sprintf(
		"khoá trạm đăng nhập hai nơi / ward key logged in twice: %s replaced %s (%d times); re-issue the ward's credentials (loa-city ward code %s)",
		d.New, d.Old, n, d.Ward), c.Now())
}

// refuseSigned counts, logs and flags a message on ward's subject that
// its key did not sign.
func (c *City) refuseSigned(ward, kind string, err error) {
	reason := "unsigned"
	switch {
	case errors.Is(err, signing.ErrBadSignature):
		reason = "bad_signature"
	case errors.Is(err, signing.ErrUnknownKey):
		reason = "unknown_key"
	}
	f := &c.fleet.ident
	f.mu.Lock()
	if f.refused == nil {
		f.refused = map[[3]string]uint64{}
	}
	f.refused[[3]string{ward, kind, reason}]++
	f.mu.Unlock()
	c.Log.Warn("báo nhận giả mạo / forged message refused: not signed by the ward's key", "ward", ward, "kind", kind, "reason", reason, "err", err)
	what := "báo nhận / receipt"
	if kind == "asrun" {
		what = "nhật ký phát sóng / as-run line"
	}
	c.Board().Flag(ward, fleet.AlarmForged, fmt.Sprintf("%s giả mạo / forged %s refused (%s): someone else publishes as this ward", what, kind, reason), c.Now())
}

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
