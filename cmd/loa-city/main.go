// Command loa-city is the city station server and its administration
// commands; see city.Main.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"loa/city"
	"loa/city/preview/agentrender"
)

func main() {
	// The preview renders with the agent's own renderer.
	city.PreviewRenderer = agentrender.Render
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// A second signal forces the exit.
		<-ctx.Done()
		stop()
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
		<-ch
		os.Exit(1)
	}()
	os.Exit(city.Main(ctx, os.Args[1:], os.Stdout, os.Stderr))
}
