package loactl

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"loa/city/api"
)

// SendAlert sends an alert; the status code is 201 when it went out. An
// alert NATS did not take is an error (503), not a success: it has not
// gone out (an older city answered 202, queued).
func (c *Client) SendAlert(ctx context.Context, req api.NewAlert) (api.Alert, int, error) {
	b, err := json.Marshal(req)
	if err != nil {
		return api.Alert{}, 0, err
	}
	var out api.Alert
	resp, err := c.do(ctx, http.MethodPost, "/api/v1/alerts", bytes.NewReader(b), http.Header{"Content-Type": {"application/json"}}, &out)
	if err != nil {
		return out, 0, err
	}
	return out, resp.StatusCode, nil
}

// CancelAlert cancels an alert.
func (c *Client) CancelAlert(ctx context.Context, id string) (api.Alert, int, error) {
	var out api.Alert
	resp, err := c.do(ctx, http.MethodPost, "/api/v1/alerts/"+url.PathEscape(id)+"/cancel", nil, nil, &out)
	if err != nil {
		return out, 0, err
	}
	return out, resp.StatusCode, nil
}

// Alert returns an alert and its wards' states.
func (c *Client) Alert(ctx context.Context, id string) (api.Alert, error) {
	var out api.Alert
	return out, c.get(ctx, "/api/v1/alerts/"+url.PathEscape(id), &out)
}

// Alerts lists the latest alerts.
func (c *Client) Alerts(ctx context.Context, limit int) ([]api.AlertListEntry, error) {
	var out []api.AlertListEntry
	return out, c.get(ctx, fmt.Sprintf("/api/v1/alerts?limit=%d", limit), &out)
}

func (r *runner) alertSend(args []string) int {
	c := r.command("alert send", "(--text T [--voice V] [--speed N] | --file F | --media NAME | --stream URL --duration D) --to all|ID,...|group:G [flags]",
		"Send an alert (Cảnh báo) to every ward, some wards or groups. Text is spoken once at the\n"+
			"city with espeak-ng (voices vi, vi-vn-x-central, vi-vn-x-south); a file is uploaded\n"+
			"first. Emergency cuts what is on air at once; urgent waits for the item on air to\n"+
			"end (at most max_wait). Prints the alert's id; --wait then shows each ward's state\n"+
			"(Đã nhận / Đang phát / Đã phát xong / Từ chối) until all are done. Exit 1 when the city\n"+
			"recorded the alert but could NOT send it (its NATS refused it: the city keeps trying);\n"+
			"exit 3 when it waits for a second person's approval (alert_rules.approval; loactl alert\n"+
			"pending / approve / refuse), not sent.")
	text := c.fs.String("text", "", "text to speak (at most 4000 characters)")
	voice := c.fs.String("voice", "", "espeak-ng voice: vi (default), vi-vn-x-central, vi-vn-x-south")
	speed := c.fs.Int("speed", 0, "speech rate, words a minute (80-300; default 150)")
	file := c.fs.String("file", "", "an audio file to upload and play")
	media := c.fs.String("media", "", "a media item of the city's library (name or sha256)")
	stream := c.fs.String("stream", "", "a stream URL to relay")
	duration := c.fs.Duration("duration", 0, "how long to relay --stream (like 5m)")
	to := c.fs.String("to", "", "all, ward ids and group:NAME, comma-separated (required)")
	priority := c.fs.String("priority", "urgent", "emergency (cuts in at once) or urgent (waits for the item on air)")
	repeat := c.fs.Int("repeat", 1, "times the content plays (1-10)")
	gap := c.fs.Duration("gap", 10*time.Second, "silence between repeats")
	expires := c.fs.Duration("expires", 30*time.Minute, "how long the alert may still be played (a ward offline longer never plays it)")
	volume := c.fs.Int("volume", 100, "% of the station's master volume (1-100)")
	chime := c.fs.Bool("chime", true, "play the city's alert chime first (--chime=false: none)")
	status := c.fs.String("status", "Actual", "Actual, Test or Exercise (Test and Exercise are not put on air by default)")
	update := c.fs.String("update", "", "the id of an alert this one replaces")
	headline := c.fs.String("headline", "", "headline (CAP), shown in status pages")
	event := c.fs.String("event", "", "event (CAP), like \"Bão số 5\"")
	area := c.fs.String("area", "", "area description (CAP)")
	severity := c.fs.String("severity", "", "Extreme, Severe, Moderate, Minor or Unknown (CAP)")
	urgency := c.fs.String("urgency", "", "Immediate, Expected, Future, Past or Unknown (CAP)")
	certainty := c.fs.String("certainty", "", "Observed, Likely, Possible, Unlikely or Unknown (CAP)")
	wait := c.fs.Bool("wait", false, "show the wards' states until every ward is done or --timeout")
	timeout := c.fs.Duration("timeout", 0, "with --wait: stop waiting after this long (default: until the alert expires, at most 10m)")
	every := c.fs.Duration("every", 0, "re-send the alert this often (15m-24h; QĐ 18/2021: \"every 2 hours until replaced or cancelled\"); needs --until")
	until := c.fs.String("until", "", "with --every: the series ends then (RFC 3339, like 2026-12-08T18:00:00+07:00, or a duration from now, like 48h; at most 7 days)")
	asJSON := c.fs.Bool("json", false, "print the alert as JSON")
	breakGlass := c.fs.Bool("break-glass", false, "an alert that needs a second person's approval goes at once (audited loudly); needs --confirm and --reason")
	confirm := c.fs.String("confirm", "", "with --break-glass: the targets typed again, as in --to (\"tất cả\" for all)")
	reason := c.fs.String("reason", "", "with --break-glass: why no approver can be reached")
	pos, code, ok := c.parse(args)
	if !ok {
		return code
	}
	if len(pos) > 0 {
		return c.badArgs("unexpected %q (quote the text: --text \"...\")", pos[0])
	}
	set := map[string]bool{}
	c.fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	kinds := 0
	for _, k := range []string{"text", "file", "media", "stream"} {
		if set[k] {
			kinds++
		}
	}
	switch {
	case kinds != 1:
		return c.badArgs("give one of --text, --file, --media, --stream")
	case set["text"] && strings.TrimSpace(*text) == "":
		return c.badArgs("--text is empty")
	case *to == "":
		return c.badArgs("--to is required: all, ward ids, group:NAME")
	case set["stream"] && *duration <= 0:
		return c.badArgs("--stream needs --duration (like 5m)")
	case !set["stream"] && set["duration"]:
		return c.badArgs("--duration goes with --stream")
	case (set["voice"] || set["speed"]) && !set["text"]:
		return c.badArgs("--voice and --speed go with --text")
	case set["every"] != set["until"]:
		return c.badArgs("--every and --until go together (lặp lại mỗi … đến … / repeat every … until …)")
	}
	var untilAt *time.Time
	if *until != "" {
		t, err := parseUntil(*until, time.Now())
		if err != nil {
			return c.badArgs("--until %q: %v", *until, err)
		}
		untilAt = &t
	}
	cl, code := c.client()
	if cl == nil {
		return code
	}
	gapS := gap.Seconds()
	req := api.NewAlert{To: *to, Text: *text, Voice: *voice, Speed: *speed, Media: *media, Stream: *stream, DurationS: duration.Seconds(),
		Priority: *priority, Repeat: *repeat, GapS: &gapS, Volume: volume, Chime: chime, ExpiresS: expires.Seconds(), Status: *status,
		Update: *update, Headline: *headline, Event: *event, Area: *area, Severity: *severity, Urgency: *urgency, Certainty: *certainty,
		BreakGlass: *breakGlass, Confirm: *confirm, Reason: *reason, EveryH: every.Hours(), Until: untilAt}
	if *file != "" {
		m, err := r.uploadOne(cl, *file, "", false)
		if err != nil {
			fmt.Fprintf(r.stderr, "loactl alert send: %s: %v\n", *file, err)
			var ae *APIError
			if errors.As(err, &ae) && ae.BadInput() || errors.Is(err, os.ErrNotExist) {
				return exitBadArgs
			}
			return exitFailure
		}
		req.Media = m.SHA256
	}
	a, st, err := cl.SendAlert(r.ctx, req)
	if err != nil {
		return c.failed(err)
	}
	if st == http.StatusAccepted && strings.HasPrefix(a.ID, "yc-") { // a request waiting for approval
		return r.pendingSent(a.ID, a.Expires)
	}
	if st == http.StatusAccepted { // an older city: queued, not sent
		fmt.Fprintf(r.stderr, "loactl alert send: %s CHƯA GỬI ĐƯỢC / NOT SENT: queued, the city's NATS did not take it yet\n", a.ID)
		fmt.Fprintln(r.stdout, a.ID)
		return exitFailure
	}
	if *asJSON && !*wait {
		return r.json(a)
	}
	fmt.Fprintln(r.stdout, a.ID)
	if !*wait {
		return exitOK
	}
	return r.waitAlert(cl, a, *timeout, *asJSON)
}

func (r *runner) alertCancel(args []string) int {
	c := r.command("alert cancel", "ID [--json]", "Cancel an alert (Huỷ cảnh báo): a signed cancel goes to every ward it was for; a ward\nstops it if it is playing or waiting.")
	asJSON := c.fs.Bool("json", false, "print the alert as JSON")
	pos, code, ok := c.parse(args)
	if !ok {
		return code
	}
	if len(pos) != 1 {
		return c.badArgs("want one alert id")
	}
	cl, code := c.client()
	if cl == nil {
		return code
	}
	a, st, err := cl.CancelAlert(r.ctx, pos[0])
	if err != nil {
		return c.failed(err)
	}
	if *asJSON {
		return r.json(a)
	}
	if st == http.StatusAccepted { // an older city: queued, not sent
		fmt.Fprintf(r.stderr, "loactl alert cancel: the cancel of %s is NOT SENT yet: queued, the city's NATS did not take it\n", a.ID)
		return exitFailure
	}
	fmt.Fprintf(r.stdout, "%s cancelled by %s\n", a.ID, a.CancelledBy)
	return exitOK
}

func (r *runner) alertStatus(args []string) int {
	c := r.command("alert status", "ID [--json] [--wait [--timeout D]]", "Show an alert and where it stands at each ward it is for.")
	asJSON := c.fs.Bool("json", false, "JSON output")
	wait := c.fs.Bool("wait", false, "keep showing until every ward is done or --timeout")
	timeout := c.fs.Duration("timeout", 0, "with --wait: stop after this long")
	pos, code, ok := c.parse(args)
	if !ok {
		return code
	}
	if len(pos) != 1 {
		return c.badArgs("want one alert id")
	}
	cl, code := c.client()
	if cl == nil {
		return code
	}
	a, err := cl.Alert(r.ctx, pos[0])
	if err != nil {
		return c.failed(err)
	}
	if *wait {
		return r.waitAlert(cl, a, *timeout, *asJSON)
	}
	if *asJSON {
		return r.json(a)
	}
	r.printAlert(a)
	return exitOK
}

// parseUntil reads --until: an instant in RFC 3339, or a duration from
// now.
func parseUntil(s string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(s); err == nil {
		if d <= 0 {
			return time.Time{}, errors.New("cần một thời điểm sau bây giờ / want a time after now")
		}
		return now.Add(d), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, errors.New("không đọc được: hãy viết như 2026-12-08T18:00:00+07:00 hoặc 48h / cannot read it: write it like 2026-12-08T18:00:00+07:00 or 48h")
	}
	return t, nil
}

// AlertRepeats lists the alerts the city re-sends (GET
// /api/v1/alerts/repeats).
func (c *Client) AlertRepeats(ctx context.Context) ([]api.AlertRepeat, error) {
	var out []api.AlertRepeat
	return out, c.get(ctx, "/api/v1/alerts/repeats", &out)
}

func (r *runner) alertRepeats(args []string) int {
	c := r.command("alert repeats", "[--json]", "List the alerts the city re-sends every N hours until an end (alert send --every --until):\nactive series first, with their next re-send.")
	asJSON := c.fs.Bool("json", false, "JSON output")
	if code, ok := c.parseFlags(args); !ok {
		return code
	}
	return printList(c, *asJSON, func(cl *Client) ([]api.AlertRepeat, error) { return cl.AlertRepeats(r.ctx) },
		"ID\tTO\tEVERY\tUNTIL\tSENT\tNEXT\tSTATE", func(a api.AlertRepeat) string {
			next := "-"
			if a.Next != nil {
				next = a.Next.Local().Format("2006-01-02 15:04")
			}
			state := a.State
			if a.Reason != "" {
				state += " (" + a.Reason + ")"
			}
			every := time.Duration(a.EveryH * float64(time.Hour))
			return fmt.Sprintf("%s\t%s\t%s\t%s\t%d\t%s\t%s", a.ID, a.Targets, every, a.Until.Local().Format("2006-01-02 15:04"), a.Sent, next, state)
		})
}

func (r *runner) alertList(args []string) int {
	c := r.command("alert list", "[--json] [--limit N]", "List the latest alerts, newest first.")
	asJSON := c.fs.Bool("json", false, "JSON output")
	limit := c.fs.Int("limit", 20, "how many")
	if code, ok := c.parseFlags(args); !ok {
		return code
	}
	return printList(c, *asJSON, func(cl *Client) ([]api.AlertListEntry, error) { return cl.Alerts(r.ctx, *limit) },
		"ID\tTYPE\tPRIORITY\tTO\tISSUED\tEXPIRES\tHEADLINE", func(a api.AlertListEntry) string {
			typ := a.MsgType
			if a.Status != "Actual" {
				typ += " (" + a.Status + ")"
			}
			if a.CancelledBy != "" {
				typ += ", cancelled"
			}
			return fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%s\t%s", a.ID, typ, a.Priority, a.Targets, a.Issued.Local().Format("2006-01-02 15:04:05"),
				a.Expires.Local().Format("15:04:05"), a.Headline)
		})
}

// stateWords are the states in the glossary's words.
var stateWords = map[string]string{
	"waiting":   "chờ / waiting",
	"received":  "đã nhận / received",
	"started":   "đang phát / playing",
	"finished":  "đã phát xong / finished",
	"cancelled": "đã huỷ / cancelled",
	"failed":    "lỗi / failed",
	"rejected":  "từ chối / rejected",
	"skipped":   "không phát / skipped (test)",
}

func seconds(ms *int64) string {
	if ms == nil {
		return "-"
	}
	return fmt.Sprintf("%.2fs", float64(*ms)/1000)
}

// alertTable writes the wards' states.
func alertTable(w io.Writer, a api.Alert) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "WARD\tSTATE\tRECEIVED\tSTARTED\tENDED\tNOTE")
	for _, s := range a.Wards {
		word := stateWords[s.State]
		if word == "" {
			word = s.State
		}
		var notes []string
		if s.Reason != "" {
			notes = append(notes, s.Reason)
		}
		if s.FetchMS > 0 {
			notes = append(notes, fmt.Sprintf("media fetched in %.2fs", float64(s.FetchMS)/1000))
		}
		if s.Rejections > 0 && s.State != "rejected" {
			notes = append(notes, fmt.Sprintf("%d copies refused", s.Rejections))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", s.Ward, word, seconds(s.ReceivedMS), seconds(s.StartedMS), seconds(s.FinishedMS), strings.Join(notes, "; "))
	}
	tw.Flush()
}

func summaryLine(a api.Alert) string {
	s := a.Summary
	return fmt.Sprintf("%s: %s, %d wards: %d done (%d finished, %d failed, %d rejected, %d cancelled, %d skipped), %d playing, %d received, %d waiting",
		a.ID, a.State, s.Wards, s.Done, s.Finished, s.Failed, s.Rejected, s.Cancelled, s.Skipped, s.Started, s.Received, s.Waiting)
}

func (r *runner) printAlert(a api.Alert) {
	what := a.Content.Kind
	switch a.Content.Kind {
	case "text":
		what = fmt.Sprintf("text (%s): %q", a.Content.Voice, a.Content.Text)
	case "media":
		what = "media " + a.Content.SHA256
	case "stream":
		what = fmt.Sprintf("stream %s for %s", a.Content.Stream, time.Duration(a.Content.DurationS*float64(time.Second)))
	}
	fmt.Fprintf(r.stdout, "%s %s %s to %s, issued %s, expires %s\n", a.ID, a.MsgType, a.Priority, a.Targets,
		a.Issued.Local().Format("2006-01-02 15:04:05"), a.Expires.Local().Format("15:04:05"))
	if a.Status != "Actual" {
		fmt.Fprintf(r.stdout, "status %s: wards do not put it on air\n", a.Status)
	}
	if a.Headline != "" {
		fmt.Fprintf(r.stdout, "%s\n", a.Headline)
	}
	fmt.Fprintf(r.stdout, "%s, %d×, volume %d%%\n", what, a.Content.Repeat, a.Content.Volume)
	if a.CancelledBy != "" {
		fmt.Fprintf(r.stdout, "cancelled by %s\n", a.CancelledBy)
	}
	alertTable(r.stdout, a)
	fmt.Fprintln(r.stdout, summaryLine(a))
}

// waitAlert shows the wards' states until all are done, the alert ends or
// the timeout. On a terminal the table is redrawn in place; otherwise each
// change is a line. Exit 0 when every ward finished (or skipped a test),
// 1 otherwise.
func (r *runner) waitAlert(cl *Client, a api.Alert, timeout time.Duration, asJSON bool) int {
	if timeout <= 0 {
		timeout = min(time.Until(a.Expires), 10*time.Minute)
	}
	deadline := time.Now().Add(timeout)
	prev := map[string]string{}
	drawn := 0
	for {
		if !asJSON {
			if r.env.StdoutTTY {
				var b bytes.Buffer
				alertTable(&b, a)
				fmt.Fprintln(&b, summaryLine(a))
				if drawn > 0 {
					fmt.Fprintf(r.stdout, "\033[%dA\033[J", drawn)
				}
				drawn = bytes.Count(b.Bytes(), []byte("\n"))
				r.stdout.Write(b.Bytes())
			} else {
				for _, s := range a.Wards {
					if prev[s.Ward] != s.State {
						prev[s.Ward] = s.State
						note := s.Reason
						fmt.Fprintf(r.stdout, "%s  %-12s %s %s\n", time.Now().Format("15:04:05"), s.Ward, stateWords[s.State], note)
					}
				}
			}
		}
		done := a.Summary.Done == a.Summary.Wards || a.State == "expired"
		if done || time.Now().After(deadline) || r.ctx.Err() != nil {
			if asJSON {
				r.json(a)
			} else if !r.env.StdoutTTY {
				fmt.Fprintln(r.stdout, summaryLine(a))
			}
			if !done {
				fmt.Fprintf(r.stderr, "loactl: %s: not every ward is done after %s\n", a.ID, timeout)
				return exitFailure
			}
			if a.Summary.Finished+a.Summary.Skipped+a.Summary.Cancelled == a.Summary.Wards {
				return exitOK
			}
			return exitFailure
		}
		select {
		case <-r.ctx.Done():
		case <-time.After(300 * time.Millisecond):
		}
		next, err := cl.Alert(r.ctx, a.ID)
		if err != nil {
			if r.ctx.Err() == nil {
				fmt.Fprintf(r.stderr, "loactl: %v\n", err)
			}
			continue
		}
		a = next
	}
}
