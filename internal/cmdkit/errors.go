// Package cmdkit is what the three loa commands (loa-agent, loa-city,
// loactl) share: exit statuses and the bad-input error. A request or
// command that fails with a BadInputError changed nothing and is the
// caller's to fix: HTTP 400, exit status 2.
package cmdkit

import (
	"errors"
	"fmt"
)

// Exit statuses of every loa command (DESIGN.md §6).
const (
	ExitOK      = 0
	ExitFailure = 1
	ExitInput   = 2 // bad input: a bad file, flag or argument
)

// BadInputError is an error in what the caller asked: a bad field, file or
// argument. Msg names what was wrong.
type BadInputError struct{ Msg string }

func (e *BadInputError) Error() string { return e.Msg }

// BadInput formats a BadInputError.
func BadInput(format string, args ...any) error {
	return &BadInputError{Msg: fmt.Sprintf(format, args...)}
}

// IsBadInput reports whether err is, or wraps, a BadInputError.
func IsBadInput(err error) bool {
	var bad *BadInputError
	return errors.As(err, &bad)
}
