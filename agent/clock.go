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
	Source  string `json:"source"` // ntp | config | city | none
	// Offset is the correction applied to this machine's clock (city).
	Offset time.Duration `json:"offset_ns,omitempty"`
	// MaxError is the kernel's bound on the clock's error (NTP), when known.
	MaxError time.Duration `json:"max_error_ns,omitempty"`
	Detail   string        `json:"detail,omitempty"`
	// Problem, when set, is why the clock is off although it may still be
	// trusted: a city time answer refused (forged, replayed, unsigned) or
	// a correction beyond clock_max_step held back. Status shows it as
	// "Lệch giờ / clock off".
	Problem string `json:"problem,omitempty"`
	// ProblemKind is the problem in a word: signature, nonce, unsigned
	// (a city time answer refused) or step (a step held back).
	ProblemKind string `json:"problem_kind,omitempty"`
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
// (a machine with a real-time clock), `clock: city` (the city's signed
// time whatever the kernel says: the kernel's clock is reported untrusted,
// so the daemon asks the city) or the kernel's NTP state.
func clockCheck(mode string) func() ClockState {
	switch mode {
	case "trust":
		return func() ClockState { return ClockState{Trusted: true, Source: "config"} }
	case "city":
		return func() ClockState {
			return ClockState{Source: "none", Detail: "clock: city: waiting for the city's signed time"}
		}
	}
	return KernelClock
}

// jumpDetector notices the wall clock moving by itself: between two
// readings, the wall clock and the monotonic clock must agree.
type jumpDetector struct {
	wall, mono time.Time
}

// observe takes a wall-clock reading and a monotonic one (time.Now()) taken
// together, and returns how far the wall clock jumped since the last pair.
func (j *jumpDetector) observe(wall, mono time.Time) time.Duration {
	defer func() { j.wall, j.mono = wall, mono }()
	if j.mono.IsZero() {
		return 0
	}
	return wall.Round(0).Sub(j.wall.Round(0)) - mono.Sub(j.mono)
}
