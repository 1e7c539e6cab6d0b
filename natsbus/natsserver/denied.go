package natsserver

import (
	"context"
	"fmt"
	"regexp"
	"sync"
	"time"
)

// Denial is an attempt the server refused for lack of permission: a
// publish or subscription outside the client's rights.
type Denial struct {
	// Ward is the ward whose key made the attempt ("" for a key that is
	// no ward's: the city's, an admin's).
	Ward string
	NKey string
	// Kind is "publish", "subscribe" or "reply".
	Kind    string
	Subject string
	// Remote is the client's address.
	Remote string
}

// The server logs a refusal as (client.go, pubPermissionViolation):
//
//	127.0.0.1:4711 - cid:9 - "v1.55.0:go:loa-agent" - "$G/nkey:UA…" - Publish Violation - Subject "loa.alert.all"
//
// with no word of whose key it is beyond the NKEY; the ward is found from
// that key.
var violationRe = regexp.MustCompile(`^(\S+) - cid:\d+ .*"[^"]*nkey:(U[A-Z2-7]{55})" - (Publish|Subscription) Violation - (Subject|Reply) "([^"]*)"`)

// denials turns the server's refusal log lines into Denials: the ward
// named (its key looked up once, then remembered), a log line that names
// it (at most one a minute per ward, with the count since), and the
// Config.Denied hook.
type denials struct {
	cfg *Config

	mu     sync.Mutex
	wards  map[string]string // NKEY → ward ("": none)
	logged map[string]*deniedLog
}

type deniedLog struct {
	at      time.Time
	skipped int
}

func newDenials(cfg *Config) *denials {
	return &denials{cfg: cfg, wards: map[string]string{}, logged: map[string]*deniedLog{}}
}

// parse reads a server log line; ok false: not a refusal.
func parseViolation(line string) (Denial, bool) {
	m := violationRe.FindStringSubmatch(line)
	if m == nil {
		return Denial{}, false
	}
	d := Denial{Remote: m[1], NKey: m[2], Subject: m[5]}
	switch {
	case m[4] == "Reply":
		d.Kind = "reply"
	case m[3] == "Publish":
		d.Kind = "publish"
	default:
		d.Kind = "subscribe"
	}
	return d, true
}

// take handles a server error line; it reports whether the line was a
// refusal (then logged here, not by the caller).
func (ds *denials) take(line string) bool {
	d, ok := parseViolation(line)
	if !ok {
		return false
	}
	d.Ward = ds.ward(d.NKey)
	if ds.cfg.Denied != nil {
		ds.cfg.Denied(d)
	}
	who := d.Ward
	if who == "" {
		who = "(not a ward) " + d.NKey
	}
	ds.mu.Lock()
	l := ds.logged[who]
	if l == nil {
		l = &deniedLog{}
		ds.logged[who] = l
	}
	now := time.Now()
	if !l.at.IsZero() && now.Sub(l.at) < time.Minute {
		l.skipped++
		ds.mu.Unlock()
		return true
	}
	skipped := l.skipped
	l.at, l.skipped = now, 0
	ds.mu.Unlock()
	args := []any{"ward", d.Ward, "kind", d.Kind, "subject", d.Subject, "remote", d.Remote}
	if d.Ward == "" {
		args = append(args, "nkey", d.NKey)
	}
	if skipped > 0 {
		args = append(args, "more_refused_in_the_last_minute", skipped)
	}
	ds.cfg.Log.Warn(fmt.Sprintf("nats: %s refused: no permission", d.Kind), args...)
	return true
}

// ward finds whose key nkey is; the answer is kept (a ward's key is
// re-issued rarely, and a refused attempt every microsecond must not be a
// database read each).
func (ds *denials) ward(nkey string) string {
	ds.mu.Lock()
	w, ok := ds.wards[nkey]
	ds.mu.Unlock()
	if ok {
		return w
	}
	admin := nkey == ds.cfg.CityKey
	for _, k := range ds.cfg.AdminKeys {
		admin = admin || k == nkey
	}
	if !admin && ds.cfg.Wards != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		var err error
		w, _, err = ds.cfg.Wards.WardByNKey(ctx, nkey)
		cancel()
		if err != nil {
			return "" // asked again next time
		}
	}
	ds.mu.Lock()
	if len(ds.wards) > 100000 {
		clear(ds.wards)
	}
	ds.wards[nkey] = w
	ds.mu.Unlock()
	return w
}
