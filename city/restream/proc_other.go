//go:build !linux

package restream

import "syscall"

func childAttr() *syscall.SysProcAttr { return nil }
