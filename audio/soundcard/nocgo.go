//go:build !cgo

package soundcard

// Without cgo there is no ALSA: a build made so (loa-city, loactl, which
// link the agent's renderer but never a sound card) has a card that never
// opens, so that it still compiles as pure Go.

import (
	"context"
	"fmt"
	"time"

	"loa/audio"
)

// DeviceError is a sound card that Probe found unusable.
type DeviceError struct {
	Call   string
	Reason string
}

func (e *DeviceError) Error() string {
	return fmt.Sprintf("sound card: the default ALSA device: %s: %s", e.Call, e.Reason)
}

var errNoCgo = &DeviceError{Call: "build", Reason: "this binary was built without cgo: no ALSA output"}

// Card is never opened in a build without cgo.
type Card struct{}

// Open always fails without cgo.
func Open(rate, channels int, buffer time.Duration, now func() time.Time) (*Card, error) {
	return nil, errNoCgo
}

// Probe always fails without cgo.
func Probe(rate, channels int) error { return errNoCgo }

// ALSAMessages: none without ALSA.
func ALSAMessages() (int, []string) { return 0, nil }

func (c *Card) Latency() time.Duration                         { return 0 }
func (c *Card) SetLatencyAdjust(d time.Duration)               {}
func (c *Card) Name() string                                   { return "none" }
func (c *Card) Anchor() (time.Time, bool)                      { return time.Time{}, false }
func (c *Card) Err() error                                     { return errNoCgo }
func (c *Card) Run(ctx context.Context, e *audio.Engine) error { return errNoCgo }
func (c *Card) Suspend() error                                 { return errNoCgo }
func (c *Card) Resume() error                                  { return errNoCgo }
func (c *Card) Suspended() bool                                { return false }
