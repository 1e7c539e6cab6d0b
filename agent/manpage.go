package agent

import (
	"bytes"
	"context"
	"sort"
	"strings"

	"loa/internal/manpage"
)

// manpage writes loa-agent(1) from the help every command prints
// (`loa-agent manpage`, not listed: scripts/package.sh runs it).
func (c *CLI) manpage(ctx context.Context) int {
	names := make([]string, 0, len(commandTitles))
	for n := range commandTitles {
		names = append(names, n)
	}
	sort.Strings(names)
	p := manpage.Page{Name: "loa-agent", Summary: "ward station agent (đài truyền thanh phường/xã)", Version: Version, Usage: agentUsage,
		SeeAlso: "loa-city(1), loactl(1); /usr/share/doc/loa-agent/install.md, hardware.md"}
	for _, n := range names {
		var out bytes.Buffer
		sub := &CLI{Stdout: &out, Stderr: &out, Now: c.Now, Getenv: c.Getenv}
		sub.Main(ctx, append(strings.Fields(n), "--help"))
		p.Commands = append(p.Commands, manpage.Command{Name: n, Help: out.String()})
	}
	if err := manpage.Write(c.Stdout, p); err != nil {
		return ExitFailure
	}
	return ExitOK
}
