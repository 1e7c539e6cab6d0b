package agent

import "errors"

// Exit statuses of every loa command (design.md §6).
const (
	ExitOK      = 0
	ExitFailure = 1
	ExitInput   = 2 // bad input: a bad file, flag or argument
	// ExitRestart asks the program to run again, at once, in a fresh
	// process: cmd/loa-agent re-executes itself (same process id for
	// systemd, same arguments). It is not seen outside unless that fails.
	ExitRestart = 75
)

// inputError marks an error caused by what the user gave: exit status 2.
type inputError struct{ err error }

func (e inputError) Error() string { return e.err.Error() }
func (e inputError) Unwrap() error { return e.err }

func inputErr(err error) error { return inputError{err} }

func usageErr(msg string) error { return inputError{errors.New(msg)} }

// ExitCode maps an error to the exit status.
func ExitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	var ie inputError
	if errors.As(err, &ie) {
		return ExitInput
	}
	return ExitFailure
}

// errInterrupted: a command stopped by a signal before it changed
// anything.
var errInterrupted = errors.New("đã dừng giữa chừng, không thay đổi gì / interrupted, nothing changed")
