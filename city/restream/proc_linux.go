package restream

import "syscall"

// childAttr ties ffmpeg to the city: it gets SIGKILL if the city dies (an
// orphan transcoder would keep pulling the upstream).
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
}
