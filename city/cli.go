package city

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"text/tabwriter"
	"time"

	"loa/city/accounts"
	"loa/internal/cmdkit"
	"loa/signing"
)

// Exit statuses (loa/internal/cmdkit).
const (
	exitOK      = cmdkit.ExitOK
	exitFailure = cmdkit.ExitFailure
	exitBadArgs = cmdkit.ExitInput
)

const usage = `loa-city — đài truyền thanh thành phố (the city station server).

Usage:
  loa-city run [--config FILE]                      serve the HTTP API
  loa-city ward add ID [--group G]... [--config FILE]   register a ward; prints its token once
  loa-city ward code ID [--code-ttl 24h] [--config FILE]   a new one-time join code for a ward
  loa-city ward list [--json] [--config FILE]
  loa-city ward set ID [--name "Phường Bến Nghé"] [--lat 10.78 --lon 106.70] [--config FILE]
                                   a ward's name with its diacritics, and where its station is
  loa-city user add NAME --role ROLE [--wards W,W] [--groups G,G] [--json] [--config FILE]
                                   add a user; prints a one-time console password and the API token, once
                                   (roles: admin, operator, alerter, technician; no --wards/--groups: city-wide)
  loa-city user scope NAME (--wards W,W [--groups G,G] | --groups G,G | --all) [--config FILE]
                                   limit a user to some wards and groups, or make them city-wide again
  loa-city user passwd NAME [--config FILE]          a new one-time console password; ends their sessions
  loa-city user disable NAME [--config FILE]         no log-in, no token, sessions ended
  loa-city user enable NAME [--config FILE]
  loa-city user list [--json] [--config FILE]
  loa-city notify show USER [--json] [--config FILE]   where a user is told when a ward goes wrong
  loa-city notify set USER [--email ADDR] [--telegram CHAT] [--webhook URL] [--rules R,R|all] [--config FILE]
                                   change it (rules: offline, silent, out_of_sync, clock, disk, alert_late)
  loa-city key [--config FILE]                      the public key the wards must trust
  loa-city ward key ID [--config FILE]               re-issue a ward's NATS key; prints it once
  loa-city nats config [--config FILE]               users for an external NATS server (docs/nats.md)

Every command takes --help. Exit status: 0 ok, 1 failure, 2 bad input.
`

// Main runs loa-city with args (without the program name) and returns the
// exit status.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitBadArgs
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "-h", "--help", "-help", "help":
		fmt.Fprint(stdout, usage)
		return exitOK
	case "version", "--version":
		fmt.Fprintln(stdout, "loa-city", Version)
		return exitOK
	case "manpage":
		return writeManpage(ctx, stdout)
	case "run":
		return cmdRun(ctx, rest, stdout, stderr)
	case "key":
		return cmdKey(ctx, rest, stdout, stderr)
	case "nats":
		return cmdNATS(ctx, rest, stdout, stderr)
	case "notify":
		return cmdNotify(ctx, rest, stdout, stderr)
	case "ward", "user":
		if len(rest) == 0 {
			fmt.Fprintf(stderr, "loa-city %s: want add or list\n\n%s", cmd, usage)
			return exitBadArgs
		}
		sub := cmd + " " + rest[0]
		switch sub {
		case "ward add":
			return cmdWardAdd(ctx, rest[1:], stdout, stderr)
		case "ward code":
			return cmdWardCode(ctx, rest[1:], stdout, stderr)
		case "ward list":
			return cmdWardList(ctx, rest[1:], stdout, stderr)
		case "ward set":
			return cmdWardSet(ctx, rest[1:], stdout, stderr)
		case "ward key":
			return cmdWardKey(ctx, rest[1:], stdout, stderr)
		case "user add":
			return cmdUserAdd(ctx, rest[1:], stdout, stderr)
		case "user list":
			return cmdUserList(ctx, rest[1:], stdout, stderr)
		case "user scope":
			return cmdUserScope(ctx, rest[1:], stdout, stderr)
		case "user passwd":
			return cmdUserPasswd(ctx, rest[1:], stdout, stderr)
		case "user disable", "user enable":
			return cmdUserDisable(ctx, sub, rest[1:], stdout, stderr)
		case "ward -h", "ward --help", "user -h", "user --help":
			fmt.Fprint(stdout, usage)
			return exitOK
		}
		fmt.Fprintf(stderr, "loa-city %s: unknown command %q\n\n%s", cmd, rest[0], usage)
		return exitBadArgs
	}
	fmt.Fprintf(stderr, "loa-city: unknown command %q\n\n%s", cmd, usage)
	return exitBadArgs
}

// commandTitles names every command in Vietnamese first, English beside;
// its --help starts with the name (cli_test.go checks every command has one).
var commandTitles = map[string]string{
	"run":          "Chạy đài truyền thanh thành phố (serve the city station)",
	"ward add":     "Thêm đài phường/xã (register a ward)",
	"ward code":    "Mã kết nối đài phường/xã (a ward's one-time join code)",
	"ward list":    "Danh sách đài phường/xã (the wards)",
	"ward set":     "Tên và vị trí đài phường/xã (a ward's name and location)",
	"ward key":     "Cấp lại khoá NATS của đài phường/xã (re-issue a ward's NATS key)",
	"user add":     "Thêm người dùng (add a user)",
	"user passwd":  "Cấp lại mật khẩu dùng một lần (a new one-time password)",
	"user disable": "Khoá người dùng (disable a user)",
	"user enable":  "Mở khoá người dùng (enable a user)",
	"user list":    "Danh sách người dùng (the API users)",
	"user scope":   "Phạm vi của người dùng (the wards and groups a user may see and change)",
	"key":          "Khoá ký của đài thành phố (the city's signing key)",
	"nats config":  "Cấu hình máy chủ NATS ngoài (users for an external NATS server)",
	"notify show":  "Thông báo của người dùng (where a user is told when a ward goes wrong)",
	"notify set":   "Đặt thông báo của người dùng (change where a user is told and of what)",
}

// command is one subcommand's flags.
type command struct {
	name   string
	args   string // positional arguments, for the usage line
	help   string
	fs     *flag.FlagSet
	config *string
	stdout io.Writer
	// tools: open checks the outside programs the configuration needs
	// (CheckTools) and refuses to go on without them.
	tools bool
}

func newCommand(name, args, help string, stdout, stderr io.Writer) *command {
	c := &command{name: name, args: args, help: help, fs: flag.NewFlagSet(name, flag.ContinueOnError), stdout: stdout}
	c.fs.SetOutput(stderr)
	c.config = c.fs.String("config", "", "configuration file (YAML); default: built-in defaults")
	// The flag package prints the help on --help and on a bad flag, to the
	// same place: parse prints it instead, once, where it belongs.
	c.fs.Usage = func() {}
	return c
}

func (c *command) usage(w io.Writer) {
	if t := commandTitles[c.name]; t != "" {
		fmt.Fprintf(w, "loa-city %s — %s\n\n", c.name, t)
	}
	fmt.Fprintf(w, "Usage: loa-city %s %s\n\n%s\n\nFlags:\n", c.name, c.args, c.help)
	out := c.fs.Output()
	c.fs.SetOutput(w)
	c.fs.PrintDefaults()
	c.fs.SetOutput(out)
}

// parse reads flags anywhere among the arguments (ward add ID --group G)
// and returns the positional ones. ok is false when the command must stop
// with status code (--help: 0; a bad flag: 2).
func (c *command) parse(args []string, npos int) (pos []string, code int, ok bool) {
	for {
		if err := c.fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				c.usage(c.stdout)
				return nil, exitOK, false
			}
			c.usage(c.fs.Output())
			return nil, exitBadArgs, false
		}
		args = c.fs.Args()
		if len(args) == 0 {
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	if npos >= 0 && len(pos) != npos {
		fmt.Fprintf(c.fs.Output(), "loa-city %s: want %d argument(s) (%s), got %d\n", c.name, npos, c.args, len(pos))
		return nil, exitBadArgs, false
	}
	return pos, 0, true
}

// open loads the configuration and opens the city.
// parseAndOpen parses args (want positional arguments) and opens the
// city station; city is nil when the command ends there, with code.
func (c *command) parseAndOpen(ctx context.Context, args []string, want int, stderr io.Writer) (pos []string, city *City, code int) {
	pos, code, ok := c.parse(args, want)
	if !ok {
		return nil, nil, code
	}
	city, code = c.open(ctx, stderr)
	return pos, city, code
}

func (c *command) open(ctx context.Context, stderr io.Writer) (*City, int) {
	cfg, err := LoadConfig(*c.config)
	if err != nil {
		fmt.Fprintf(stderr, "loa-city %s: %v\n", c.name, err)
		return nil, exitBadArgs
	}
	if c.tools {
		if err := CheckTools(ctx, cfg); err != nil {
			// Exit status 2, like a configuration error: the service unit
			// does not restart it (RestartPreventExitStatus=2), as nothing
			// changes until the program is installed.
			fmt.Fprintf(stderr, "loa-city %s: không khởi động, thiếu chương trình cần thiết / not starting, a program it needs is missing:\n", c.name)
			for _, line := range strings.Split(err.Error(), "\n") {
				fmt.Fprintf(stderr, "  %s\n", line)
			}
			return nil, exitBadArgs
		}
	}
	log, err := cmdkit.NewLogger(cfg.Log, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "loa-city %s: %v\n", c.name, err)
		return nil, exitBadArgs
	}
	city, err := Open(ctx, cfg, log)
	if err != nil {
		fmt.Fprintf(stderr, "loa-city %s: %v\n", c.name, err)
		return nil, exitFailure
	}
	return city, exitOK
}

// failed reports err and returns its exit status: 2 for bad input.
func failed(stderr io.Writer, name string, err error) int {
	fmt.Fprintf(stderr, "loa-city %s: %v\n", name, err)
	return cmdkit.ExitCode(err)
}

func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newCommand("run", "[--config FILE]", "Serve the city's HTTP API until SIGINT or SIGTERM. It does not start without the\nprograms the configuration names: ffmpeg (ingest.ffmpeg, with libmp3lame) and\nespeak-ng with the voices vi, vi-vn-x-central and vi-vn-x-south (alerts.espeak).", stdout, stderr)
	c.tools = true
	if _, code, ok := c.parse(args, 0); !ok {
		return code
	}
	city, code := c.open(ctx, stderr)
	if city == nil {
		return code
	}
	defer city.Close()
	city.Library.CleanTemp()
	if err := city.Library.ExpireUploads(ctx); err != nil {
		city.Log.Warn("expire uploads", "err", err)
	}
	changed, err := city.Programs.RebuildAll(ctx)
	if err != nil {
		return failed(stderr, "run", err)
	}
	if len(changed) > 0 {
		city.Log.Info("manifests re-issued", "wards", strings.Join(changed, ","))
	}
	stopAlerts, err := city.StartAlerts(ctx)
	if err != nil {
		return failed(stderr, "run", err)
	}
	defer stopAlerts()
	ln, err := net.Listen("tcp", city.Config.Listen)
	if err != nil {
		return failed(stderr, "run", err)
	}
	if ln, err = city.WrapTLS(ln); err != nil { // city/tls.go
		return failed(stderr, "run", err)
	}
	city.Log.Info("loa-city listening", "addr", ln.Addr().String(), "tls", city.Config.TLS.Enabled(), "version", Version, "data", city.Config.Data,
		"key_id", city.KeyID(), "timezone", city.Config.Timezone)
	if err := city.Serve(ctx, ln, 10*time.Second); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return failed(stderr, "run", err)
	}
	city.Log.Info("loa-city stopped")
	return exitOK
}

type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

func cmdWardAdd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newCommand("ward add", "ID [--group G]...", "Register a ward and print its NATS key and token, once: only the key's public half\nand the token's hash are kept. Put them in the ward's loa-agent configuration\n(city.nats_key, city.token).", stdout, stderr)
	var groups stringList
	c.fs.Var(&groups, "group", "a group the ward belongs to (district, zone); repeat for several")
	ttl := joinTTLFlag(c.fs) // city/join.go
	asJSON := c.fs.Bool("json", false, "print the credentials as JSON (for scripts)")
	pos, city, code := c.parseAndOpen(ctx, args, 1, stderr)
	if city == nil {
		return code
	}
	defer city.Close()
	tok, err := city.AddWard(ctx, pos[0], groups)
	if err != nil {
		return failed(stderr, "ward add", err)
	}
	seed, err := city.IssueWardKey(ctx, pos[0])
	if err != nil {
		return failed(stderr, "ward add", err)
	}
	if *asJSON {
		code, expires, err := city.IssueJoinCode(ctx, pos[0], *ttl)
		if err != nil {
			return failed(stderr, "ward add", err)
		}
		return writeJSONTo(stdout, stderr, WardAdded{Ward: pos[0], Token: tok, NATSKey: seed, JoinCode: code, JoinExpires: expires,
			PublicKey: signing.PublicKeyText(city.PublicKey()), KeyID: city.KeyID()})
	}
	fmt.Fprintf(stdout, "ward %s added.\nIts token (city.token; shown only this once):\n%s\n", pos[0], tok)
	fmt.Fprintf(stdout, "Its NATS key (city.nats_key; shown only this once):\n%s\n", seed)
	return printJoinCode(ctx, city, pos[0], *ttl, stdout, stderr)
}

// WardAdded is `loa-city ward add --json`: everything a ward needs, once.
type WardAdded struct {
	Ward        string    `json:"ward"`
	Token       string    `json:"token"`
	NATSKey     string    `json:"nats_key"`
	JoinCode    string    `json:"join_code"`
	JoinExpires time.Time `json:"join_expires"`
	PublicKey   string    `json:"public_key"`
	KeyID       string    `json:"key_id"`
}

func writeJSONTo(stdout, stderr io.Writer, v any) int {
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return failed(stderr, "json", err)
	}
	return exitOK
}

func cmdWardSet(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newCommand("ward set", "ID", "Set a ward's display name (with its diacritics, shown on the console) and the\nlocation of its station (latitude and longitude in degrees, for the map).\nA flag left out keeps its value.", stdout, stderr)
	name := c.fs.String("name", "", `display name, e.g. "Phường Bến Nghé"`)
	lat := c.fs.Float64("lat", 0, "latitude, degrees north (with --lon)")
	lon := c.fs.Float64("lon", 0, "longitude, degrees east (with --lat)")
	pos, code, ok := c.parse(args, 1)
	if !ok {
		return code
	}
	set := map[string]bool{}
	c.fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	city, code := c.open(ctx, stderr)
	if city == nil {
		return code
	}
	defer city.Close()
	w, err := city.Accounts.Ward(ctx, pos[0])
	if err != nil {
		return failed(stderr, "ward set", err)
	}
	newName, la, lo := w.DisplayName, w.Lat, w.Lon
	if set["name"] {
		newName = *name
	}
	if set["lat"] || set["lon"] {
		la, lo = nil, nil
		if set["lat"] {
			la = lat
		}
		if set["lon"] {
			lo = lon
		}
	}
	if err := city.Accounts.SetWardInfo(ctx, pos[0], newName, la, lo); err != nil {
		return failed(stderr, "ward set", err)
	}
	city.Audit.Record(ctx, "loa-city", "ward.set", pos[0], strings.TrimSpace(fmt.Sprintf("%s %s", newName, fmtLocation(la, lo))))
	fmt.Fprintf(stdout, "Đã cập nhật %s / ward %s updated: %q %s\n", pos[0], pos[0], newName, fmtLocation(la, lo))
	return exitOK
}

func fmtLocation(lat, lon *float64) string {
	if lat == nil || lon == nil {
		return ""
	}
	return fmt.Sprintf("%.5f,%.5f", *lat, *lon)
}

func cmdWardList(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newCommand("ward list", "[--json]", "List the wards.", stdout, stderr)
	asJSON := c.fs.Bool("json", false, "JSON output")
	if _, code, ok := c.parse(args, 0); !ok {
		return code
	}
	city, code := c.open(ctx, stderr)
	if city == nil {
		return code
	}
	defer city.Close()
	wards, err := city.Accounts.Wards(ctx)
	if err != nil {
		return failed(stderr, "ward list", err)
	}
	out := make([]any, 0, len(wards))
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	if !*asJSON {
		fmt.Fprintln(tw, "WARD\tGROUPS\tMANIFEST\tLAST SEEN")
	}
	for _, w := range wards {
		a := city.wardJSON(ctx, w)
		out = append(out, a)
		seen := "never"
		if a.LastSeen != nil {
			seen = a.LastSeen.In(city.loc).Format("2006-01-02 15:04:05")
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", a.ID, strings.Join(a.Groups, ","), a.ManifestVersion, seen)
	}
	if *asJSON {
		return printJSON(stdout, out)
	}
	tw.Flush()
	return exitOK
}

func printJSON(w io.Writer, v any) int {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return exitFailure
	}
	return exitOK
}

func cmdUserAdd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newCommand("user add", "NAME --role ROLE", "Add a user. Prints, once, a one-time password for the web console (changed at the\nfirst log-in) and a token for loactl and the JSON API.\nRoles: admin (everything), operator (media, programs), alerter (alerts),\ntechnician (ward status, as-run).", stdout, stderr)
	role := c.fs.String("role", "", "admin, operator, alerter or technician (required)")
	wards := c.fs.String("wards", "", "comma-separated ward ids the user is limited to (with --groups; neither: the whole city)")
	groups := c.fs.String("groups", "", "comma-separated groups the user is limited to (their wards)")
	asJSON := c.fs.Bool("json", false, "JSON output: name, role, password, token")
	pos, code, ok := c.parse(args, 1)
	if !ok {
		return code
	}
	if *role == "" {
		fmt.Fprintln(stderr, "loa-city user add: --role is required (admin, operator, alerter or technician)")
		return exitBadArgs
	}
	city, code := c.open(ctx, stderr)
	if city == nil {
		return code
	}
	defer city.Close()
	tok, password, err := city.Accounts.AddScopedPerson(ctx, pos[0], *role, splitList(*wards), splitList(*groups))
	if err != nil {
		return failed(stderr, "user add", err)
	}
	scope := accounts.Scope{Wards: splitList(*wards), Groups: splitList(*groups)}
	city.Audit.Record(ctx, "loa-city", "user.add", pos[0], "role "+*role+" scope "+scope.String())
	if *asJSON {
		return writeJSONTo(stdout, stderr, struct {
			Name     string `json:"name"`
			Role     string `json:"role"`
			Password string `json:"password"`
			Token    string `json:"token"`
		}{pos[0], *role, password, tok})
	}
	fmt.Fprintf(stdout, "user %s (%s) added.\nMật khẩu dùng một lần cho bảng điều khiển (đổi khi đăng nhập lần đầu) / one-time console password (changed at the first log-in):\n%s\nTheir token for loactl and the API (shown only this once):\n%s\n", pos[0], *role, password, tok)
	return exitOK
}

func cmdUserPasswd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newCommand("user passwd", "NAME", "Give a user a new one-time console password (printed once) and end their sessions.", stdout, stderr)
	pos, city, code := c.parseAndOpen(ctx, args, 1, stderr)
	if city == nil {
		return code
	}
	defer city.Close()
	password, err := city.Accounts.ResetPassword(ctx, pos[0])
	if err != nil {
		return failed(stderr, "user passwd", err)
	}
	city.Audit.Record(ctx, "loa-city", "user.passwd", pos[0], "")
	fmt.Fprintf(stdout, "Mật khẩu dùng một lần mới của %s / new one-time password of %s:\n%s\n", pos[0], pos[0], password)
	return exitOK
}

func cmdUserDisable(ctx context.Context, name string, args []string, stdout, stderr io.Writer) int {
	disable := name == "user disable"
	help := "Disable a user: no console log-in, their token refused, their sessions ended."
	if !disable {
		help = "Enable a disabled user again."
	}
	c := newCommand(name, "NAME", help, stdout, stderr)
	pos, city, code := c.parseAndOpen(ctx, args, 1, stderr)
	if city == nil {
		return code
	}
	defer city.Close()
	if err := city.Accounts.SetDisabled(ctx, pos[0], disable); err != nil {
		return failed(stderr, name, err)
	}
	city.Audit.Record(ctx, "loa-city", strings.ReplaceAll(name, " ", "."), pos[0], "")
	if disable {
		fmt.Fprintf(stdout, "Đã khoá %s / %s disabled.\n", pos[0], pos[0])
	} else {
		fmt.Fprintf(stdout, "Đã mở khoá %s / %s enabled.\n", pos[0], pos[0])
	}
	return exitOK
}

// splitList reads a comma-separated flag ("" : none).
func splitList(s string) []string {
	var out []string
	for _, x := range strings.Split(s, ",") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}

func cmdUserScope(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newCommand("user scope", "NAME (--wards W,W [--groups G,G] | --groups G,G | --all)", "Limit a user to some wards and groups: they see and change only those wards, and\nthe wards of those groups (as the groups are now and later). --all makes them\ncity-wide again. An admin is always city-wide. The change applies at once to the\nuser's console sessions and token.", stdout, stderr)
	wards := c.fs.String("wards", "", "comma-separated ward ids")
	groups := c.fs.String("groups", "", "comma-separated groups")
	all := c.fs.Bool("all", false, "the whole city")
	pos, code, ok := c.parse(args, 1)
	if !ok {
		return code
	}
	city, code := c.open(ctx, stderr)
	if city == nil {
		return code
	}
	defer city.Close()
	sc, err := city.Accounts.SetScope(ctx, pos[0], splitList(*wards), splitList(*groups), *all)
	if err != nil {
		return failed(stderr, "user scope", err)
	}
	city.Audit.Record(ctx, "loa-city", "user.scope", pos[0], sc.String())
	if sc.CityWide() {
		fmt.Fprintf(stdout, "%s: cả thành phố / the whole city.\n", pos[0])
	} else {
		fmt.Fprintf(stdout, "%s: %s\n", pos[0], scopeText(sc))
	}
	return exitOK
}

// scopeText is a scope as the command line shows it, Vietnamese first.
func scopeText(sc accounts.Scope) string {
	if sc.CityWide() {
		return "cả thành phố / all"
	}
	var parts []string
	if len(sc.Wards) > 0 {
		parts = append(parts, "phường / wards "+strings.Join(sc.Wards, ","))
	}
	if len(sc.Groups) > 0 {
		parts = append(parts, "nhóm / groups "+strings.Join(sc.Groups, ","))
	}
	return strings.Join(parts, "; ")
}

func cmdUserList(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newCommand("user list", "[--json]", "List the API users.", stdout, stderr)
	asJSON := c.fs.Bool("json", false, "JSON output")
	if _, code, ok := c.parse(args, 0); !ok {
		return code
	}
	city, code := c.open(ctx, stderr)
	if city == nil {
		return code
	}
	defer city.Close()
	users, err := city.Accounts.Users(ctx)
	if err != nil {
		return failed(stderr, "user list", err)
	}
	if *asJSON {
		type u struct {
			Name   string   `json:"name"`
			Role   string   `json:"role"`
			Wards  []string `json:"wards,omitempty"`
			Groups []string `json:"groups,omitempty"`
		}
		out := []u{}
		for _, x := range users {
			sc := accounts.ScopeOf(x)
			out = append(out, u{x.Name, x.Role, sc.Wards, sc.Groups})
		}
		return printJSON(stdout, out)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "USER\tROLE\tSCOPE")
	for _, x := range users {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", x.Name, x.Role, accounts.ScopeOf(x).String())
	}
	tw.Flush()
	return exitOK
}

func cmdKey(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newCommand("key", "[--config FILE]", "Print the city's public signing key and its fingerprint (created on first use).\nEvery ward's loa-agent configuration must name this key (city.public_key).", stdout, stderr)
	if _, code, ok := c.parse(args, 0); !ok {
		return code
	}
	city, code := c.open(ctx, stderr)
	if city == nil {
		return code
	}
	defer city.Close()
	fmt.Fprintf(stdout, "public key: %s\nkey id:     %s\n", signing.PublicKeyText(city.PublicKey()), city.KeyID())
	return exitOK
}
