package agent

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"loa/internal/cmdkit"
	"loa/schedule"
)

// Version is stamped at build time (-ldflags "-X loa/agent.Version=…").
var Version = "dev"

// DefaultConfigPath is where a packaged agent reads its configuration.
const DefaultConfigPath = "/etc/loa/agent.conf"

// CLI is the loa-agent command line. Its fields are the process's
// surroundings, so that tests run the real commands in-process.
type CLI struct {
	Stdout, Stderr io.Writer
	Now            func() time.Time
	Getenv         func(string) string
}

const agentUsage = `loa-agent — đài truyền thanh phường/xã (ward station agent)

Usage:
  loa-agent run [--config FILE]                 the ward daemon ([--clock-offset 8h]: a rehearsal on a shifted clock)
  loa-agent program load FILE [--check]         validate and apply a local program file
  loa-agent program show [--date D] [--json]    the day's timeline (lịch phát sóng)
  loa-agent render --program FILE --from "YYYY-MM-DD HH:MM:SS" --duration 10m --out OUT.wav
                   [--alert ALERT.yaml@+MM:SS] [--rate 44100] [--channels 1|2] [--asrun FILE.csv]
  loa-agent status [--json]                     health of the running daemon
  loa-agent doctor                              check device, clock, disk, database
  loa-agent live start [--input alsa:DEVICE] [--mode duck|exclusive] | live stop
                                                the ward's own live voice over the program
                                                (control socket + token: root or group loa)
  loa-agent demo [--out FILE.wav]               a demo station with a generated program
  loa-agent join --city URL --code CODE         connect this station to the city with a one-time code
  loa-agent version

Every command takes --help. Exit status: 0 ok, 1 failure, 2 bad input.
`

// Main runs the command line and returns the exit status.
func (c *CLI) Main(ctx context.Context, args []string) int {
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Getenv == nil {
		c.Getenv = os.Getenv
	}
	if len(args) == 0 {
		fmt.Fprint(c.Stderr, agentUsage)
		return ExitInput
	}
	var err error
	switch args[0] {
	case "-h", "--help", "help":
		fmt.Fprint(c.Stdout, agentUsage)
		return ExitOK
	case "version", "--version":
		fmt.Fprintln(c.Stdout, "loa-agent", Version)
		return ExitOK
	case "manpage":
		return c.manpage(ctx)
	case "program", "live":
		if len(args) == 2 && (args[1] == "-h" || args[1] == "--help" || args[1] == "-help") {
			fmt.Fprint(c.Stdout, agentUsage)
			return ExitOK
		}
	}
	switch args[0] {
	case "program":
		if len(args) < 2 {
			fmt.Fprint(c.Stderr, "usage: loa-agent program load FILE [--check] | program show [--date D] [--json]\n")
			return ExitInput
		}
		switch args[1] {
		case "load":
			err = c.programLoad(ctx, args[2:])
		case "show":
			err = c.programShow(ctx, args[2:])
		default:
			err = usageErr(fmt.Sprintf("unknown command: program %s", args[1]))
		}
	case "render":
		err = c.render(ctx, args[1:])
	case "run":
		err = c.run(ctx, args[1:])
	case "status":
		err = c.status(ctx, args[1:])
	case "doctor":
		err = c.doctor(ctx, args[1:])
	case "live":
		err = c.live(ctx, args[1:])
	case "demo":
		err = c.demo(ctx, args[1:])
	case "join":
		err = c.join(ctx, args[1:])
	default:
		err = usageErr(fmt.Sprintf("unknown command %q\n\n%s", args[0], agentUsage))
	}
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return ExitOK
		}
		if errors.Is(err, ErrRestart) {
			return ExitRestart
		}
		var el schedule.ErrorList
		if errors.As(err, &el) {
			// Program file errors are bad input, listed one per line.
			fmt.Fprintln(c.Stderr, el.Error())
			return ExitInput
		}
		fmt.Fprintln(c.Stderr, "loa-agent:", err)
	}
	return ExitCode(err)
}

// commandTitles names every command in Vietnamese first, English beside;
// its --help starts with the name (cli_test.go checks every command has one).
var commandTitles = map[string]string{
	"run":          "Chạy đài truyền thanh phường/xã (the ward daemon)",
	"program load": "Nạp chương trình (load a local program file)",
	"program show": "Xem lịch phát sóng (the day's broadcast schedule)",
	"render":       "Kết xuất ra tệp WAV (offline render of a time window)",
	"status":       "Tình trạng đài (health of the running daemon)",
	"doctor":       "Kiểm tra đài (check device, clock, disk, database)",
	"live start":   "Phát trực tiếp (the ward's own live voice)",
	"live stop":    "Dừng phát trực tiếp (end the live voice)",
	"demo":         "Đài trình diễn (a demo station)",
	"join":         "Kết nối với đài thành phố (connect this station to the city)",
}

// flagSet is a command's flags and its help.
type flagSet struct {
	*flag.FlagSet
	name, usage string
	stdout      io.Writer
}

// flags makes a flag set whose --help prints the command's help once, on
// standard output, and whose bad flags are input errors that carry the
// usage line.
func (c *CLI) flags(name, usage string) *flagSet {
	fs := &flagSet{FlagSet: flag.NewFlagSet(name, flag.ContinueOnError), name: name, usage: usage, stdout: c.Stdout}
	// The flag package would print the help to standard error on --help
	// as well as its own message and the help on a bad flag: parse prints
	// the help, Main the error.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// help prints the command's Vietnamese and English name, its usage line
// and its flags.
func (fs *flagSet) help(w io.Writer) {
	if t := commandTitles[fs.name]; t != "" {
		fmt.Fprintf(w, "loa-agent %s — %s\n\n", fs.name, t)
	}
	fmt.Fprintf(w, "Usage: loa-agent %s\n\nFlags:\n", fs.usage)
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}

// parse parses flags that may come before or after the positional
// arguments, and returns the positional ones.
func parse(fs *flagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fs.help(fs.stdout)
				return nil, err
			}
			return nil, usageErr(fmt.Sprintf("%v\nusage: loa-agent %s (more: loa-agent %s --help)", err, fs.usage, fs.name))
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// configFlags adds --config and --data, and returns a loader.
func (c *CLI) configFlags(fs *flagSet) func() (Config, error) {
	cfgPath := fs.String("config", "", "configuration file (default "+DefaultConfigPath+" when it exists)")
	data := fs.String("data", "", "data folder (default from the configuration, else "+DefaultDataDir+")")
	return func() (Config, error) {
		path, explicit := *cfgPath, *cfgPath != ""
		if path == "" {
			path = c.Getenv("LOA_AGENT_CONFIG")
			explicit = path != ""
		}
		if path == "" {
			path = DefaultConfigPath
		}
		cfg, err := LoadConfig(path, explicit)
		if err != nil {
			return cfg, inputErr(err)
		}
		if *data != "" {
			cfg.Data = *data
		}
		return cfg, nil
	}
}

func (c *CLI) programLoad(ctx context.Context, args []string) error {
	fs := c.flags("program load", "program load FILE [--check] [--data DIR] [--config FILE]")
	check := fs.Bool("check", false, "validate only; change nothing")
	load := c.configFlags(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageErr("program load: give exactly one program file")
	}
	cfg, err := load()
	if err != nil {
		return err
	}
	st, err := OpenStation(ctx, cfg.Data, cfg.Audio.Rate, c.Now)
	if err != nil {
		return err
	}
	defer st.Close()
	st.Warn = func(path, warning string) {
		fmt.Fprintf(c.Stderr, "%s: cảnh báo / warning: %s\n", path, warning)
	}
	f, err := st.LoadProgram(ctx, pos[0], *check)
	if err != nil {
		var el schedule.ErrorList
		if errors.As(err, &el) {
			return err
		}
		return fmt.Errorf("program load %s: %w", pos[0], err)
	}
	items := 0
	for _, p := range f.Programs {
		items += len(programMedia(p))
	}
	if *check {
		fmt.Fprintf(c.Stdout, "%s: hợp lệ / valid — %d chương trình (programs), %d tệp âm thanh (media)\n", pos[0], len(f.Programs), items)
		return nil
	}
	fmt.Fprintf(c.Stdout, "%s: đã nạp / loaded — %d chương trình (programs), %d tệp âm thanh (media)\n", pos[0], len(f.Programs), items)
	return nil
}

// TimelineEntry is one line of `program show --json` (stable).
type TimelineEntry struct {
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
	ID       string    `json:"id"`
	Title    string    `json:"title"`
	Source   string    `json:"source"`
	Priority string    `json:"priority"`
	Items    []string  `json:"items"`
	Relay    string    `json:"relay,omitempty"`
}

func (c *CLI) programShow(ctx context.Context, args []string) error {
	fs := c.flags("program show", "program show [--date YYYY-MM-DD] [--json] [--data DIR]")
	date := fs.String("date", "", "the day to show (default: today, in the program's time zone)")
	asJSON := fs.Bool("json", false, "print JSON")
	load := c.configFlags(fs)
	if _, err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := load()
	if err != nil {
		return err
	}
	st, err := OpenStation(ctx, cfg.Data, cfg.Audio.Rate, c.Now)
	if err != nil {
		return err
	}
	defer st.Close()
	sched, errs := st.Schedule(ctx)
	for _, e := range errs {
		fmt.Fprintln(c.Stderr, "loa-agent:", e)
	}
	day := schedule.DateOf(c.Now().In(sched.Location()))
	if *date != "" {
		if day, err = schedule.ParseDate(*date); err != nil {
			return usageErr(fmt.Sprintf("--date %q: want YYYY-MM-DD", *date))
		}
	}
	entries := timelineEntries(sched, day)
	if *asJSON {
		enc := json.NewEncoder(c.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			Date     string          `json:"date"`
			Timezone string          `json:"timezone"`
			Programs []TimelineEntry `json:"programs"`
		}{day.String(), sched.Location().String(), entries})
	}
	loc := sched.Location()
	fmt.Fprintf(c.Stdout, "Lịch phát sóng %02d/%02d/%04d (%s)\n", day.Day, day.Month, day.Year, loc)
	if len(entries) == 0 {
		fmt.Fprintln(c.Stdout, "Không có chương trình nào / no programs.")
		return nil
	}
	tw := tabwriter.NewWriter(c.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "BẮT ĐẦU\tKẾT THÚC\tID\tCHƯƠNG TRÌNH\tNỘI DUNG")
	for _, e := range entries {
		content := strings.Join(e.Items, ", ")
		if e.Relay != "" {
			content = "tiếp sóng " + e.Relay
		}
		end := e.End.In(loc).Format("15:04:05")
		if schedule.DateOf(e.End.In(loc)) != day {
			end += " (+1)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", e.Start.In(loc).Format("15:04:05"), end, e.ID, e.Title, content)
	}
	return tw.Flush()
}

func timelineEntries(s *schedule.Schedule, day schedule.Date) []TimelineEntry {
	entries := []TimelineEntry{}
	for _, o := range s.Timeline(day) {
		e := TimelineEntry{Start: o.Start, End: o.End, ID: o.Program.ID, Title: o.Program.Title, Source: o.Source,
			Priority: o.Program.Priority.String(), Relay: o.Program.Relay, Items: []string{}}
		if o.Program.Chime != nil {
			e.Items = append(e.Items, o.Program.Chime.Ref)
		}
		for _, it := range o.Program.Items {
			e.Items = append(e.Items, it.Ref)
		}
		entries = append(entries, e)
	}
	return entries
}

func (c *CLI) render(ctx context.Context, args []string) error {
	fs := c.flags("render", `render --program FILE --from "YYYY-MM-DD HH:MM:SS" --duration 10m --out OUT.wav [--alert FILE@+MM:SS ...]`)
	var o RenderOptions
	fs.StringVar(&o.Program, "program", "", "program file (required)")
	fs.StringVar(&o.From, "from", "", `start of the window, "YYYY-MM-DD HH:MM:SS" in the program's time zone (required)`)
	fs.DurationVar(&o.Duration, "duration", 0, "length of the window, e.g. 10m (required)")
	fs.StringVar(&o.Out, "out", "", "WAV file to write (required)")
	fs.IntVar(&o.Rate, "rate", 44100, "sample rate")
	fs.IntVar(&o.Channels, "channels", 2, "1 or 2")
	fs.StringVar(&o.AsRunCSV, "asrun", "", "also write the as-run entries to this CSV file")
	fs.StringVar(&o.Cache, "cache", "", "folder to keep decoded media between renders")
	fs.Float64Var(&o.TargetLUFS, "target-lufs", cmdkit.DefaultTargetLUFS, "station loudness target")
	fs.Func("alert", "local alert file injected at an offset: ALERT.yaml@+MM:SS (repeatable)", func(s string) error {
		o.Alerts = append(o.Alerts, s)
		return nil
	})
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageErr("render: unexpected argument " + pos[0])
	}
	switch {
	case o.Program == "":
		return usageErr("render: --program is required")
	case o.From == "":
		return usageErr("render: --from is required")
	case o.Duration <= 0:
		return usageErr("render: --duration is required")
	case o.Out == "":
		return usageErr("render: --out is required")
	case o.Channels != 1 && o.Channels != 2:
		return usageErr("render: --channels must be 1 or 2")
	case o.Rate < 8000 || o.Rate > 192000:
		return usageErr("render: --rate must be between 8000 and 192000")
	}
	return Render(ctx, o, c.logger("text", "warn"))
}

// logger builds the logger of a command (cmdkit.NewLogger). The
// configuration's log section is checked when it is loaded (a bad level is
// refused there); the commands' own sections are fixed words.
func (c *CLI) logger(format, level string) *slog.Logger {
	log, err := cmdkit.NewLogger(cmdkit.LogConfig{Format: format, Level: level}, c.Stderr)
	if err != nil { // a section LoadConfig did not check: say so, never stop for it
		log = cmdkit.MustLogger(cmdkit.DefaultLog(), c.Stderr)
		log.Error("log section", "err", err)
	}
	return log
}
