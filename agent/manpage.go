package agent

import (
	"bytes"
	"context"

	"loa/internal/manpage"
)

// manpage writes loa-agent(1) from the help every command prints
// (`loa-agent manpage`, not listed: scripts/package.sh runs it).
func (c *CLI) manpage(ctx context.Context) int {
	p := manpage.Page{Name: "loa-agent", Summary: "ward station agent (đài truyền thanh phường/xã)", Version: Version, Usage: agentUsage,
		SeeAlso: "loa-city(1), loactl(1); /usr/share/doc/loa-agent/install.md, hardware.md"}
	p.AddCommands(commandTitles, func(args []string) string {
		var out bytes.Buffer
		sub := &CLI{Stdout: &out, Stderr: &out, Now: c.Now, Getenv: c.Getenv}
		sub.Main(ctx, args)
		return out.String()
	})
	if err := manpage.Write(c.Stdout, p); err != nil {
		return ExitFailure
	}
	return ExitOK
}
