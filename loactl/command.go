package loactl

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"text/tabwriter"
	"time"
)

// Signed commands to wards (docs/commands.md): command send, command
// status, stop-all.

// CommandRequest is the body of POST /api/v1/commands.
type CommandRequest struct {
	To      string      `json:"to"`
	Kind    string      `json:"kind"`
	Args    CommandArgs `json:"args"`
	Expires string      `json:"expires,omitempty"`
}

// CommandArgs are a command's arguments.
type CommandArgs struct {
	DB          *float64 `json:"db,omitempty"`
	MuteSeconds int64    `json:"mute_seconds,omitempty"`
	Seconds     int64    `json:"seconds,omitempty"`
	LevelDBFS   *float64 `json:"level_dbfs,omitempty"`
	On          *bool    `json:"on,omitempty"`
	LogLines    int64    `json:"log_lines,omitempty"`
}

// CommandSent is the answer to a command sent.
type CommandSent struct {
	ID        string   `json:"id"`
	Kind      string   `json:"kind"`
	To        string   `json:"to"`
	Wards     []string `json:"wards"`
	Expires   string   `json:"expires"`
	Published bool     `json:"published"`
}

// CommandStatus is GET /api/v1/commands/{id}.
type CommandStatus struct {
	ID     string `json:"id"`
	Known  bool   `json:"known"`
	Kind   string `json:"kind"`
	To     string `json:"to"`
	Sender string `json:"sender"`
	Acks   []struct {
		Ward     string          `json:"ward"`
		State    string          `json:"state"`
		Reason   string          `json:"reason"`
		Verified bool            `json:"verified"`
		At       time.Time       `json:"at"`
		Detail   json.RawMessage `json:"detail"`
	} `json:"acks"`
	Done     int      `json:"done"`
	Failed   int      `json:"failed"`
	Refused  int      `json:"refused"`
	NoAnswer []string `json:"no_answer"`
}

// SendCommand sends a signed command to wards.
func (c *Client) SendCommand(ctx context.Context, req CommandRequest) (CommandSent, error) {
	b, err := json.Marshal(req)
	if err != nil {
		return CommandSent{}, err
	}
	var out CommandSent
	_, err = c.do(ctx, http.MethodPost, "/api/v1/commands", bytes.NewReader(b), http.Header{"Content-Type": {"application/json"}}, &out)
	return out, err
}

// Command returns a command with each ward's ack.
func (c *Client) Command(ctx context.Context, id string) (CommandStatus, error) {
	var out CommandStatus
	return out, c.get(ctx, "/api/v1/commands/"+url.PathEscape(id), &out)
}

func (r *runner) commandSend(args []string) int {
	c := r.command("command send", "--to all|ID,...|group:G --kind stop_all|volume|mute|unmute|sync_now|test_tone|amplifier|restart|diagnostics [--db -6] [--mute 30m] [--seconds 5] [--level -12] [--on=true|false] [--log-lines 200] [--expires 10m]",
		"Lệnh điều khiển: send a command signed by the city to wards. Each ward checks it and acks it\n(done, failed, or refused with the reason); `loactl command status ID` shows the acks.\n"+
			"  test_tone --seconds 5 [--level -12]   a 1 kHz tone; the ack carries the level measured at the output\n"+
			"  amplifier --on=false --seconds 600    force the amplifier on or off, then automatic (alerts still power it)\n"+
			"  restart                               the agent acks, then restarts\n"+
			"  diagnostics [--log-lines 200]         status, last log lines, config without secrets, disk, versions\n"+
			"                                        (`loactl command status ID --json` shows the bundle)")
	to := c.fs.String("to", "", "all, ward ids and group:NAME, comma-separated (required)")
	kind := c.fs.String("kind", "", "stop_all, volume, mute, unmute, sync_now, test_tone, amplifier, restart or diagnostics (required)")
	db := c.fs.Float64("db", 0, "volume: the master volume in dB (-60 to 0)")
	mute := c.fs.Duration("mute", 0, "mute and stop_all: how long the programs stay muted")
	secs := c.fs.Int64("seconds", 0, "test_tone: how long the tone plays (1-30); amplifier: how long the override holds")
	level := c.fs.Float64("level", -12, "test_tone: the tone's level in dBFS (-40 to -3)")
	on := c.fs.Bool("on", false, "amplifier: force it on (true) or off (false); required with amplifier")
	logLines := c.fs.Int64("log-lines", 0, "diagnostics: how many of the ward's last log lines to bring back (default 200, at most 1000)")
	expires := c.fs.Duration("expires", 0, "how long the command is good for (default 10m)")
	asJSON := c.fs.Bool("json", false, "print the result as JSON")
	pos, code, ok := c.parse(args)
	if !ok {
		return code
	}
	if len(pos) != 0 || *to == "" || *kind == "" {
		return c.badArgs("want --to and --kind")
	}
	req := CommandRequest{To: *to, Kind: *kind, Args: CommandArgs{MuteSeconds: int64(mute.Seconds()), Seconds: *secs}}
	set := map[string]bool{}
	c.fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	switch *kind {
	case "volume":
		req.Args.DB = db
	case "test_tone":
		req.Args.LevelDBFS = level
	case "amplifier":
		if set["on"] {
			req.Args.On = on
		}
	case "diagnostics":
		req.Args.LogLines = *logLines
	}
	if *expires > 0 {
		req.Expires = expires.String()
	}
	return r.sendCommand(c, req, *asJSON)
}

func (r *runner) stopAll(args []string) int {
	c := r.command("stop-all", "--to all|ID,...|group:G [--mute 30m]",
		"Dừng tất cả: every alert and live announcement on the wards named stops now, and their\nprograms stay muted for --mute. Signed by the city, on its own stream (an alert backlog does\nnot hold it up).")
	to := c.fs.String("to", "", "all, ward ids and group:NAME, comma-separated (required)")
	mute := c.fs.Duration("mute", 0, "how long the programs stay muted (0: not muted)")
	asJSON := c.fs.Bool("json", false, "print the result as JSON")
	pos, code, ok := c.parse(args)
	if !ok {
		return code
	}
	if len(pos) != 0 || *to == "" {
		return c.badArgs("want --to")
	}
	return r.sendCommand(c, CommandRequest{To: *to, Kind: "stop_all", Args: CommandArgs{MuteSeconds: int64(mute.Seconds())}}, *asJSON)
}

func (r *runner) sendCommand(c *command, req CommandRequest, asJSON bool) int {
	cl, code := c.client()
	if cl == nil {
		return code
	}
	res, err := cl.SendCommand(r.ctx, req)
	if err != nil {
		return c.failed(err)
	}
	if asJSON {
		return r.json(res)
	}
	fmt.Fprintln(r.stdout, res.ID)
	if !res.Published {
		fmt.Fprintf(r.stderr, "lệnh đã lưu nhưng CHƯA gửi / command recorded but NOT sent yet: the city keeps trying until %s\n", res.Expires)
		return exitFailure
	}
	fmt.Fprintf(r.stderr, "Đã gửi lệnh / %s sent to %d ward(s); `loactl command status %s` shows the acks\n", res.Kind, len(res.Wards), res.ID)
	return exitOK
}

// ackDetail is an ack's detail on one line; a diagnostics bundle only by
// its size (--json prints it).
func ackDetail(d json.RawMessage) string {
	var m map[string]json.RawMessage
	if json.Unmarshal(d, &m) == nil {
		if diag, ok := m["diagnostics"]; ok {
			m["diagnostics"] = json.RawMessage(fmt.Sprintf("%q", fmt.Sprintf("%d bytes: --json", len(diag))))
			if b, err := json.Marshal(m); err == nil {
				return string(b)
			}
		}
	}
	return string(bytes.Join(bytes.Fields(d), nil))
}

func (r *runner) commandStatus(args []string) int {
	c := r.command("command status", "ID [--json]", "A command with each ward's ack: done, failed, or refused with the reason.")
	asJSON := c.fs.Bool("json", false, "print the result as JSON")
	pos, code, ok := c.parse(args)
	if !ok {
		return code
	}
	if len(pos) != 1 {
		return c.badArgs("want one command id")
	}
	cl, code := c.client()
	if cl == nil {
		return code
	}
	st, err := cl.Command(r.ctx, pos[0])
	if err != nil {
		return c.failed(err)
	}
	if *asJSON {
		return r.json(st)
	}
	if st.Known {
		fmt.Fprintf(r.stdout, "%s: %s to %s by %s — %d done, %d failed, %d refused, %d no answer\n",
			st.ID, st.Kind, st.To, st.Sender, st.Done, st.Failed, st.Refused, len(st.NoAnswer))
	} else {
		fmt.Fprintf(r.stdout, "%s: không phải lệnh của thành phố / not a command the city sent (forged?)\n", st.ID)
	}
	tw := tabwriter.NewWriter(r.stdout, 0, 4, 2, ' ', 0)
	for _, a := range st.Acks {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", a.Ward, a.State, a.Reason, a.At.Local().Format("15:04:05"), ackDetail(a.Detail))
	}
	tw.Flush()
	return exitOK
}
