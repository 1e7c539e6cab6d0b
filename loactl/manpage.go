package loactl

import (
	"bytes"
	"context"
	"io"
	"sort"
	"strings"

	"loa/internal/manpage"
)

// writeManpage writes loactl(1) from the help every command prints
// (`loactl manpage`, not listed: scripts/package.sh runs it).
func writeManpage(ctx context.Context, stdout io.Writer) int {
	names := make([]string, 0, len(commandTitles))
	for n := range commandTitles {
		names = append(names, n)
	}
	sort.Strings(names)
	p := manpage.Page{Name: "loactl", Summary: "operators' command line for the city station (dòng lệnh của biên tập viên)", Version: Version, Usage: usage,
		SeeAlso: "loa-city(1), loa-agent(1)"}
	for _, n := range names {
		var out bytes.Buffer
		Main(ctx, append(strings.Fields(n), "--help"), &out, &out, Env{})
		p.Commands = append(p.Commands, manpage.Command{Name: n, Help: out.String()})
	}
	if err := manpage.Write(stdout, p); err != nil {
		return exitFailure
	}
	return exitOK
}
