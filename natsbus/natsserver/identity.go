package natsserver

import (
	"net"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// One live connection per ward identity.
//
// A ward's NKEY is its identity on the bus: whoever holds the seed may pull
// and acknowledge the ward's alerts. A copied seed used beside the real
// station would share the ward's consumer with it, and could take an alert
// off the queue before the station saw it. The embedded server therefore
// keeps one connection per ward key: a new login closes the older ones
// ("kick the first").
//
// Why kick rather than refuse the newcomer: a Raspberry Pi that lost power
// or its 3G link leaves a half-open TCP connection at the city, which the
// server notices only after its pings go unanswered (up to a minute). A
// policy of refusing the second login would lock the rebooted station out
// of its own alerts for that minute; worse, a copy that logged in while
// the station was briefly offline would hold the ward's place for as long
// as it liked. Kicking the older connection lets the real station back in
// at once, every time (the agent reconnects within a second); two holders
// of one key then take turns, and every turn is reported, so the city sees
// the copy at once and re-issues the ward's credentials (a new join code).
//
// Whether a replacement is a duplicate login or a reboot is told by the
// older connection's last activity: a live ward publishes a heartbeat every
// 15 s and pulls its consumer, so a connection quiet for ActiveWindow is a
// dead socket, replaced without alarm.

// DuplicateLogin is a ward login that replaced a live connection of the
// same ward.
type DuplicateLogin struct {
	Ward string
	// Old is the remote address of the connection closed, New the one
	// that replaced it (host:port).
	Old, New string
	// OldStart and OldActivity are when the closed connection began and
	// last sent something.
	OldStart, OldActivity time.Time
	At                    time.Time
}

// takeover closes every connection made with the ward's key nkey but the
// newest, once a connection with it is logged in, and reports those that
// were still alive.
func (a *authenticator) takeover(ward, nkey string) {
	a.takeMu.Lock()
	defer a.takeMu.Unlock()
	// Connz copies the server's client list: a scan of every connection,
	// paid only by a ward's second and later logins.
	cz, err := a.srv.Connz(&server.ConnzOptions{User: nkey, Username: true, State: server.ConnOpen, Sort: server.ByCid, Limit: 1 << 16})
	if err != nil {
		a.cfg.Log.Warn("ward connections not listed", "ward", ward, "err", err)
		return
	}
	var conns []*server.ConnInfo
	authed := map[string]bool{}
	for _, ci := range cz.Conns {
		addr := net.JoinHostPort(ci.IP, strconv.Itoa(ci.Port))
		if a.authed[nkey][addr] {
			conns = append(conns, ci)
			authed[addr] = true
		}
	}
	a.authed[nkey] = authed
	if len(conns) < 2 {
		return
	}
	// The newest connection stays (connection ids grow), whichever
	// login's takeover runs first.
	keep := conns[0]
	for _, ci := range conns {
		if ci.Cid > keep.Cid {
			keep = ci
		}
	}
	newAddr := net.JoinHostPort(keep.IP, strconv.Itoa(keep.Port))
	now := time.Now()
	for _, ci := range conns {
		if ci.Cid == keep.Cid {
			continue
		}
		old := net.JoinHostPort(ci.IP, strconv.Itoa(ci.Port))
		if err := a.srv.DisconnectClientByID(ci.Cid); err != nil {
			continue // closed meanwhile
		}
		if now.Sub(ci.LastActivity) > a.cfg.ActiveWindow {
			a.cfg.Log.Info("ward reconnected: its idle earlier connection closed", "ward", ward,
				"old_remote", old, "remote", newAddr, "idle", now.Sub(ci.LastActivity).Round(time.Second))
			continue
		}
		if a.cfg.OnDuplicate == nil {
			a.cfg.Log.Warn("khoá trạm đăng nhập hai nơi / ward key logged in twice: the earlier connection was closed",
				"ward", ward, "old_remote", old, "remote", newAddr, "old_since", ci.Start.Format(time.RFC3339))
			continue
		}
		a.cfg.OnDuplicate(DuplicateLogin{Ward: ward, Old: old, New: newAddr, OldStart: ci.Start, OldActivity: ci.LastActivity, At: now})
	}
}

// loggedIn notes a login of nkey from addr that passed Check, and says
// whether it may have replaced another (not the key's first since the
// server started).
func (a *authenticator) loggedIn(nkey, addr string) bool {
	a.takeMu.Lock()
	defer a.takeMu.Unlock()
	if a.authed == nil {
		a.authed = map[string]map[string]bool{}
	}
	m, seen := a.authed[nkey]
	if m == nil {
		m = map[string]bool{}
		a.authed[nkey] = m
	}
	m[addr] = true
	return seen
}
