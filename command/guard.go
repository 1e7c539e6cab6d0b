package command

import (
	"crypto/ed25519"
	"fmt"
	"time"
)

// Seen is the ward's record of the command ids it accepted: a replay of
// one is refused. It must survive restarts.
type Seen interface {
	Seen(id string) bool
	// Remember records id until expires (after which Guard refuses the
	// command as expired anyway).
	Remember(id string, expires time.Time) error
}

// Guard is a ward's check of the commands it receives, in order: signed,
// by a key from the ward's own configuration, well formed, addressed to
// the ward, not expired, never accepted before.
type Guard struct {
	Ward string
	Keys []ed25519.PublicKey
	Seen Seen
}

// Refusal is why Guard refused a command, ready to ack.
type Refusal struct {
	Ack Ack
	Err error
}

func (r *Refusal) Error() string { return r.Ack.Reason + ": " + r.Err.Error() }

// Accept returns the command data carries if the ward must execute it;
// else a *Refusal whose Ack reports why. An accepted command is recorded
// as seen before it is returned: executing it twice is worse than not at
// all for stop_all's mute.
func (g *Guard) Accept(data []byte, now time.Time) (*Command, error) {
	refuse := func(id string, verified bool, kind Kind, reason string, err error) (*Command, error) {
		return nil, &Refusal{Err: err, Ack: Ack{Command: id, Verified: verified, Ward: g.Ward, State: Refused,
			Reason: reason, At: now, Kind: kind}}
	}
	c, claimed, err := Open(data, g.Keys...)
	if err != nil {
		return refuse(claimed, false, "", Reason(err), err)
	}
	switch {
	case !c.For(g.Ward):
		return refuse(c.ID, true, c.Kind, ReasonNotAddressed, fmt.Errorf("command %s is for %s, not %s", c.ID, c.To, g.Ward))
	case !now.Before(c.Expires):
		return refuse(c.ID, true, c.Kind, ReasonExpired, fmt.Errorf("command %s expired at %s", c.ID, c.Expires.Format(time.RFC3339)))
	case g.Seen.Seen(c.ID):
		return refuse(c.ID, true, c.Kind, ReasonReplay, fmt.Errorf("command %s was received before", c.ID))
	}
	if err := g.Seen.Remember(c.ID, c.Expires); err != nil {
		return nil, fmt.Errorf("command %s: recording it: %w", c.ID, err)
	}
	return c, nil
}
