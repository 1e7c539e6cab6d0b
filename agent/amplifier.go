package agent

import (
	"context"
	"log/slog"
	"os/exec"
	"sync"
	"time"
)

// Amplifier switches the amplifier's power with the configured commands
// (for example `pinctrl set 17 op dh`; see docs/hardware.md): on a pre-roll before sound is
// due, off a while after the last sound. With no commands configured it
// only keeps the state for status.
type Amplifier struct {
	on, off  string
	preRoll  time.Duration
	offDelay time.Duration
	log      *slog.Logger

	mu        sync.Mutex
	powered   bool
	known     bool
	lastSound time.Time
	lastErr   string
	// The city's amplifier command: forced on or off until forceUntil
	// (zero: automatic).
	forceOn    bool
	forceUntil time.Time
	run        func(ctx context.Context, cmd string) error
}

// Force overrides the automatic decision until `until`: the amplifier
// stays powered (on) or off whatever plays, then goes back to automatic.
// Forced off, it still powers up for an alert: a warning must sound.
// A zero until ends an override at once.
func (a *Amplifier) Force(on bool, until time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.forceOn, a.forceUntil = on, until
	a.known = false // decided again at the next Update, even if unchanged
}

// Forced reports the override in force at now (ok false: automatic).
func (a *Amplifier) Forced(now time.Time) (on bool, until time.Time, ok bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !now.Before(a.forceUntil) {
		return false, time.Time{}, false
	}
	return a.forceOn, a.forceUntil, true
}

// NewAmplifier makes the amplifier control.
func NewAmplifier(cfg AmplifierConfig, log *slog.Logger) *Amplifier {
	return &Amplifier{on: cfg.On, off: cfg.Off, preRoll: cfg.PreRoll.D(), offDelay: cfg.OffDelay.D(), log: log, run: runShell}
}

func runShell(ctx context.Context, cmd string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "/bin/sh", "-c", cmd).CombinedOutput()
	if err != nil && len(out) > 0 {
		return &cmdError{err: err, out: string(out)}
	}
	return err
}

type cmdError struct {
	err error
	out string
}

func (e *cmdError) Error() string { return e.err.Error() + ": " + e.out }

// Update decides the power from what is happening: sounding is true while
// something plays, alert while an alert is on air or waiting to play,
// nextSound is when something is due (zero: nothing). An override (Force)
// decides instead while it lasts, except that an alert always powers the
// amplifier.
func (a *Amplifier) Update(ctx context.Context, now time.Time, sounding, alert bool, nextSound time.Time) {
	a.mu.Lock()
	if sounding || alert {
		a.lastSound = now
	}
	due := !nextSound.IsZero() && nextSound.Sub(now) <= a.preRoll
	want := sounding || alert || due || (!a.lastSound.IsZero() && now.Sub(a.lastSound) < a.offDelay)
	if now.Before(a.forceUntil) {
		want = a.forceOn || alert
	} else if !a.forceUntil.IsZero() {
		a.forceUntil = time.Time{}
		a.log.Info("amplifier back to automatic")
	}
	if a.known && want == a.powered {
		a.mu.Unlock()
		return
	}
	if !a.known && !want && a.off == "" {
		a.known = true
		a.mu.Unlock()
		return
	}
	a.powered, a.known = want, true
	cmd := a.off
	if want {
		cmd = a.on
	}
	a.mu.Unlock()
	if cmd == "" {
		return
	}
	err := a.run(ctx, cmd)
	a.mu.Lock()
	defer a.mu.Unlock()
	state := "off"
	if want {
		state = "on"
	}
	if err != nil {
		a.lastErr = err.Error()
		a.log.Error("amplifier command failed", "state", state, "cmd", cmd, "err", err)
		a.known = false // try again next time
		return
	}
	a.lastErr = ""
	a.log.Info("amplifier "+state, "cmd", cmd)
}

// State reports whether the amplifier is powered and the last command error.
func (a *Amplifier) State() (powered bool, lastErr string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.powered, a.lastErr
}
