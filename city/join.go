package city

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"time"

	"loa/city/accounts"
	"loa/city/api"
	"loa/signing"
)

// Join codes provision a ward without copying secrets by hand; the codes
// themselves (made, kept as an HMAC, used once, expiring) are
// city/accounts'; the route, its rate limit and the signing of the
// answer are city/httpapi's. Here: the credentials a code gives (with the
// ward's NATS link and TLS pins), and the CLI's `ward code`.

// DefaultJoinTTL is how long a join code stays valid.
const DefaultJoinTTL = accounts.DefaultJoinTTL

// JoinFormat is the version of the join answer's payload (city/api).
const JoinFormat = api.JoinFormat

type (
	// JoinRequest is the body of POST /api/v1/join.
	JoinRequest = api.JoinRequest
	// JoinCredentials is what a ward receives for a valid code, signed.
	JoinCredentials = api.JoinCredentials
)

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

// apiJoins is POST /api/v1/join's work behind httpapi.Joins: the code
// redeemed, then the ward's NATS link and the TLS pins added.
type apiJoins struct{ c *City }

func (j apiJoins) Join(ctx context.Context, code, from, host string) (JoinCredentials, error) {
	c := j.c
	cr, err := c.RedeemJoinCode(ctx, code, from)
	if err != nil {
		return cr, err
	}
	if err := c.joinNATS(ctx, &cr, host); err != nil {
		return cr, err
	}
	cr.TLSPin = c.TLSPin()
	return cr, nil
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
