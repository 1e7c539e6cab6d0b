package loactl

import (
	"context"
	"net/http"
	"net/url"
)

// Report downloads the proof-of-play report (GET /api/v1/reports) in
// format (csv, xlsx or json) for q's ward, group, from and to.
func (c *Client) Report(ctx context.Context, q url.Values, format string) ([]byte, error) {
	q.Set("format", format)
	var out []byte
	_, err := c.do(ctx, http.MethodGet, "/api/v1/reports?"+q.Encode(), nil, nil, &out)
	return out, err
}

func (r *runner) report(args []string) int {
	c := r.command("report", "[--ward ID | --group G] [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--json]",
		"Proof of play (báo cáo phát sóng): every planned program of the wards over the days, and\n"+
			"whether it played, late, interrupted, missed or failed, with the ward's reason, as CSV on\n"+
			"stdout (one line per program; the console's /reports page has the chart, XLSX and print).")
	ward := c.fs.String("ward", "", "one ward")
	group := c.fs.String("group", "", "a group's wards (default: every ward you may see)")
	from := c.fs.String("from", "", "first day, YYYY-MM-DD (default: the first of --to's month)")
	to := c.fs.String("to", "", "last day, YYYY-MM-DD (default: today at the city)")
	asJSON := c.fs.Bool("json", false, "the whole report as JSON (with per-day totals)")
	if code, ok := c.parseFlags(args); !ok {
		return code
	}
	if *ward != "" && *group != "" {
		return c.badArgs("--ward or --group, not both")
	}
	cl, code := c.client()
	if cl == nil {
		return code
	}
	q := url.Values{}
	for k, v := range map[string]string{"ward": *ward, "group": *group, "from": *from, "to": *to} {
		if v != "" {
			q.Set(k, v)
		}
	}
	format := "csv"
	if *asJSON {
		format = "json"
	}
	b, err := cl.Report(r.ctx, q, format)
	if err != nil {
		return c.failed(err)
	}
	r.stdout.Write(b)
	return exitOK
}
