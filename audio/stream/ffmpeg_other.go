//go:build !linux

package stream

import "syscall"

func childAttr() *syscall.SysProcAttr { return nil }
