package agent

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// The GPIO is a mock here: the Amplifier's run hook records the commands
// it would give the shell (`pinctrl set 17 op dh` / `dl` on a Pi). The
// commands really run through /bin/sh in TestDaemonAmplifierCommands.
func mockAmplifier(t *testing.T) (*Amplifier, *[]string) {
	t.Helper()
	a := NewAmplifier(AmplifierConfig{On: "gpio on", Off: "gpio off", PreRoll: Duration(3 * time.Second), OffDelay: Duration(30 * time.Second)},
		slog.New(slog.DiscardHandler))
	var ran []string
	a.run = func(_ context.Context, cmd string) error { ran = append(ran, cmd); return nil }
	return a, &ran
}

// The city's amplifier command overrides the automatic decision for its
// duration, then the automatic decision comes back; forced off, an alert
// still powers the amplifier (a warning must sound), and it goes off again
// after the alert while the override lasts.
func TestAmplifierForcedThenAutomatic(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	a, ran := mockAmplifier(t)
	powered := func() bool { p, _ := a.State(); return p }

	// Idle: off (automatic).
	a.Update(ctx, at(0), false, false, time.Time{})
	if powered() {
		t.Fatal("idle amplifier on")
	}
	// Forced on for 60 s while idle: on.
	a.Force(true, at(60))
	a.Update(ctx, at(1), false, false, time.Time{})
	if !powered() {
		t.Fatal("forced on, but off")
	}
	if on, until, ok := a.Forced(at(1)); !ok || !on || !until.Equal(at(60)) {
		t.Fatalf("Forced: %v %v %v", on, until, ok)
	}
	a.Update(ctx, at(59), false, false, time.Time{})
	if !powered() {
		t.Fatal("forced on went off before its end")
	}
	// Back to automatic: idle, off.
	a.Update(ctx, at(60), false, false, time.Time{})
	if powered() {
		t.Fatal("still on after the override ended, idle")
	}
	if _, _, ok := a.Forced(at(60)); ok {
		t.Fatal("override still reported after its end")
	}

	// Forced off while a program plays: off.
	a.Update(ctx, at(100), true, false, time.Time{})
	if !powered() {
		t.Fatal("program playing, amplifier off (automatic)")
	}
	a.Force(false, at(200))
	a.Update(ctx, at(101), true, false, time.Time{})
	if powered() {
		t.Fatal("forced off, but on while a program plays")
	}
	// An alert: on, override or not.
	a.Update(ctx, at(110), true, true, time.Time{})
	if !powered() {
		t.Fatal("forced off: an alert did not power the amplifier")
	}
	// The alert over, the override still holds: off again.
	a.Update(ctx, at(120), true, false, time.Time{})
	if powered() {
		t.Fatal("forced off: on after the alert ended")
	}
	// The override over: automatic (a program playing): on.
	a.Update(ctx, at(200), true, false, time.Time{})
	if !powered() {
		t.Fatal("automatic again with a program playing, but off")
	}
	// The first decision (idle) switches it off: its state at start is unknown.
	want := "gpio off,gpio on,gpio off,gpio on,gpio off,gpio on,gpio off,gpio on"
	if got := strings.Join(*ran, ","); got != want {
		t.Errorf("GPIO commands %q, want %q", got, want)
	}
}

// Force(…, zero) ends an override at once.
func TestAmplifierForceCancelled(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)
	a, _ := mockAmplifier(t)
	a.Force(true, t0.Add(time.Hour))
	a.Update(ctx, t0, false, false, time.Time{})
	a.Force(false, time.Time{})
	a.Update(ctx, t0.Add(time.Second), false, false, time.Time{})
	if p, _ := a.State(); p {
		t.Fatal("override cancelled, idle: still on")
	}
}
