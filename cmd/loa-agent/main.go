// Command loa-agent is the ward station: it plays the day's programs on
// time and obeys the city's alerts. See `loa-agent --help`.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata" // a Pi image may have no zoneinfo: schedules must still be right

	"loa/agent"
)

func main() {
	ctx, cancel := context.WithCancel(context.Background())
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-sig
		cancel()
		<-sig
		fmt.Fprintln(os.Stderr, "loa-agent: second signal, exiting now")
		os.Exit(1)
	}()
	cli := &agent.CLI{Stdout: os.Stdout, Stderr: os.Stderr}
	code := cli.Main(ctx, os.Args[1:])
	cancel()
	if code == agent.ExitRestart {
		// The daemon waited for a sound card that is now there (oto opens
		// a card once per process), or the city's restart command asked
		// for a fresh process: the program starts over in this one
		// (/proc/self/exe: the binary running, even if an upgrade replaced
		// the file).
		err := syscall.Exec("/proc/self/exe", os.Args, os.Environ())
		fmt.Fprintln(os.Stderr, "loa-agent: restart:", err)
		code = agent.ExitFailure
	}
	os.Exit(code)
}
