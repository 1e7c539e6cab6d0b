package city

import (
	"bytes"
	"context"
	"io"
	"sort"
	"strings"

	"loa/internal/manpage"
)

// writeManpage writes loa-city(1) from the help every command prints
// (`loa-city manpage`, not listed: scripts/package.sh runs it).
func writeManpage(ctx context.Context, stdout io.Writer) int {
	names := make([]string, 0, len(commandTitles))
	for n := range commandTitles {
		names = append(names, n)
	}
	sort.Strings(names)
	p := manpage.Page{Name: "loa-city", Summary: "city station server (đài truyền thanh thành phố)", Version: Version, Usage: usage,
		SeeAlso: "loactl(1), loa-agent(1); /usr/share/doc/loa-city/install.md, api.md"}
	for _, n := range names {
		var out bytes.Buffer
		Main(ctx, append(strings.Fields(n), "--help"), &out, &out)
		p.Commands = append(p.Commands, manpage.Command{Name: n, Help: out.String()})
	}
	if err := manpage.Write(stdout, p); err != nil {
		return exitFailure
	}
	return exitOK
}
