package schedule

import (
	"fmt"
	"time"
)

// MediaRef is a media reference as written in a program file. Ref and Line
// come from the file; Key and Duration are filled by File.Resolve.
type MediaRef struct {
	Ref  string
	Line int
	// Key names the media in the station's store (a sha256 for the
	// content-addressed store). Empty until resolved.
	Key      string
	Duration time.Duration
}

// Media is what a MediaResolver knows about one media reference.
type Media struct {
	Key      string
	Duration time.Duration
}

// MediaResolver finds media and measures it. baseDir is the directory of the
// program file (media paths are relative to it); a city resolver may instead
// read ref as a name or sha256. Its error text is shown to the operator after
// "FILE:LINE: media REF: ", so it should say what is wrong ("no such file",
// "not an audio file"), not repeat the reference.
type MediaResolver interface {
	Resolve(baseDir, ref string) (Media, error)
}

// Priority orders programs: a higher priority cuts a lower one. It is not a
// rung of the station's ladder (loa/priority): every program plays at
// priority.Program (50), and this ranks programs among themselves there
// (a program file's `priority: normal | urgent`).
type Priority int

const (
	PriorityNormal Priority = iota
	PriorityUrgent
)

func (p Priority) String() string {
	switch p {
	case PriorityNormal:
		return "normal"
	case PriorityUrgent:
		return "urgent"
	}
	return fmt.Sprintf("Priority(%d)", int(p))
}

// LatePolicy says what the agent does when it starts (boot, restart, clock
// correction) inside a program's window.
type LatePolicy int

const (
	// LateJoin plays from where the wall clock says the program is.
	LateJoin LatePolicy = iota
	// LateRestart plays the program from its beginning.
	LateRestart
	// LateSkip leaves the rest of the program silent.
	LateSkip
)

func (l LatePolicy) String() string {
	switch l {
	case LateJoin:
		return "join"
	case LateRestart:
		return "restart"
	case LateSkip:
		return "skip"
	}
	return fmt.Sprintf("LatePolicy(%d)", int(l))
}

// Program is one entry of a program file.
//
// A Program built by hand (say, from a database) is valid when its Cron, or
// Date and At, parse as Parse would accept them; New leaves out programs
// whose timing does not parse.
type Program struct {
	ID    string
	Title string
	// Cron is a 5-field spec, or empty for a one-off (Date and At).
	Cron string
	// Date is YYYY-MM-DD and At is HH:MM, for a one-off.
	Date string
	At   string
	// Duration caps the program (0: no cap); required with Relay.
	Duration time.Duration
	Relay    string
	// Fallback plays if the relay cannot be received.
	Fallback []MediaRef
	Chime    *MediaRef
	// Volume is a percentage of the station's master volume (0-100).
	Volume   int
	Priority Priority
	Late     LatePolicy
	Items    []MediaRef
	// Line is the line of the program in its file.
	Line int
	// Source is set by the caller ("local", "city"); schedule ignores it.
	Source string

	// invalid marks a program Parse reported errors for; overlap checks
	// leave it out.
	invalid bool
}

// File is a parsed program file.
type File struct {
	Path     string
	Location *time.Location
	Programs []*Program
	// Body is the text the file was loaded from (set by LoadFile).
	Body []byte
}

// mediaRefs calls fn for every media reference of p, in file order.
func (p *Program) mediaRefs(fn func(*MediaRef)) {
	if p.Chime != nil {
		fn(p.Chime)
	}
	for i := range p.Items {
		fn(&p.Items[i])
	}
	for i := range p.Fallback {
		fn(&p.Fallback[i])
	}
}
