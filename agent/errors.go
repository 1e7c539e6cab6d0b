package agent

import (
	"errors"

	"loa/internal/cmdkit"
)

// Exit statuses of every loa command (design.md §6; loa/internal/cmdkit).
const (
	ExitOK      = cmdkit.ExitOK
	ExitFailure = cmdkit.ExitFailure
	ExitInput   = cmdkit.ExitInput // bad input: a bad file, flag or argument
	// ExitRestart asks the program to run again, at once, in a fresh
	// process: cmd/loa-agent re-executes itself (same process id for
	// systemd, same arguments). It is not seen outside unless that fails.
	ExitRestart = cmdkit.ExitRestart
)

// inputErr marks an error caused by what the user gave: exit status 2.
func inputErr(err error) error { return cmdkit.Input(err) }

func usageErr(msg string) error { return cmdkit.Input(errors.New(msg)) }

// ExitCode maps an error to the exit status (cmdkit.ExitCode).
func ExitCode(err error) int { return cmdkit.ExitCode(err) }

// errInterrupted: a command stopped by a signal before it changed
// anything.
var errInterrupted = errors.New("đã dừng giữa chừng, không thay đổi gì / interrupted, nothing changed")
