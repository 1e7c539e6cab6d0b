// Command loactl is the operators' command line for loa-city; see
// loactl.Main.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"loa/loactl"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	tty := false
	if st, err := os.Stderr.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
		tty = true
	}
	outTTY := false
	if st, err := os.Stdout.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
		outTTY = true
	}
	code := loactl.Main(ctx, os.Args[1:], os.Stdout, os.Stderr, loactl.Env{Getenv: os.Getenv, StderrTTY: tty, StdoutTTY: outTTY})
	stop()
	os.Exit(code)
}
