// Package priority is the station's priority ladder (DESIGN.md §3): the one
// type that says how loud a claim on the speakers is, from the alert that
// the city signs to the bus the engine mixes it on. It is a leaf package so
// that alert, player and audio can all use the same levels, and so that the
// mapping from an alert's word to its level, and the default for an alert
// that names none, are written once.
package priority

import "fmt"

// Level is a rung of the ladder. Higher cuts or lowers lower; equal
// levels take turns, first come first served.
type Level int

const (
	// Idle (0): nothing scheduled.
	Idle Level = 0
	// Program (50): the day's timeline.
	Program Level = 50
	// Test (55): the technician's test tone (the city's test_tone
	// command): above the programs, which it mutes, below everything
	// else; a live voice or an alert cuts it.
	Test Level = 55
	// Live (60): live announcements (stream or line-in), ducking or
	// muting the program.
	Live Level = 60
	// Urgent (80): an urgent alert waits for the current item to end (at
	// most max_wait), then plays.
	Urgent Level = 80
	// Emergency (100): an emergency alert cuts everything within the
	// output latency.
	Emergency Level = 100
)

// AlertDefault is the level of an alert that names no priority.
//
// It is Emergency, the top: an alert is a warning (a storm, a flood), and
// a warning whose priority was lost or left out must never be held behind
// a program for up to max_wait, nor played below what DESIGN.md §3 gives
// alerts. Erring high costs a program a few minutes; erring low can cost
// a warning unheard. (A signed alert always names its priority: the city
// fills in its request default, docs/alerts.md, before signing; this
// default is for the local alert files of `render` and anything else that
// reaches the player without one.)
const AlertDefault = Emergency

// String is the level's name: idle, program, live, urgent, emergency.
func (l Level) String() string {
	switch l {
	case Idle:
		return "idle"
	case Program:
		return "program"
	case Test:
		return "test"
	case Live:
		return "live"
	case Urgent:
		return "urgent"
	case Emergency:
		return "emergency"
	}
	return fmt.Sprintf("Level(%d)", int(l))
}

// ParseAlert is the one mapping of an alert's priority word (a signed
// alert's "priority", a local alert file's `priority:`) to its level:
// "emergency" and "urgent", and "" (none given) to AlertDefault. Any other
// word is an error, and AlertDefault with it, so that a caller that plays
// anyway plays at the top.
func ParseAlert(word string) (Level, error) {
	switch word {
	case "emergency":
		return Emergency, nil
	case "urgent":
		return Urgent, nil
	case "":
		return AlertDefault, nil
	}
	return AlertDefault, fmt.Errorf("priority %q: must be emergency or urgent", word)
}
