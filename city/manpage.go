package city

import (
	"bytes"
	"context"
	"io"

	"loa/internal/manpage"
)

// writeManpage writes loa-city(1) from the help every command prints
// (`loa-city manpage`, not listed: scripts/package.sh runs it).
func writeManpage(ctx context.Context, stdout io.Writer) int {
	p := manpage.Page{Name: "loa-city", Summary: "city station server (đài truyền thanh thành phố)", Version: Version, Usage: usage,
		SeeAlso: "loactl(1), loa-agent(1); /usr/share/doc/loa-city/install.md, api.md"}
	p.AddCommands(commandTitles, func(args []string) string {
		var out bytes.Buffer
		Main(ctx, args, &out, &out)
		return out.String()
	})
	if err := manpage.Write(stdout, p); err != nil {
		return exitFailure
	}
	return exitOK
}
