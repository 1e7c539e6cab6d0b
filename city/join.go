package city

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"loa/city/accounts"
	"loa/signing"
)

// Join codes provision a ward without copying secrets by hand; the codes
// themselves (made, kept as an HMAC, used once, expiring) are
// city/accounts'. Here: the signed answer a ward gets for a code (POST
// /api/v1/join), its rate limit, and the CLI's `ward code`.

// DefaultJoinTTL is how long a join code stays valid.
const DefaultJoinTTL = accounts.DefaultJoinTTL

// JoinFormat is the version of the join answer's payload. Fields are only
// ever added to it; a change that removes or redefines one bumps it.
const JoinFormat = 1

// Join errors. ErrJoinCodeUsed and ErrJoinCodeExpired are answered 410 Gone,
// ErrJoinCodeUnknown 404.
var (
	ErrJoinCodeUnknown = accounts.ErrJoinCodeUnknown
	ErrJoinCodeUsed    = accounts.ErrJoinCodeUsed
	ErrJoinCodeExpired = accounts.ErrJoinCodeExpired
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

// NormalizeJoinCode reads a code as a person typed it: any case, with or
// without the dash or spaces, O for 0 and I or L for 1.
func NormalizeJoinCode(s string) (string, error) { return accounts.NormalizeJoinCode(s) }

// IssueJoinCode makes a one-time join code for ward, valid for ttl. Its
// earlier unused codes stop working: only the last code printed is valid.
func (c *City) IssueJoinCode(ctx context.Context, ward string, ttl time.Duration) (code string, expires time.Time, err error) {
	return c.Accounts.IssueJoinCode(ctx, ward, ttl)
}

// RedeemJoinCode uses a code: the ward gets a new token (its old one stops
// working) and the credentials to sign are returned. from says who asked,
// for the log and for the error a second attempt will get.
func (c *City) RedeemJoinCode(ctx context.Context, code, from string) (JoinCredentials, error) {
	j, err := c.Accounts.RedeemJoinCode(ctx, code, from)
	if err != nil {
		return JoinCredentials{}, err
	}
	cr := JoinCredentials{Format: JoinFormat, Ward: j.Ward.ID, Groups: j.Ward.Groups, Token: j.Token,
		PublicKey: signing.PublicKeyText(c.pub), KeyID: c.keyID, Timezone: c.Config.Timezone, Issued: j.At.UTC()}
	if cr.Groups == nil {
		cr.Groups = []string{}
	}
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
