// Package cmdkit is what the three loa commands (loa-agent, loa-city,
// loactl) share, so that they behave alike: exit statuses and the one
// mapping of an error to a status (ExitCode), the bad-input error, the
// logger built from a configuration's log section, the Duration type of
// configuration files, and the defaults that more than one program writes
// (DefaultMaxWait, DefaultTargetLUFS, DefaultDuckDB). A request or command
// that fails with a BadInputError changed nothing and is the caller's to
// fix: HTTP 400, exit status 2.
//
// It imports nothing of loa, so that every package may use it.
package cmdkit

import (
	"fmt"
)

// Exit statuses of every loa command (DESIGN.md §6).
const (
	ExitOK      = 0
	ExitFailure = 1
	ExitInput   = 2 // bad input: a bad file, flag or argument
	// ExitRestart asks the program to run again, at once, in a fresh
	// process: cmd/loa-agent re-executes itself (same process id for
	// systemd, same arguments). It is not seen outside unless that fails.
	ExitRestart = 75
)

// BadInputError is an error in what the caller asked: a bad field, file or
// argument. Msg names what was wrong; Err, when set, is the error it marks
// as bad input (Input), and Msg is then empty or a prefix.
type BadInputError struct {
	Msg string
	Err error
}

func (e *BadInputError) Error() string {
	switch {
	case e.Err == nil:
		return e.Msg
	case e.Msg == "":
		return e.Err.Error()
	}
	return e.Msg + ": " + e.Err.Error()
}

func (e *BadInputError) Unwrap() error { return e.Err }

// BadInput reports true: the method the exit mapping looks for.
func (e *BadInputError) BadInput() bool { return true }

// BadInput formats a BadInputError.
func BadInput(format string, args ...any) error {
	return &BadInputError{Msg: fmt.Sprintf(format, args...)}
}

// Input marks err as bad input, keeping its text and what it wraps; nil
// stays nil.
func Input(err error) error {
	if err == nil {
		return nil
	}
	return &BadInputError{Err: err}
}

// badInputer is any error that knows it is the caller's to fix: a
// BadInputError, and loactl's APIError for a 4xx answer.
type badInputer interface{ BadInput() bool }

// IsBadInput reports whether err is, or wraps, an error in what the caller
// asked: a BadInputError, or any error with a BadInput method reporting
// true.
func IsBadInput(err error) bool {
	for err != nil {
		if b, ok := err.(badInputer); ok && b.BadInput() {
			return true
		}
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			err = u.Unwrap()
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				if IsBadInput(e) {
					return true
				}
			}
			return false
		default:
			return false
		}
	}
	return false
}

// ExitCode maps an error to the exit status of every loa command: none is
// ExitOK, bad input (IsBadInput) ExitInput, anything else ExitFailure.
func ExitCode(err error) int {
	switch {
	case err == nil:
		return ExitOK
	case IsBadInput(err):
		return ExitInput
	}
	return ExitFailure
}
