package city

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"loa/signing"
	"loa/sqlite"
)

// Join codes provision a ward without copying secrets by hand: `loa-city
// ward add` (or `ward code`) prints a short code, the technician types it on
// the Pi (`loa-agent join --city URL --code CODE`), and the agent receives
// the ward's id, a token and the city's public key in one signed answer.
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

// JoinFormat is the version of the join answer's payload. Fields are only
// ever added to it; a change that removes or redefines one bumps it.
const JoinFormat = 1

const (
	joinAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ" // Crockford's base32
	joinCodeLen  = 10
)

// Join errors. ErrJoinCodeUsed and ErrJoinCodeExpired are answered 410 Gone,
// ErrJoinCodeUnknown 404.
var (
	ErrJoinCodeUnknown = errors.New("unknown join code")
	ErrJoinCodeUsed    = errors.New("join code already used")
	ErrJoinCodeExpired = errors.New("join code expired")
)

// JoinRequest is the body of POST /api/v1/join. Unknown fields are ignored,
// so that newer agents can say more.
type JoinRequest struct {
	Code string `json:"code"`
	// Hostname and AgentVersion are logged, to tell stations apart.
	Hostname     string `json:"hostname,omitempty"`
	AgentVersion string `json:"agent_version,omitempty"`
}

// JoinCredentials is what a ward receives for a valid code, as the payload
// of a signing.Envelope signed with the city's key. Clients ignore fields
// they do not know (NATS credentials will be added here).
type JoinCredentials struct {
	Format    int       `json:"format"`
	Ward      string    `json:"ward"`
	Groups    []string  `json:"groups"`
	Token     string    `json:"token"`
	PublicKey string    `json:"public_key"`
	KeyID     string    `json:"key_id"`
	Timezone  string    `json:"timezone"`
	Issued    time.Time `json:"issued"`
	// NATS is where the ward's alert link connects, NATSKey its key (a
	// new one: the previous stops working). Empty when the city runs
	// without NATS.
	NATS    string `json:"nats,omitempty"`
	NATSKey string `json:"nats_key,omitempty"`
	// TLSPin is the key pin of the certificate the city serves HTTPS and
	// NATS with (signing.SPKIPin), when it serves TLS itself: the ward
	// checks that the connection it joined over had this key, and pins
	// it.
	TLSPin string `json:"tls_pin,omitempty"`
	// NATSTLSPin is the key pin of the NATS servers' certificate: the
	// city's own with nats.tls, else nats.tls_pin.
	NATSTLSPin string `json:"nats_tls_pin,omitempty"`
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
func (c *City) joinHash(normalized string) []byte {
	k := sha256.Sum256(append([]byte("loa join codes\x00"), c.key.Seed()...))
	m := hmac.New(sha256.New, k[:])
	m.Write([]byte(normalized))
	return m.Sum(nil)
}

// IssueJoinCode makes a one-time join code for ward, valid for ttl. Its
// earlier unused codes stop working: only the last code printed is valid.
func (c *City) IssueJoinCode(ctx context.Context, ward string, ttl time.Duration) (code string, expires time.Time, err error) {
	if ttl <= 0 {
		return "", time.Time{}, badInput("join code lifetime %s: want a positive duration", ttl)
	}
	if _, err := c.DB.Read().Ward(ctx, ward); err != nil {
		if errors.Is(err, sqlite.ErrNotFound) {
			return "", time.Time{}, badInput("no ward %s (add it with `loa-city ward add %s`)", ward, ward)
		}
		return "", time.Time{}, err
	}
	code = newJoinCode()
	norm, _ := NormalizeJoinCode(code)
	now := c.Now()
	expires = now.Add(ttl)
	err = c.joinTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM join_codes WHERE ward = ? AND used_at IS NULL`, ward); err != nil {
			return err
		}
		// Used and expired codes are kept a while for the log's sake.
		if _, err := tx.ExecContext(ctx, `DELETE FROM join_codes WHERE expires_at < ?`, now.Add(-30*24*time.Hour).UnixMilli()); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO join_codes(code_hash, ward, created_at, expires_at) VALUES(?,?,?,?)`,
			c.joinHash(norm), ward, now.UnixMilli(), expires.UnixMilli())
		return err
	})
	if err != nil {
		return "", time.Time{}, fmt.Errorf("join code for %s: %w", ward, err)
	}
	c.Log.Info("join code issued", "ward", ward, "expires", expires.Format(time.RFC3339))
	return code, expires, nil
}

// joinTx runs fn in a write transaction on the city database, with the
// join table in place.
func (c *City) joinTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := c.DB.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// RedeemJoinCode uses a code: the ward gets a new token (its old one stops
// working) and the signed credentials are returned. from says who asked,
// for the log and for the error a second attempt will get.
func (c *City) RedeemJoinCode(ctx context.Context, code, from string) (JoinCredentials, error) {
	var cr JoinCredentials
	norm, err := NormalizeJoinCode(code)
	if err != nil {
		return cr, err
	}
	now := c.Now()
	token, hash := newToken(wardTokenPrefix)
	err = c.joinTx(ctx, func(tx *sql.Tx) error {
		var (
			ward     string
			expires  int64
			usedAt   sql.NullInt64
			usedFrom sql.NullString
		)
		err := tx.QueryRowContext(ctx, `SELECT ward, expires_at, used_at, used_from FROM join_codes WHERE code_hash = ?`,
			c.joinHash(norm)).Scan(&ward, &expires, &usedAt, &usedFrom)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrJoinCodeUnknown
		}
		if err != nil {
			return err
		}
		if usedAt.Valid {
			return fmt.Errorf("%w (ward %s, %s, from %s): issue a new one with `loa-city ward code %s`", ErrJoinCodeUsed,
				ward, time.UnixMilli(usedAt.Int64).In(c.loc).Format("2006-01-02 15:04:05"), usedFrom.String, ward)
		}
		if now.UnixMilli() > expires {
			return fmt.Errorf("%w at %s: issue a new one with `loa-city ward code %s`", ErrJoinCodeExpired,
				time.UnixMilli(expires).In(c.loc).Format("2006-01-02 15:04:05"), ward)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE join_codes SET used_at = ?, used_from = ? WHERE code_hash = ?`,
			now.UnixMilli(), from, c.joinHash(norm)); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE wards SET token_hash = ? WHERE id = ?`, hash, ward); err != nil {
			return err
		}
		// A re-provisioned station makes and registers a new receipt key.
		if _, err := tx.ExecContext(ctx, `DELETE FROM ward_receipt_keys WHERE ward = ?`, ward); err != nil {
			return err
		}
		cr.Ward = ward
		return nil
	})
	if err != nil {
		return JoinCredentials{}, err
	}
	w, err := c.DB.Read().Ward(ctx, cr.Ward)
	if err != nil {
		return JoinCredentials{}, err
	}
	cr = JoinCredentials{Format: JoinFormat, Ward: w.ID, Groups: w.Groups, Token: token,
		PublicKey: signing.PublicKeyText(c.pub), KeyID: c.keyID, Timezone: c.Config.Timezone, Issued: now.UTC()}
	if cr.Groups == nil {
		cr.Groups = []string{}
	}
	c.Log.Info("ward joined with its code: new token issued", "ward", w.ID, "from", from)
	return cr, nil
}

// Failed join attempts are limited per client address, so that guessing
// codes is slow even before their 50 bits make it hopeless. Behind a
// reverse proxy every client shares the proxy's address: the limit then
// holds for all of them together, which only delays a technician.
const (
	joinFailWindow = 10 * time.Minute
	joinFailMax    = 20
)

type joinLimiter struct {
	mu    sync.Mutex
	fails map[string][]time.Time
}

// allowed reports whether host may try again at now.
func (l *joinLimiter) allowed(host string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	recent := l.fails[host][:0]
	for _, t := range l.fails[host] {
		if now.Sub(t) < joinFailWindow {
			recent = append(recent, t)
		}
	}
	if len(recent) == 0 {
		delete(l.fails, host)
		return true
	}
	l.fails[host] = recent
	return len(recent) < joinFailMax
}

func (l *joinLimiter) failed(host string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fails == nil {
		l.fails = map[string][]time.Time{}
	}
	if len(l.fails) > 10000 { // a flood from many addresses: forget, rather than grow
		clear(l.fails)
	}
	l.fails[host] = append(l.fails[host], now)
}

// joinHandler serves POST /api/v1/join: a code in, the ward's signed
// credentials out. It needs no token: the code is the credential.
func (c *City) joinHandler() http.Handler {
	lim := &joinLimiter{}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			host = r.RemoteAddr
		}
		if !lim.allowed(host, c.Now()) {
			w.Header().Set("Retry-After", fmt.Sprint(int(joinFailWindow.Seconds())))
			writeError(w, http.StatusTooManyRequests, "too many wrong join codes from %s: wait %s", host, joinFailWindow)
			return
		}
		var req JoinRequest
		if err := json.NewDecoder(io.LimitReader(r.Body, 4096)).Decode(&req); err != nil {
			writeError(w, http.StatusBadRequest, "body: want JSON {\"code\": \"7KQMX-2HD9P\"}: %v", err)
			return
		}
		from := host
		if req.Hostname != "" {
			from = fmt.Sprintf("%s (%.64s)", host, req.Hostname)
		}
		cr, err := c.RedeemJoinCode(r.Context(), req.Code, from)
		if err == nil {
			err = c.joinNATS(r.Context(), &cr, r.Host)
			cr.TLSPin = c.TLSPin()
		}
		var bad *BadInputError
		switch {
		case err == nil:
		case errors.As(err, &bad):
			lim.failed(host, c.Now())
			writeError(w, http.StatusBadRequest, "%s", bad.Msg)
			return
		case errors.Is(err, ErrJoinCodeUnknown):
			lim.failed(host, c.Now())
			c.Log.Warn("join with an unknown code", "from", from)
			writeError(w, http.StatusNotFound, "unknown join code: check it, or issue a new one at the city with `loa-city ward code WARD`")
			return
		case errors.Is(err, ErrJoinCodeUsed), errors.Is(err, ErrJoinCodeExpired):
			lim.failed(host, c.Now())
			c.Log.Warn("join refused", "from", from, "err", err)
			writeError(w, http.StatusGone, "%v", err)
			return
		default:
			c.internalError(w, r, err)
			return
		}
		payload, err := json.Marshal(cr)
		if err != nil {
			c.internalError(w, r, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		writeJSON(w, http.StatusOK, signing.Sign(c.key, payload))
	})
}

// joinTTLFlag adds --code-ttl to a command.
func joinTTLFlag(fs *flag.FlagSet) *time.Duration {
	return fs.Duration("code-ttl", DefaultJoinTTL, "how long the join code stays valid")
}

// printJoinCode issues a join code for ward and tells how to use it.
func printJoinCode(ctx context.Context, c *City, ward string, ttl time.Duration, stdout, stderr io.Writer) int {
	code, expires, err := c.IssueJoinCode(ctx, ward, ttl)
	if err != nil {
		return failed(stderr, "ward code", err)
	}
	fmt.Fprintf(stdout, "Mã kết nối / join code: %s\n", code)
	fmt.Fprintf(stdout, "  valid once, until %s; using it gives the ward a new token (the one above stops working).\n",
		expires.In(c.loc).Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(stdout, "  On the ward's Raspberry Pi:  sudo loa-agent join --city https://CITY-ADDRESS --code %s\n", code)
	fmt.Fprintf(stdout, "  The city's key fingerprint (the ward shows it; they must match): %s\n", c.KeyID())
	return exitOK
}

// cmdWardCode is `loa-city ward code ID`: a new join code for a ward.
func cmdWardCode(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newCommand("ward code", "ID [--code-ttl 24h]", "Print a new one-time join code for a ward (earlier unused codes stop working).\nOn the ward: loa-agent join --city URL --code CODE.", stdout, stderr)
	ttl := joinTTLFlag(c.fs)
	pos, code, ok := c.parse(args, 1)
	if !ok {
		return code
	}
	city, code := c.open(ctx, stderr)
	if city == nil {
		return code
	}
	defer city.Close()
	return printJoinCode(ctx, city, pos[0], *ttl, stdout, stderr)
}

// joinNATS adds the alert link to a joining ward's credentials: a new NATS
// key, and the address it connects to (nats.advertise; else the external
// nats.url; else the embedded server's port on the host the ward reached
// the city by).
func (c *City) joinNATS(ctx context.Context, cr *JoinCredentials, host string) error {
	if c.alerts == nil {
		return nil
	}
	seed, err := c.IssueWardKey(ctx, cr.Ward)
	if err != nil {
		return err
	}
	cr.NATSKey = seed
	switch n := c.Config.NATS; {
	case n.TLS:
		cr.NATSTLSPin = c.TLSPin()
	case n.TLSPin != "":
		cr.NATSTLSPin = n.TLSPin
	}
	switch n := c.Config.NATS; {
	case n.Advertise != "":
		cr.NATS = n.Advertise
	case n.URL != "":
		cr.NATS = n.URL
	default:
		h, _, err := net.SplitHostPort(host)
		if err != nil {
			h = host
		}
		_, port, err := net.SplitHostPort(n.Listen)
		if err != nil {
			port = "4222"
		}
		scheme := "nats://"
		if n.TLS {
			scheme = "tls://"
		}
		cr.NATS = scheme + net.JoinHostPort(h, port)
	}
	return nil
}
