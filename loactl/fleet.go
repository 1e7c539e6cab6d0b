package loactl

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/sys/unix"

	"loa/city/api"
	"loa/fleet"
)

func (r *runner) wards(args []string) int {
	c := r.command("wards", "[--json] [--watch [--every 2s]]",
		"Every ward's health as the city sees it from the heartbeats: state, last heartbeat,\n"+
			"what plays, output level, sync age, agent version. Problems first (mất kết nối,\n"+
			"lỗi thiết bị âm thanh, im lặng bất thường, lệch giờ, phát trễ, chưa đồng bộ).\n"+
			"--watch redraws until interrupted.")
	asJSON := c.fs.Bool("json", false, "JSON output (the API's ward objects, with health)")
	watch := c.fs.Bool("watch", false, "redraw every --every until interrupted")
	every := c.fs.Duration("every", 2*time.Second, "refresh period with --watch")
	if code, ok := c.parseFlags(args); !ok {
		return code
	}
	if *watch && *every < 200*time.Millisecond {
		return c.badArgs("--every %s: at least 200ms", *every)
	}
	cl, code := c.client()
	if cl == nil {
		return code
	}
	tty := isTerminal(r.stdout)
	for {
		wards, err := cl.Wards(r.ctx)
		if err != nil && r.ctx.Err() == nil {
			if !*watch {
				return c.failed(err)
			}
			fmt.Fprintf(r.stderr, "loactl wards: %v\n", err)
		}
		if err == nil {
			sortWards(wards)
			if *asJSON {
				if code := r.json(wards); code != exitOK {
					return code
				}
			} else {
				var buf bytes.Buffer
				if *watch {
					if tty {
						buf.WriteString("\033[H\033[2J")
					}
					fmt.Fprintf(&buf, "%s  (mỗi / every %s; Ctrl-C to stop)\n", time.Now().Format("15:04:05"), *every)
				}
				// The city's own health first: wards that look fine do
				// not hear an alert the city cannot send.
				if ps := cl.AlertProblems(r.ctx); len(ps) > 0 {
					buf.WriteString("!! THÀNH PHỐ KHÔNG GỬI ĐƯỢC CẢNH BÁO / THE CITY CANNOT SEND ALERTS:\n")
					for _, p := range ps {
						buf.WriteString("!!   " + p + "\n")
					}
				}
				writeWardsTable(&buf, wards)
				if *watch && !tty {
					buf.WriteString("\n")
				}
				r.stdout.Write(buf.Bytes())
			}
		}
		if !*watch {
			return exitOK
		}
		select {
		case <-r.ctx.Done():
			return exitOK
		case <-time.After(*every):
		}
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

func severity(w api.Ward) int {
	if w.Health == nil {
		return fleet.Offline.Severity()
	}
	return fleet.State(w.Health.State).Severity()
}

// sortWards puts problems first, worst first, then by id.
func sortWards(ws []api.Ward) {
	sort.SliceStable(ws, func(i, j int) bool {
		si, sj := severity(ws[i]), severity(ws[j])
		if si != sj {
			return si > sj
		}
		return ws[i].ID < ws[j].ID
	})
}

// writeWardsTable writes the technicians' table.
func writeWardsTable(w io.Writer, wards []api.Ward) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "WARD\tSTATE\tLAST SEEN\tNOW PLAYING\tLEVEL\tSYNC\tVERSION\tPROBLEM")
	problems := 0
	for _, wd := range wards {
		h := wd.Health
		if h == nil {
			h = &api.WardHealth{State: string(fleet.Offline)}
		}
		st := fleet.State(h.State)
		if st.Problem() || natsNote(h.NATS) != "" {
			problems++
		}
		seen := "never"
		if h.LastHeartbeat != nil {
			seen = ago(time.Duration(h.LastHeartbeatAge * float64(time.Second)))
		}
		playing, kind := "-", ""
		if p := h.NowPlaying; p != nil {
			kind = p.Kind
			playing = orStr(p.Title, p.ID)
			switch p.Kind {
			case fleet.PlayingAlert:
				playing = "ALERT " + playing
			case fleet.PlayingLive:
				playing = "LIVE " + playing
			}
			// The city names an item by its title, never by its hash.
			if _, hash := fleet.HashPrefix(p.Item); p.Item != "" && !hash {
				playing += " (" + p.Item + ")"
			}
		}
		level := "-"
		if h.LevelDBFS != nil && h.LastHeartbeat != nil {
			level = strconv.FormatFloat(*h.LevelDBFS, 'f', 1, 64) + " dBFS"
		}
		sync := "-"
		switch {
		case h.Sync.AgeS != nil && *h.Sync.AgeS >= 0:
			sync = fmt.Sprintf("%s v%d", (time.Duration(*h.Sync.AgeS) * time.Second).String(), h.Sync.Version)
		case h.Sync.AgeS != nil:
			sync = "never"
		}
		if h.Sync.CityVersion != 0 && h.Sync.Version != h.Sync.CityVersion && h.LastHeartbeat != nil {
			sync += fmt.Sprintf(" (city v%d)", h.Sync.CityVersion)
		}
		problem := ""
		if len(h.Problems) > 0 {
			problem = h.Problems[0].Detail
			if n := len(h.Problems) - 1; n > 0 {
				problem += fmt.Sprintf(" (+%d: %s)", n, otherStates(h.Problems[1:]))
			}
		}
		if n := natsNote(h.NATS); n != "" {
			problem = strings.TrimPrefix(problem+"; "+n, "; ")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", wd.ID, st.LabelFor(kind), seen, playing, level, sync, orStr(h.Version, "-"), problem)

	}
	tw.Flush()
	fmt.Fprintf(w, "%d wards, %d with problems\n", len(wards), problems)
}

// natsNote is a ward's NATS misuse in a few words ("" when none).
func natsNote(n *api.WardNATS) string {
	if n == nil {
		return ""
	}
	var parts []string
	if n.Flooding {
		dropped := uint64(0)
		for _, v := range n.Dropped {
			dropped += v
		}
		parts = append(parts, fmt.Sprintf("GỬI QUÁ NHIỀU / FLOODING NATS (%d dropped)", dropped))
	}
	if n.Denied > 0 {
		parts = append(parts, fmt.Sprintf("NATS từ chối / refused %d× (%s)", n.Denied, n.LastDeniedWhat))
	}
	return strings.Join(parts, "; ")
}

func otherStates(ps []api.WardProblem) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.State
	}
	return strings.Join(s, ", ")
}

func ago(d time.Duration) string {
	switch {
	case d < 0:
		return "just now"
	case d < time.Minute:
		return fmt.Sprintf("%ds ago", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh ago", int(d.Hours()))
	}
	return fmt.Sprintf("%dd ago", int(d.Hours()/24))
}

func orStr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func (r *runner) asrun(args []string) int {
	c := r.command("asrun", "--ward ID [--date YYYY-MM-DD] [--csv | --json]",
		"A ward's broadcast log (nhật ký phát sóng) for a day, as the ward shipped it to the city:\n"+
			"what was planned, when it actually started and ended, and how it went. --csv exports it.")
	ward := c.fs.String("ward", "", "ward id (required)")
	date := c.fs.String("date", "", "day, YYYY-MM-DD (default: today at the city)")
	asCSV := c.fs.Bool("csv", false, "CSV output (one line per entry, with a header)")
	asJSON := c.fs.Bool("json", false, "JSON output")
	if code, ok := c.parseFlags(args); !ok {
		return code
	}
	if *ward == "" {
		return c.badArgs("--ward is required")
	}
	if *asCSV && *asJSON {
		return c.badArgs("--csv or --json, not both")
	}
	cl, code := c.client()
	if cl == nil {
		return code
	}
	day, err := cl.AsRun(r.ctx, *ward, *date)
	if err != nil {
		return c.failed(err)
	}
	loc, err := time.LoadLocation(day.Timezone)
	if err != nil {
		loc = time.UTC
	}
	switch {
	case *asJSON:
		return r.json(day)
	case *asCSV:
		return r.asrunCSV(day, loc)
	}
	fmt.Fprintf(r.stdout, "Nhật ký phát sóng / as-run log — %s, %s (%s)\n", day.Ward, day.Date, day.Timezone)
	if len(day.Entries) == 0 {
		fmt.Fprintln(r.stdout, "Chưa có / no entries")
		return exitOK
	}
	tw := tabwriter.NewWriter(r.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PLANNED\tACTUAL\tLATE\tEND\tPROGRAM\tITEM\tRESULT\tNOTE")
	for _, e := range day.Entries {
		actual, late, end := "-", "", "-"
		if e.Actual != nil {
			actual = e.Actual.In(loc).Format("15:04:05")
			late = fmt.Sprintf("%+.1fs", float64(e.LateMS)/1000)
		}
		if e.End != nil {
			end = e.End.In(loc).Format("15:04:05")
		}
		result := e.Result
		if e.MissedS > 0 {
			result += fmt.Sprintf(" (%.0fs missed)", e.MissedS)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Planned.In(loc).Format("15:04:05"), actual, late, end, e.Program, e.Item, result, e.Note)
	}
	tw.Flush()
	return exitOK
}

func (r *runner) asrunCSV(day api.AsRunDay, loc *time.Location) int {
	w := csv.NewWriter(r.stdout)
	w.Write([]string{"ward", "planned", "actual", "end", "late_s", "program", "part", "item", "kind", "result", "missed_s", "note"})
	const layout = "2006-01-02 15:04:05"
	for _, e := range day.Entries {
		actual, end, late := "", "", ""
		if e.Actual != nil {
			actual = e.Actual.In(loc).Format(layout)
			late = strconv.FormatFloat(float64(e.LateMS)/1000, 'f', 3, 64)
		}
		if e.End != nil {
			end = e.End.In(loc).Format(layout)
		}
		w.Write([]string{e.Ward, e.Planned.In(loc).Format(layout), actual, end, late, e.Program, strconv.Itoa(e.Part), e.Item, e.Kind,
			e.Result, strconv.FormatFloat(e.MissedS, 'f', 1, 64), e.Note})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		fmt.Fprintf(r.stderr, "loactl asrun: %v\n", err)
		return exitFailure
	}
	return exitOK
}
