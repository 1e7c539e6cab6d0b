package loactl

import (
	"bytes"
	"context"
	"io"

	"loa/internal/manpage"
)

// writeManpage writes loactl(1) from the help every command prints
// (`loactl manpage`, not listed: scripts/package.sh runs it).
func writeManpage(ctx context.Context, stdout io.Writer) int {
	p := manpage.Page{Name: "loactl", Summary: "operators' command line for the city station (dòng lệnh của biên tập viên)", Version: Version, Usage: usage,
		SeeAlso: "loa-city(1), loa-agent(1)"}
	p.AddCommands(commandTitles, func(args []string) string {
		var out bytes.Buffer
		Main(ctx, args, &out, &out, Env{})
		return out.String()
	})
	if err := manpage.Write(stdout, p); err != nil {
		return exitFailure
	}
	return exitOK
}
