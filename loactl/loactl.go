// Package loactl is the operators' command line against loa-city's HTTP
// API: media uploads, program loading, timelines, every ward's health and
// as-run log, alerts (send, cancel, follow their receipts) and live
// announcements. It knows the API's JSON (city/api), not the server's
// insides; its exit statuses are every loa command's (internal/cmdkit).
package loactl

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"go.yaml.in/yaml/v3"

	"loa/city/api"
	"loa/internal/cmdkit"
)

// Exit statuses (loa/internal/cmdkit).
const (
	exitOK      = cmdkit.ExitOK
	exitFailure = cmdkit.ExitFailure
	exitBadArgs = cmdkit.ExitInput
)

// Env is what Main reads from outside its arguments, so tests can set it.
type Env struct {
	Getenv func(string) string
	// Stderr is a terminal: show progress bars.
	StderrTTY bool
	// StdoutTTY: redraw live tables in place (alert send --wait).
	StdoutTTY bool
}

const usage = `loactl — dòng lệnh của biên tập viên (the operators' command line for loa-city).

Usage:
  loactl [--city URL] [--token T] COMMAND ...

Commands:
  media upload FILE... [--title T] [--replace] [--json]   upload media (Tải lên)
  media list [--json]                                     the media library
  program load FILE (--ward ID | --group G | --all) [--check]
  program show --ward ID [--date YYYY-MM-DD] [--json]     a ward's broadcast schedule
  wards [--json] [--watch]                                every ward's health, problems first
  asrun --ward ID [--date YYYY-MM-DD] [--csv | --json]    a ward's broadcast log (nhật ký phát sóng)
  report [--ward ID | --group G] [--from D] [--to D] [--json]   proof of play as CSV (báo cáo phát sóng)
  alert send (--text T [--voice V] [--speed N] | --file F | --media NAME | --stream URL --duration D)
             --to all|ID,...|group:G [--priority emergency|urgent] [--repeat N] [--gap 10s]
             [--expires 30m] [--every 2h --until 48h] [--wait]   send an alert (Cảnh báo); prints its id
  alert cancel ID                                         cancel an alert (Huỷ cảnh báo)
  alert status ID [--wait] [--json]                       where an alert stands at each ward
  alert list [--json]                                     the latest alerts
  alert repeats [--json]                                  alerts re-sent every N hours until an end (Lặp lại)
  alert pending [--all] [--json]                          alerts waiting for a second person (Chờ duyệt)
  alert approve ID                                        approve one: it is sent (Phê duyệt; role approver)
  alert refuse ID --reason R                              refuse one: nothing is sent (Từ chối duyệt)
  live start --stream URL --to all|ID,...|group:G [--mode duck|exclusive] [--duck-db -15]
                                                          the announcer's stream over the wards' program (Phát trực tiếp)
  live stop [ID]                                          end it (every one without an id)
  live list [--json]                                      live announcements on air
  cap [--json] [--limit N]                                the CAP messages received and what came of each
  command send --to all|ID,...|group:G --kind K [--db -6] [--mute 30m] [--seconds 5] [--level -12] [--on=BOOL] [--log-lines 200] [--expires 10m]
                                                          a signed command to wards (Lệnh điều khiển); prints its id
  command status ID [--json]                              each ward's ack: done, failed, refused and why
  stop-all --to all|ID,...|group:G [--mute 30m]           Dừng tất cả: stop every alert and announcement, mute programs

The city and token come from --city and --token, else LOA_CITY and
LOA_TOKEN, else the file ~/.config/loa/loactl.yaml (keys: city, token;
--config names another file).
Every command takes --help. Exit status: 0 ok, 1 failure, 2 bad input,
3 alert send: the alert waits for a second person's approval (not sent).
`

// Main runs loactl with args (without the program name).
func Main(ctx context.Context, args []string, stdout, stderr io.Writer, env Env) int {
	if env.Getenv == nil {
		env.Getenv = os.Getenv
	}
	cmd, args := splitCommand(args)
	r := &runner{ctx: ctx, stdout: stdout, stderr: stderr, env: env}
	switch strings.Join(cmd, " ") {
	case "", "help", "media", "program", "alert", "live", "command":
		if len(cmd) == 1 && cmd[0] == "help" || wantsHelp(args) {
			fmt.Fprint(stdout, usage)
			return exitOK
		}
		if len(cmd) == 0 {
			fmt.Fprint(stderr, usage)
			return exitBadArgs
		}
	case "manpage":
		return writeManpage(ctx, stdout)
	case "version":
		fmt.Fprintln(stdout, "loactl", Version)
		return exitOK
	case "media upload":
		return r.mediaUpload(args)
	case "media list":
		return r.mediaList(args)
	case "program load":
		return r.programLoad(args)
	case "program show":
		return r.programShow(args)
	case "wards":
		return r.wards(args)
	case "asrun":
		return r.asrun(args)
	case "report":
		return r.report(args)
	case "alert send":
		return r.alertSend(args)
	case "alert cancel":
		return r.alertCancel(args)
	case "alert status":
		return r.alertStatus(args)
	case "alert list":
		return r.alertList(args)
	case "alert repeats":
		return r.alertRepeats(args)
	case "alert pending":
		return r.alertPending(args)
	case "alert approve":
		return r.alertApprove(args)
	case "alert refuse":
		return r.alertRefuse(args)
	case "live start":
		return r.liveStart(args)
	case "live stop":
		return r.liveStop(args)
	case "live list":
		return r.liveList(args)
	case "cap":
		return r.capList(args)
	case "command send":
		return r.commandSend(args)
	case "command status":
		return r.commandStatus(args)
	case "stop-all":
		return r.stopAll(args)
	}
	fmt.Fprintf(stderr, "loactl: unknown command %q\n\n%s", strings.Join(cmd, " "), usage)
	return exitBadArgs
}

// splitCommand takes the command words (media upload, wards, ...) out of
// args, wherever the flags are.
func splitCommand(args []string) (cmd, rest []string) {
	valueFlags := map[string]bool{"city": true, "token": true, "config": true, "ward": true, "group": true, "date": true, "title": true, "every": true,
		// alert send
		"text": true, "voice": true, "speed": true, "file": true, "media": true, "stream": true, "duration": true, "to": true,
		"priority": true, "repeat": true, "gap": true, "expires": true, "volume": true, "status": true, "update": true, "headline": true,
		"event": true, "area": true, "severity": true, "urgency": true, "certainty": true, "timeout": true, "limit": true,
		"confirm": true, "reason": true,
		// live start
		"mode": true, "duck-db": true,
		// command send, stop-all
		"kind": true, "db": true, "mute": true, "seconds": true}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			rest = append(rest, args[i:]...)
			break
		}
		if strings.HasPrefix(a, "-") && a != "-" {
			rest = append(rest, a)
			if name := strings.TrimLeft(a, "-"); valueFlags[name] && i+1 < len(args) {
				rest = append(rest, args[i+1])
				i++
			}
			continue
		}
		if len(cmd) == 0 || len(cmd) == 1 && (cmd[0] == "media" || cmd[0] == "program" || cmd[0] == "alert" || cmd[0] == "live" || cmd[0] == "command") {
			cmd = append(cmd, a)
			continue
		}
		rest = append(rest, a)
	}
	return cmd, rest
}

func wantsHelp(args []string) bool {
	for _, a := range args {
		if a == "-h" || a == "--help" || a == "-help" {
			return true
		}
	}
	return false
}

type runner struct {
	ctx            context.Context
	stdout, stderr io.Writer
	env            Env
}

// commandTitles names every command in Vietnamese first, English beside;
// its --help starts with the name (loactl_test.go checks every command has
// one).
var commandTitles = map[string]string{
	"media upload":   "Tải lên (upload media)",
	"media list":     "Thư viện (the media library)",
	"program load":   "Nạp chương trình (load a program file)",
	"program show":   "Lịch phát sóng (a ward's broadcast schedule)",
	"wards":          "Trạm phát (every ward's health)",
	"asrun":          "Nhật ký phát sóng (a ward's as-run log)",
	"alert send":     "Gửi cảnh báo (send an alert)",
	"alert cancel":   "Huỷ cảnh báo (cancel an alert)",
	"alert status":   "Tình trạng cảnh báo (where an alert stands)",
	"alert list":     "Danh sách cảnh báo (the latest alerts)",
	"alert repeats":  "Cảnh báo lặp lại (alerts re-sent every N hours)",
	"alert pending":  "Chờ duyệt (alerts waiting for approval)",
	"alert approve":  "Phê duyệt (approve an alert)",
	"alert refuse":   "Từ chối duyệt (refuse an alert)",
	"live start":     "Phát trực tiếp (live announcement)",
	"live stop":      "Dừng phát trực tiếp (end a live announcement)",
	"live list":      "Danh sách phát trực tiếp (live announcements on air)",
	"cap":            "Bản tin CAP (CAP messages received)",
	"report":         "Báo cáo phát sóng (proof of play)",
	"command send":   "Lệnh điều khiển (send a signed command to wards)",
	"command status": "Tình trạng lệnh (a command's acks)",
	"stop-all":       "Dừng tất cả (stop every alert and announcement)",
}

// command is one subcommand's flags, with the global ones.
type command struct {
	r                   *runner
	name, args, help    string
	fs                  *flag.FlagSet
	city, token, config *string
}

func (r *runner) command(name, args, help string) *command {
	c := &command{r: r, name: name, args: args, help: help, fs: flag.NewFlagSet(name, flag.ContinueOnError)}
	c.fs.SetOutput(r.stderr)
	c.city = c.fs.String("city", "", "loa-city URL, like http://city:8780 (or LOA_CITY)")
	c.token = c.fs.String("token", "", "API token (or LOA_TOKEN)")
	c.config = c.fs.String("config", "", "config file (default ~/.config/loa/loactl.yaml)")
	// The flag package prints the help on --help and on a bad flag, to the
	// same place: parse prints it instead, once, where it belongs.
	c.fs.Usage = func() {}
	return c
}

func (c *command) usage(w io.Writer) {
	if t := commandTitles[c.name]; t != "" {
		fmt.Fprintf(w, "loactl %s — %s\n\n", c.name, t)
	}
	fmt.Fprintf(w, "Usage: loactl %s %s\n\n%s\n\nFlags:\n", c.name, c.args, c.help)
	c.fs.SetOutput(w)
	c.fs.PrintDefaults()
	c.fs.SetOutput(c.r.stderr)
}

// parse reads flags anywhere among the arguments and returns the others.
func (c *command) parse(args []string) (pos []string, code int, ok bool) {
	for {
		if err := c.fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				c.usage(c.r.stdout)
				return nil, exitOK, false
			}
			c.usage(c.r.stderr)
			return nil, exitBadArgs, false
		}
		args = c.fs.Args()
		if len(args) == 0 {
			return pos, 0, true
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// parseFlags parses the arguments of a command that takes flags only.
func (c *command) parseFlags(args []string) (code int, ok bool) {
	pos, code, ok := c.parse(args)
	if ok && len(pos) > 0 {
		return c.badArgs("unexpected %q", pos[0]), false
	}
	return code, ok
}

func (c *command) badArgs(format string, a ...any) int {
	fmt.Fprintf(c.r.stderr, "loactl %s: %s\n", c.name, fmt.Sprintf(format, a...))
	return exitBadArgs
}

// fileConfig is ~/.config/loa/loactl.yaml.
type fileConfig struct {
	City  string `yaml:"city"`
	Token string `yaml:"token"`
}

// client resolves the city and token: flags, then environment, then the
// config file.
func (c *command) client() (*Client, int) {
	city, token := *c.city, *c.token
	if city == "" {
		city = c.r.env.Getenv("LOA_CITY")
	}
	if token == "" {
		token = c.r.env.Getenv("LOA_TOKEN")
	}
	if city == "" || token == "" {
		path := *c.config
		explicit := path != ""
		if !explicit {
			if dir := c.r.env.Getenv("XDG_CONFIG_HOME"); dir != "" {
				path = filepath.Join(dir, "loa", "loactl.yaml")
			} else if home := c.r.env.Getenv("HOME"); home != "" {
				path = filepath.Join(home, ".config", "loa", "loactl.yaml")
			}
		}
		if path != "" {
			data, err := os.ReadFile(path)
			switch {
			case err == nil:
				var fc fileConfig
				dec := yaml.NewDecoder(bytes.NewReader(data))
				dec.KnownFields(true)
				if err := dec.Decode(&fc); err != nil && !errors.Is(err, io.EOF) {
					return nil, c.badArgs("%s: %v", path, err)
				}
				if city == "" {
					city = fc.City
				}
				if token == "" {
					token = fc.Token
				}
			case explicit || !errors.Is(err, os.ErrNotExist):
				return nil, c.badArgs("%v", err)
			}
		}
	}
	if city == "" {
		return nil, c.badArgs("no city: use --city URL, LOA_CITY, or city: in ~/.config/loa/loactl.yaml")
	}
	if token == "" {
		return nil, c.badArgs("no token: use --token T, LOA_TOKEN, or token: in ~/.config/loa/loactl.yaml")
	}
	if !strings.HasPrefix(city, "http://") && !strings.HasPrefix(city, "https://") {
		return nil, c.badArgs("city %q: want an http:// or https:// URL", city)
	}
	return &Client{City: city, Token: token, HTTP: newHTTPClient()}, exitOK
}

// failed reports err: a 4xx answer is bad input (2), the rest failure (1)
// (cmdkit.ExitCode; APIError says which it is).
func (c *command) failed(err error) int {
	fmt.Fprintf(c.r.stderr, "loactl %s: %v\n", c.name, err)
	return cmdkit.ExitCode(err)
}

func (r *runner) json(v any) int {
	enc := json.NewEncoder(r.stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return exitFailure
	}
	return exitOK
}

func (r *runner) mediaUpload(args []string) int {
	c := r.command("media upload", "FILE... [--title T] [--replace] [--json]",
		"Upload media files (any audio format ffmpeg reads). The city transcodes each to\nMP3 44.1 kHz mono 64 kbps and measures its loudness. Programs then refer to a\nfile by its name (the file name) or its sha256. Uploads resume after a broken\nconnection.")
	title := c.fs.String("title", "", "title (default: the file name without extension; one file only)")
	replace := c.fs.Bool("replace", false, "give the name to this file if other media has it")
	asJSON := c.fs.Bool("json", false, "print the media items as JSON")
	files, code, ok := c.parse(args)
	if !ok {
		return code
	}
	if len(files) == 0 {
		return c.badArgs("no file to upload")
	}
	if *title != "" && len(files) > 1 {
		return c.badArgs("--title with several files")
	}
	cl, code := c.client()
	if cl == nil {
		return code
	}
	worst := exitOK
	var results []api.Media
	for _, path := range files {
		m, err := r.uploadOne(cl, path, *title, *replace)
		if err != nil {
			code := exitFailure
			var ae *APIError
			if errors.As(err, &ae) && ae.BadInput() || errors.Is(err, os.ErrNotExist) {
				code = exitBadArgs
			}
			fmt.Fprintf(r.stderr, "loactl media upload: %s: %v\n", path, err)
			worst = max(worst, code)
			continue
		}
		results = append(results, m)
		if !*asJSON {
			state := "new"
			if !m.Created {
				state = "already in the library"
			}
			fmt.Fprintf(r.stdout, "%s\t%s\t%s\t%s\t%s\n", path, m.SHA256, formatDuration(m.DurationSeconds), formatLoudness(m.LoudnessLUFS), state)
		}
	}
	if *asJSON {
		if results == nil {
			results = []api.Media{}
		}
		if code := r.json(results); code != exitOK {
			return code
		}
	}
	return worst
}

func (r *runner) uploadOne(cl *Client, path, title string, replace bool) (api.Media, error) {
	f, err := os.Open(path)
	if err != nil {
		return api.Media{}, err
	}
	st, err := f.Stat()
	f.Close()
	if err != nil {
		return api.Media{}, err
	}
	if !st.Mode().IsRegular() {
		return api.Media{}, fmt.Errorf("not a regular file: %w", os.ErrNotExist)
	}
	open := func(off int64) (io.ReadCloser, error) {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		if _, err := f.Seek(off, io.SeekStart); err != nil {
			f.Close()
			return nil, err
		}
		return f, nil
	}
	var bar *progressBar
	if r.env.StderrTTY {
		bar = newProgressBar(r.stderr, filepath.Base(path), st.Size())
		defer bar.done()
	}
	var progress func(int64)
	if bar != nil {
		progress = bar.set
	}
	return cl.Upload(r.ctx, filepath.Base(path), title, st.Size(), replace, open, progress)
}

func formatDuration(s float64) string {
	d := time.Duration(math.Round(s)) * time.Second
	h, m, sec := int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60
	if h > 0 {
		return fmt.Sprintf("%d:%02d:%02d", h, m, sec)
	}
	return fmt.Sprintf("%d:%02d", m, sec)
}

func formatLoudness(l *float64) string {
	if l == nil {
		return "silent"
	}
	return fmt.Sprintf("%.1f LUFS", *l)
}

// printList fetches a list from the city and prints it: as JSON with
// --json, else as a table of header and one row per item (cells
// separated by tabs). The list commands share it.
func printList[T any](c *command, asJSON bool, fetch func(cl *Client) ([]T, error), header string, row func(T) string) int {
	cl, code := c.client()
	if cl == nil {
		return code
	}
	list, err := fetch(cl)
	if err != nil {
		return c.failed(err)
	}
	if asJSON {
		return c.r.json(list)
	}
	tw := tabwriter.NewWriter(c.r.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	for _, x := range list {
		fmt.Fprintln(tw, row(x))
	}
	tw.Flush()
	return exitOK
}

func (r *runner) mediaList(args []string) int {
	c := r.command("media list", "[--json]", "List the media library, newest first.")
	asJSON := c.fs.Bool("json", false, "JSON output")
	if code, ok := c.parseFlags(args); !ok {
		return code
	}
	return printList(c, *asJSON, func(cl *Client) ([]api.Media, error) { return cl.Media(r.ctx) },
		"NAME\tTITLE\tDURATION\tLOUDNESS\tSHA256\tADDED", func(m api.Media) string {
			name := strings.Join(m.Names, ",")
			if name == "" {
				name = "(" + m.OriginalName + ")"
			}
			return strings.Join([]string{name, m.Title, formatDuration(m.DurationSeconds), formatLoudness(m.LoudnessLUFS),
				m.SHA256[:12], m.AddedAt.Local().Format("2006-01-02 15:04")}, "\t")
		})
}

func (r *runner) programLoad(args []string) int {
	c := r.command("program load", "FILE (--ward ID | --group G | --all) [--check]",
		"Load a program file (Chương trình) for one ward, a group of wards, or the whole city.\nMedia are named by their uploaded file name or sha256. A file with any error\nchanges nothing; errors are printed as FILE:LINE: message.")
	ward := c.fs.String("ward", "", "ward id")
	group := c.fs.String("group", "", "group name")
	all := c.fs.Bool("all", false, "every ward")
	check := c.fs.Bool("check", false, "validate only")
	pos, code, ok := c.parse(args)
	if !ok {
		return code
	}
	if len(pos) != 1 {
		return c.badArgs("want one program file")
	}
	var targets []string
	if *ward != "" {
		targets = append(targets, "ward:"+*ward)
	}
	if *group != "" {
		targets = append(targets, "group:"+*group)
	}
	if *all {
		targets = append(targets, "all")
	}
	if len(targets) != 1 {
		return c.badArgs("want exactly one of --ward ID, --group G, --all")
	}
	body, err := os.ReadFile(pos[0])
	if err != nil {
		fmt.Fprintf(r.stderr, "%s: cannot read: %v\n", pos[0], errors.Unwrap(err))
		return exitBadArgs
	}
	cl, code := c.client()
	if cl == nil {
		return code
	}
	res, err := cl.LoadPrograms(r.ctx, targets[0], pos[0], body, *check)
	var ae *APIError
	if errors.As(err, &ae) && len(ae.Body.Errors) > 0 {
		for _, e := range ae.Body.Errors {
			fmt.Fprintln(r.stderr, e)
		}
		return exitBadArgs
	}
	if err != nil {
		return c.failed(err)
	}
	if res.CheckOnly {
		fmt.Fprintf(r.stdout, "%s: OK, %d programs for %s (%d wards); nothing changed\n", pos[0], res.Programs, res.Target, len(res.Wards))
		return exitOK
	}
	fmt.Fprintf(r.stdout, "%s: %d programs loaded for %s; %d of %d wards get a new schedule\n", pos[0], res.Programs, res.Target, len(res.Changed), len(res.Wards))
	return exitOK
}

func (r *runner) programShow(args []string) int {
	c := r.command("program show", "--ward ID [--date YYYY-MM-DD] [--json]",
		"Show a ward's broadcast schedule (Lịch phát sóng) for a day, as the city computes it\nfrom the programs of the city, the ward's groups and the ward.")
	ward := c.fs.String("ward", "", "ward id (required)")
	date := c.fs.String("date", "", "day, YYYY-MM-DD (default: today at the city)")
	asJSON := c.fs.Bool("json", false, "JSON output")
	if code, ok := c.parseFlags(args); !ok {
		return code
	}
	if *ward == "" {
		return c.badArgs("--ward is required")
	}
	cl, code := c.client()
	if cl == nil {
		return code
	}
	tl, err := cl.Timeline(r.ctx, *ward, *date)
	if err != nil {
		return c.failed(err)
	}
	if *asJSON {
		return r.json(tl)
	}
	loc, err := time.LoadLocation(tl.Timezone)
	if err != nil {
		loc = time.UTC
	}
	fmt.Fprintf(r.stdout, "%s  %s (%s)\n", tl.Ward, tl.Date, tl.Timezone)
	if len(tl.Occurrences) == 0 {
		fmt.Fprintln(r.stdout, "nothing scheduled")
		return exitOK
	}
	tw := tabwriter.NewWriter(r.stdout, 0, 4, 2, ' ', 0)
	for _, o := range tl.Occurrences {
		var notes []string
		if o.Priority != "normal" {
			notes = append(notes, o.Priority)
		}
		if o.Displaced {
			notes = append(notes, "displaced")
		}
		note := ""
		if len(notes) > 0 {
			note = "(" + strings.Join(notes, ", ") + ")"
		}
		fmt.Fprintf(tw, "%s–%s\t%s\t%s\t%s\t%s\n", clock(o.Start.In(loc)), clock(o.End.In(loc)), o.Program, o.Title, o.Target, note)
	}
	tw.Flush()
	return exitOK
}

func clock(t time.Time) string {
	if t.Second() != 0 {
		return t.Format("15:04:05")
	}
	return t.Format("15:04")
}
