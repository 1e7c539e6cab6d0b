package loactl

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"text/tabwriter"

	"loa/city/api"
	"loa/internal/cmdkit"
)

// StartLive puts the city's announcer (a stream) on air at the wards.
func (c *Client) StartLive(ctx context.Context, req api.NewLive) (api.Live, error) {
	b, err := json.Marshal(req)
	if err != nil {
		return api.Live{}, err
	}
	var out api.Live
	_, err = c.do(ctx, http.MethodPost, "/api/v1/live", bytes.NewReader(b), http.Header{"Content-Type": {"application/json"}}, &out)
	return out, err
}

// StopLive ends a live announcement ("*": every one).
func (c *Client) StopLive(ctx context.Context, id string) error {
	_, err := c.do(ctx, http.MethodDelete, "/api/v1/live/"+url.PathEscape(id), nil, nil, nil)
	return err
}

// Lives lists the live announcements on air.
func (c *Client) Lives(ctx context.Context) ([]api.Live, error) {
	var out []api.Live
	return out, c.get(ctx, "/api/v1/live", &out)
}

func (r *runner) liveStart(args []string) int {
	c := r.command("live start", "--stream URL --to all|ID,...|group:G [--mode duck|exclusive] [--duck-db -15] [--expires 2h]",
		"Phát trực tiếp: the wards named relay the announcer's stream (an Icecast mount) over their\nprogram, lowered (duck) or muted (exclusive), until `loactl live stop`. Signed like an alert;\nan emergency alert still cuts over it.")
	stream := c.fs.String("stream", "", "the announcer's stream URL, e.g. http://city:8000/live.mp3 (required)")
	to := c.fs.String("to", "", "all, ward ids and group:NAME, comma-separated (required)")
	mode := c.fs.String("mode", "duck", "duck (program lowered) or exclusive (program muted)")
	duck := c.fs.Float64("duck-db", cmdkit.DefaultDuckDB, "how far the program is lowered in duck mode")
	expires := c.fs.Duration("expires", 0, "the longest the announcement may last (default 2h)")
	title := c.fs.String("title", "", "what the announcement is, for the status pages")
	asJSON := c.fs.Bool("json", false, "print the result as JSON")
	pos, code, ok := c.parse(args)
	if !ok {
		return code
	}
	if len(pos) != 0 || *stream == "" || *to == "" {
		return c.badArgs("want --stream URL and --to")
	}
	cl, code := c.client()
	if cl == nil {
		return code
	}
	l, err := cl.StartLive(r.ctx, api.NewLive{To: *to, Stream: *stream, Mode: *mode, DuckDB: *duck, Title: *title, ExpiresS: expires.Seconds()})
	if err != nil {
		return c.failed(err)
	}
	if *asJSON {
		return r.json(l)
	}
	fmt.Fprintf(r.stdout, "%s\n", l.ID)
	fmt.Fprintf(r.stderr, "Phát trực tiếp / live on air at %d ward(s) (%s, %s) until %s; `loactl live stop %s` ends it\n",
		l.Wards, l.To, l.Mode, l.Expires.Local().Format("15:04"), l.ID)
	return exitOK
}

func (r *runner) liveStop(args []string) int {
	c := r.command("live stop", "[ID]", "End a live announcement (every one when no id is given).")
	pos, code, ok := c.parse(args)
	if !ok {
		return code
	}
	if len(pos) > 1 {
		return c.badArgs("want at most one id")
	}
	id := "*"
	if len(pos) == 1 {
		id = pos[0]
	}
	cl, code := c.client()
	if cl == nil {
		return code
	}
	if err := cl.StopLive(r.ctx, id); err != nil {
		return c.failed(err)
	}
	fmt.Fprintln(r.stdout, "Phát trực tiếp / live: stopped")
	return exitOK
}

func (r *runner) liveList(args []string) int {
	c := r.command("live list", "[--json]", "The live announcements on air.")
	asJSON := c.fs.Bool("json", false, "JSON output")
	if _, code, ok := c.parse(args); !ok {
		return code
	}
	cl, code := c.client()
	if cl == nil {
		return code
	}
	ls, err := cl.Lives(r.ctx)
	if err != nil {
		return c.failed(err)
	}
	if *asJSON {
		return r.json(ls)
	}
	tw := tabwriter.NewWriter(r.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tTO\tMODE\tSTREAM\tUNTIL\tBY")
	for _, l := range ls {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", l.ID, l.To, l.Mode, l.Stream, l.Expires.Local().Format("15:04"), l.By)
	}
	if err := tw.Flush(); err != nil {
		return c.failed(err)
	}
	return exitOK
}
