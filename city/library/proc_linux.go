//go:build linux

package library

import (
	"os/exec"
	"syscall"
)

// tieToParent makes cmd die with loa-city: the kernel sends it SIGKILL
// when the city goes away (even by kill -9, when no Go code runs), and it
// gets its own process group so that cancelling kills the whole group.
//
// Pdeathsig fires when the OS thread that started the child exits, not the
// process; the Go runtime keeps its threads for the process's life (none of
// these commands is started from a goroutine locked to its thread), so for
// loa-city it means the process.
func tieToParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error {
		if cmd.Process == nil {
			return nil
		}
		// The group: anything the child started goes with it.
		if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); err != nil {
			return cmd.Process.Kill()
		}
		return nil
	}
}
