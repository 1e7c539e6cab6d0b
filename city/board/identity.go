package board

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"loa/fleet"
	"loa/signing"
)

// The identity alarms on the board (docs/security.md, "Ward identity"): a
// ward key logged in twice (reported by the embedded NATS server), a
// receipt or as-run line its ward's key did not sign, a second receipt
// key offered. Each is counted, logged and flagged on the ward's board
// entry; receipts are judged against heartbeats by loa/fleet.

// identityCounts are the counters behind the identity metrics.
type identityCounts struct {
	mu         sync.Mutex
	duplicates map[string]uint64    // ward → duplicate logins
	refused    map[[3]string]uint64 // ward, kind (receipt|asrun), reason → messages refused
	hbSince    time.Time            // heartbeats taken since (HeartbeatsStarted)
}

// HeartbeatsStarted records that the city's heartbeat intake started now:
// receipts stored before are not judged against heartbeats it never saw.
func (s *Service) HeartbeatsStarted() {
	now := s.now()
	s.ident.mu.Lock()
	s.ident.hbSince = now
	s.ident.mu.Unlock()
}

// HeartbeatsSince is when the city began taking heartbeats (zero: not).
func (s *Service) HeartbeatsSince() time.Time {
	s.ident.mu.Lock()
	defer s.ident.mu.Unlock()
	return s.ident.hbSince
}

// DuplicateLogin takes the NATS server's report of ward's key logged in
// twice: the connection from newRemote replaced the one from oldRemote,
// alive since oldStart.
func (s *Service) DuplicateLogin(ward, oldRemote, newRemote string, oldStart time.Time) {
	f := &s.ident
	f.mu.Lock()
	if f.duplicates == nil {
		f.duplicates = map[string]uint64{}
	}
	f.duplicates[ward]++
	n := f.duplicates[ward]
	f.mu.Unlock()
	s.log.Warn("khoá trạm đăng nhập hai nơi / ward key logged in twice", "ward", ward,
		"old_remote", oldRemote, "new_remote", newRemote, "old_since", oldStart.UTC().Format(time.RFC3339), "count", n)
	s.Board().Flag(ward, fleet.AlarmDuplicateLogin, fmt.Sprintf(
		"khoá trạm đăng nhập hai nơi / ward key logged in twice: %s replaced %s (%d times); re-issue the ward's credentials (loa-city ward code %s)",
		newRemote, oldRemote, n, ward), s.now())
}

// RefuseSigned counts, logs and flags a message of kind (receipt, asrun)
// on ward's subject that its key did not sign (err says how).
func (s *Service) RefuseSigned(ward, kind string, err error) {
	reason := "unsigned"
	switch {
	case errors.Is(err, signing.ErrBadSignature):
		reason = "bad_signature"
	case errors.Is(err, signing.ErrUnknownKey):
		reason = "unknown_key"
	}
	f := &s.ident
	f.mu.Lock()
	if f.refused == nil {
		f.refused = map[[3]string]uint64{}
	}
	f.refused[[3]string{ward, kind, reason}]++
	f.mu.Unlock()
	s.log.Warn("báo nhận giả mạo / forged message refused: not signed by the ward's key", "ward", ward, "kind", kind, "reason", reason, "err", err)
	what := "báo nhận / receipt"
	if kind == "asrun" {
		what = "nhật ký phát sóng / as-run line"
	}
	s.Board().Flag(ward, fleet.AlarmForged, fmt.Sprintf("%s giả mạo / forged %s refused (%s): someone else publishes as this ward", what, kind, reason), s.now())
}

// Flag raises an identity alarm of kind (fleet.Alarm...) on ward's board
// entry.
func (s *Service) Flag(ward, kind, detail string) {
	s.Board().Flag(ward, kind, detail, s.now())
}
