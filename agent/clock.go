package agent

import (
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// ClockState says whether the wall clock can be trusted for scheduling. A
// Raspberry Pi has no real-time clock: it boots with the time it had when it
// last shut down, and only NTP (or the city) corrects it.
type ClockState struct {
	Trusted bool   `json:"trusted"`
	Source  string `json:"source"` // ntp | config | none
	// MaxError is the kernel's bound on the clock's error (NTP), when known.
	MaxError time.Duration `json:"max_error_ns,omitempty"`
	Detail   string        `json:"detail,omitempty"`
}

// staUnsync is STA_UNSYNC of adjtimex(2): the kernel clock is not
// synchronised.
const staUnsync = 0x0040

// timeError is TIME_ERROR, the adjtimex state of an unsynchronised clock.
const timeError = 5

// KernelClock asks the kernel (adjtimex) whether NTP has synchronised the
// clock: systemd-timesyncd, chrony and ntpd all report through it.
func KernelClock() ClockState {
	var tx unix.Timex
	state, err := unix.Adjtimex(&tx)
	if err != nil {
		return ClockState{Source: "none", Detail: fmt.Sprintf("adjtimex: %v", err)}
	}
	if state == timeError || tx.Status&staUnsync != 0 {
		return ClockState{Source: "none", Detail: "the kernel clock is not synchronised by NTP"}
	}
	return ClockState{Trusted: true, Source: "ntp", MaxError: time.Duration(tx.Maxerror) * time.Microsecond}
}

// clockCheck returns the clock check for a configuration: `clock: trust`
// (a machine with a real-time clock) or the kernel's NTP state.
func clockCheck(mode string) func() ClockState {
	if mode == "trust" {
		return func() ClockState { return ClockState{Trusted: true, Source: "config"} }
	}
	return KernelClock
}

// jumpDetector notices the wall clock moving by itself: between two
// readings, the wall clock and the monotonic clock must agree.
type jumpDetector struct {
	last time.Time
}

// observe returns how far the wall clock jumped since the last reading
// (0 when it did not). now must carry a monotonic reading (time.Now()).
func (j *jumpDetector) observe(now time.Time) time.Duration {
	defer func() { j.last = now }()
	if j.last.IsZero() {
		return 0
	}
	wall := now.Round(0).Sub(j.last.Round(0))
	mono := now.Sub(j.last)
	return wall - mono
}
