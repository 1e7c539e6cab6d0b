package stream

import "syscall"

// childAttr ties ffmpeg to the agent: it gets SIGKILL if the agent dies
// (ExecStart restarts the agent; an orphan decoder would keep pulling the
// stream), and has its own process group.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
}
