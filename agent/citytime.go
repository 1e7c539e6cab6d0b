package agent

import (
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// stepAgree is how many successive measurements must agree on a step
// larger than clock_max_step, within stepTolerance, before it is applied.
const (
	stepAgree     = 3
	stepTolerance = 2 * time.Second
)

// Measurement intervals of the city's clock: until the first success,
// and while a problem stands (a large step waiting for agreement, an
// answer refused), at most these; otherwise clock_poll.
const (
	cityTimeFirst   = 15 * time.Second
	cityTimeConfirm = time.Minute
	// cityTimeStale: a city offset older than this no longer makes the
	// clock trusted.
	cityTimeStale = time.Hour
)

// cityTimeKeeper decides which of the city's clock measurements the
// station applies. It reads no clock and starts nothing: the daemon gives
// it each measurement with the machine's wall and monotonic readings
// taken together, so that tests drive it on virtual time.
//
// The rule: the first verified measurement since the agent started is
// applied whatever its size (a Pi without a real-time clock boots with the
// time it had at its last shutdown, days off: the first step is
// legitimately large). Once the clock has been set this way, a correction
// larger than maxStep is not applied: it is logged, counted and shown as
// "Lệch giờ / clock off", and applied only when stepAgree successive
// measurements (a minute apart) agree on it, or at the next restart. A
// step of the machine's own clock (someone ran date, NTP stepped it) is
// taken out first: the station's clock did not move with the city's
// answer then, the machine's did.
type cityTimeKeeper struct {
	maxStep time.Duration
	// every is the interval between measurements (clock_poll).
	every time.Duration
	log   *slog.Logger
	// refused counts refused answers and steps by reason (signature,
	// nonce, unsigned, step).
	refused func(reason string)

	mu       sync.Mutex
	have     bool
	offset   time.Duration // applied: station clock = machine clock + offset
	rtt      time.Duration
	wall     time.Time     // machine wall clock at the last applied measurement (no monotonic reading)
	mono     time.Duration // monotonic reading then
	measured time.Duration // monotonic reading of the last applied measurement
	pending  []time.Duration
	problem  string
	kind     string // of problem
}

// cityTimeSample is one measurement: the city's clock minus the machine's
// (offset) and its round trip, or why it failed; wall and mono are the
// machine's clocks read together when it was taken.
type cityTimeSample struct {
	offset, rtt time.Duration
	err         error
	wall        time.Time
	mono        time.Duration
}

// apply takes a measurement and returns the offset the station runs on
// and whether it changed.
func (k *cityTimeKeeper) apply(s cityTimeSample) (time.Duration, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if s.err != nil {
		if reason := timeRefusal(s.err); reason != "" {
			k.count(reason)
			k.problem = "thời gian của thành phố bị từ chối / the city's time answer was refused: " + s.err.Error()
			k.kind = reason
			k.log.Warn("city time refused: the station's clock is not changed", "reason", reason, "err", s.err)
		} else {
			k.log.Warn("city clock not reachable", "err", s.err)
		}
		return k.offset, false
	}
	if !k.have {
		k.set(s)
		k.log.Info("clock set from the city's signed time", "step", s.offset.Round(time.Millisecond), "rtt", s.rtt)
		return k.offset, true
	}
	// What the offset would be now had the city's clock and ours stayed
	// together: the machine's own steps since the last measurement moved
	// it.
	machineStep := s.wall.Round(0).Sub(k.wall) - (s.mono - k.mono)
	expected := k.offset - machineStep
	step := s.offset - expected
	if step.Abs() <= k.maxStep {
		k.set(s)
		return k.offset, true
	}
	k.pending = append(k.pending, step)
	agree := len(k.pending) >= stepAgree
	if agree {
		for _, p := range k.pending[len(k.pending)-stepAgree:] {
			if (p - step).Abs() > stepTolerance {
				agree = false
			}
		}
	}
	if agree {
		k.log.Warn("clock step beyond clock_max_step applied: measurements agreed", "step", step.Round(time.Millisecond),
			"measurements", len(k.pending), "max_step", k.maxStep)
		k.set(s)
		return k.offset, true
	}
	k.count("step")
	k.kind = "step"
	k.problem = fmt.Sprintf("đồng hồ thành phố lệch %s / the city's clock says this station is %s off: a step beyond clock_max_step (%s) is not applied until %d measurements agree (or the agent restarts)",
		step.Round(time.Second), step.Round(time.Second), k.maxStep, stepAgree)
	k.log.Warn("clock step refused: beyond clock_max_step", "step", step.Round(time.Millisecond), "max_step", k.maxStep,
		"measurements", len(k.pending))
	return k.offset, false
}

func (k *cityTimeKeeper) set(s cityTimeSample) {
	k.have, k.offset, k.rtt = true, s.offset, s.rtt
	k.wall, k.mono, k.measured = s.wall.Round(0), s.mono, s.mono
	k.pending, k.problem, k.kind = nil, "", ""
}

func (k *cityTimeKeeper) count(reason string) {
	if k.refused != nil {
		k.refused(reason)
	}
}

// due is how long after the last attempt the next measurement is due.
func (k *cityTimeKeeper) due() time.Duration {
	k.mu.Lock()
	defer k.mu.Unlock()
	switch {
	case !k.have:
		return min(cityTimeFirst, k.every)
	case len(k.pending) > 0 || k.problem != "":
		return min(cityTimeConfirm, k.every)
	}
	return k.every
}

// state is the clock's state for a machine whose kernel clock is not
// trusted (kernel), at monotonic reading mono.
func (k *cityTimeKeeper) state(kernel ClockState, mono time.Duration) ClockState {
	k.mu.Lock()
	defer k.mu.Unlock()
	if !k.have || mono-k.measured > cityTimeStale {
		kernel.Detail += "; the city's signed time is not available either"
		kernel.Problem, kernel.ProblemKind = k.problem, k.kind
		return kernel
	}
	return ClockState{Trusted: true, Source: "city", Offset: k.offset, MaxError: k.rtt / 2,
		Detail: "no NTP sync on this machine: running on the city's signed time", Problem: k.problem, ProblemKind: k.kind}
}
