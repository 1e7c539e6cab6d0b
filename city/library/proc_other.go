//go:build !linux

package library

import "os/exec"

// tieToParent: outside Linux there is no parent-death signal; the child is
// killed when its context is cancelled (exec.CommandContext), which covers
// every exit of loa-city but kill -9.
func tieToParent(cmd *exec.Cmd) {}
