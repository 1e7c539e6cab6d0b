package agent

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"loa/city/api"
	"loa/signing"
)

// cityClock measures how far the city's clock is from this machine's. When
// the kernel has no NTP sync (a Pi on a network without it), the city is
// the reference: the station runs on the city's time, measured over HTTP
// with the round trip halved (±RTT/2, a few tens of milliseconds on 3G).
//
// The answer is trusted only when it is signed by a city key from the
// ward's configuration and carries the random nonce this ward sent: an
// answer rewritten on the way fails the signature, one recorded earlier
// and played back fails the nonce. An unsigned answer (an older city, or
// someone stripping the signature) is refused, never used as a fallback.
type cityClock struct {
	url  string
	http *http.Client
	now  func() time.Time // this machine's clock
	keys []ed25519.PublicKey
}

// Why a city time answer was refused: the metric's reason label.
var (
	errTimeUnsigned = errors.New("the answer is not signed")
	errTimeSig      = errors.New("the answer's signature does not verify under the city's key")
	errTimeNonce    = errors.New("the answer does not carry this request's nonce (replayed?)")
)

// timeRefusal is the label of a refused time answer, "" for other errors
// (network, HTTP status).
func timeRefusal(err error) string {
	switch {
	case errors.Is(err, errTimeUnsigned):
		return "unsigned"
	case errors.Is(err, errTimeSig):
		return "signature"
	case errors.Is(err, errTimeNonce):
		return "nonce"
	}
	return ""
}

// measure asks the city for its time a few times and keeps the exchange
// with the shortest round trip. One refused answer (forged, replayed)
// fails the whole measurement: a path that lies once is not used.
func (c cityClock) measure(ctx context.Context) (offset, rtt time.Duration, err error) {
	best := time.Duration(-1)
	for i := 0; i < 5; i++ {
		o, r, e := c.once(ctx)
		if e != nil {
			if timeRefusal(e) != "" {
				return 0, 0, e
			}
			err = e
			continue
		}
		if best < 0 || r < best {
			best, offset = r, o
		}
	}
	if best < 0 {
		return 0, 0, err
	}
	return offset, best, nil
}

func (c cityClock) once(ctx context.Context) (time.Duration, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var nb [16]byte
	if _, err := rand.Read(nb[:]); err != nil {
		return 0, 0, err
	}
	nonce := hex.EncodeToString(nb[:])
	req, err := http.NewRequestWithContext(ctx, "GET", strings.TrimRight(c.url, "/")+"/api/v1/time?nonce="+url.QueryEscape(nonce), nil)
	if err != nil {
		return 0, 0, err
	}
	t0 := c.now()
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, 0, fmt.Errorf("city time: HTTP %s", resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	t1 := c.now()
	if err != nil {
		return 0, 0, fmt.Errorf("city time: %w", err)
	}
	st, err := c.verify(body, nonce)
	if err != nil {
		return 0, 0, fmt.Errorf("city time: %w", err)
	}
	rtt := t1.Sub(t0)
	mid := t0.Add(rtt / 2)
	return time.Unix(0, st.UnixNano).Sub(mid), rtt, nil
}

// verify checks a time answer: a city-signed envelope over an
// api.SignedTime holding nonce.
func (c cityClock) verify(body []byte, nonce string) (api.SignedTime, error) {
	var st api.SignedTime
	var env signing.Envelope
	if err := json.Unmarshal(body, &env); err != nil || len(env.Payload) == 0 || len(env.Signature) == 0 {
		return st, errTimeUnsigned
	}
	payload, err := signing.Verify(env, c.keys...)
	if err != nil {
		return st, fmt.Errorf("%w (%v)", errTimeSig, err)
	}
	if err := json.Unmarshal(payload, &st); err != nil || st.Kind != api.TimeKind || st.UnixNano <= 0 {
		return st, fmt.Errorf("%w (not a time answer)", errTimeSig)
	}
	if st.Nonce != nonce {
		return st, errTimeNonce
	}
	return st, nil
}

// doctorCityTime measures the city's signed time once for `loa-agent
// doctor`.
func doctorCityTime(ctx context.Context, cfg Config) (bool, string) {
	var keys []ed25519.PublicKey
	for _, k := range strings.FieldsFunc(cfg.City.PublicKey, func(r rune) bool { return r == ',' || r == ' ' }) {
		pub, err := signing.ParsePublicKey(k)
		if err != nil {
			return false, "city.public_key: " + err.Error()
		}
		keys = append(keys, pub)
	}
	d := &Daemon{Cfg: cfg}
	cc := cityClock{url: cfg.City.URL, http: d.cityHTTP(5 * time.Second), now: time.Now, keys: keys}
	off, rtt, err := cc.measure(ctx)
	if err != nil {
		return false, "the city's signed time: " + err.Error()
	}
	return true, fmt.Sprintf("the city's signed time verifies: this machine is off by %s (±%s); the daemon runs on the city's clock",
		(-off).Round(time.Millisecond), (rtt / 2).Round(time.Millisecond))
}
