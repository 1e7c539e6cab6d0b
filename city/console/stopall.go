package console

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"loa/city/commands"
	"loa/command"
)

// Dừng tất cả (stop everything): one control that cancels every alert and
// live announcement on the chosen wards and mutes their programs for a
// while, as a command signed by the city on its own stream (city/commands,
// docs/commands.md), so it works while the alert stream is backlogged.

// Commands is the city's commands to wards (*commands.Service).
type Commands interface {
	Plan(ctx context.Context, r commands.Request) (*command.Command, []string, error)
	Send(ctx context.Context, c *command.Command) error
	Status(ctx context.Context, id string) (*commands.Status, error)
}

// stopAllRoles may stop everything (the JSON API's roles for stop_all).
var stopAllRoles = []string{"admin", "alerter", "technician"}

// stopAllMutes are the times programs may be muted for after the stop.
var stopAllMutes = []string{"0", "15m", "30m", "1h", "2h", "6h"}

type stopAllData struct {
	CityWide, All bool
	Wards         []option
	Groups        []option
	Mutes         []option
	Error         string
	// After a send: the command and each ward's answer so far.
	Sent *commands.Status
	Rows []stopAllRow
}

type stopAllRow struct {
	Ward, State, Reason string
	Done                bool
}

func (c *Console) stopAllAllowed(w http.ResponseWriter, r *http.Request, s *Session) bool {
	if c.deps.Commands == nil || !slices.Contains(stopAllRoles, s.Role) {
		c.errorPage(w, r, s, http.StatusForbidden, T(langOf(r), "forbidden"))
		return false
	}
	return true
}

func (c *Console) stopAllForm(r *http.Request, s *Session) (stopAllData, error) {
	// A form sent back with an error keeps what was chosen.
	chosen := map[string]bool{}
	for _, v := range r.PostForm["to"] {
		chosen[v] = true
	}
	mute := r.PostFormValue("mute")
	if !slices.Contains(stopAllMutes, mute) {
		mute = "30m"
	}
	d := stopAllData{CityWide: s.Scope.CityWide(), All: chosen["all"]}
	all, err := c.deps.Schedules.Wards(r.Context())
	if err != nil {
		return d, err
	}
	groups := map[string]bool{}
	for _, w := range scopedWards(s, all) {
		label := w.ID
		if w.DisplayName != "" {
			label = w.DisplayName + " (" + w.ID + ")"
		}
		d.Wards = append(d.Wards, option{Value: w.ID, Label: label, Selected: chosen[w.ID]})
		for _, g := range w.Groups {
			groups[g] = true
		}
	}
	for _, g := range slices.Sorted(mapsKeys(groups)) {
		if d.CityWide || s.Scope.AllowsTarget("group:"+g, placesOf(all)) {
			d.Groups = append(d.Groups, option{Value: "group:" + g, Label: g, Selected: chosen["group:"+g]})
		}
	}
	l := langOf(r)
	for _, m := range stopAllMutes {
		label := m
		if m == "0" {
			label = T(l, "stopall.nomute")
		}
		d.Mutes = append(d.Mutes, option{Value: m, Label: label, Selected: m == mute})
	}
	return d, nil
}

func (c *Console) getStopAll(w http.ResponseWriter, r *http.Request, s *Session) {
	if !c.stopAllAllowed(w, r, s) {
		return
	}
	d, err := c.stopAllForm(r, s)
	if err != nil {
		c.internal(w, r, s, "stop all", err)
		return
	}
	if id := r.URL.Query().Get("sent"); id != "" {
		st, err := c.deps.Commands.Status(r.Context(), id)
		if err != nil {
			c.errorPage(w, r, s, http.StatusNotFound, err.Error())
			return
		}
		if !c.targetsOK(r, s, st.To, false) {
			c.outOfScope(w, r, s)
			return
		}
		d.Sent, d.Rows = st, stopAllRows(langOf(r), st)
	}
	p := c.newPage(r, s, "stopall")
	p.Data = d
	c.render(w, r, http.StatusOK, "stopall", p)
}

func (c *Console) postStopAll(w http.ResponseWriter, r *http.Request, s *Session) {
	if !c.stopAllAllowed(w, r, s) {
		return
	}
	l := langOf(r)
	d, err := c.stopAllForm(r, s)
	if err != nil {
		c.internal(w, r, s, "stop all", err)
		return
	}
	bad := func(msg string) {
		d.Error = msg
		p := c.newPage(r, s, "stopall")
		p.Data = d
		c.render(w, r, http.StatusBadRequest, "stopall", p)
	}
	to := r.PostForm["to"]
	if slices.Contains(to, "all") {
		to = []string{"all"}
	}
	if len(to) == 0 {
		bad(T(l, "alert.err.to"))
		return
	}
	if r.PostFormValue("sure") != "on" {
		bad(T(l, "stopall.err.sure"))
		return
	}
	req := commands.Request{To: strings.Join(to, ","), Kind: command.StopAll, Sender: s.User}
	if m := r.PostFormValue("mute"); m != "0" {
		dur, err := time.ParseDuration(m)
		if err != nil || !slices.Contains(stopAllMutes, m) {
			bad(T(l, "stopall.err.mute"))
			return
		}
		req.Args.MuteSeconds = int64(dur.Seconds())
	}
	if !c.allowsTargets(r, s, req.To) {
		c.outOfScope(w, r, s)
		return
	}
	cmd, wards, err := c.deps.Commands.Plan(r.Context(), req)
	if err != nil {
		bad(err.Error())
		return
	}
	err = c.deps.Commands.Send(r.Context(), cmd)
	if err != nil && !errors.Is(err, commands.ErrNotPublished) {
		// Not recorded as sent: say so, loudly, on the page.
		c.deps.Log.Error("console: stop all not sent", "user", s.User, "to", req.To, "err", err)
		bad(T(l, "stopall.err.send") + " " + err.Error())
		return
	}
	c.deps.Log.Warn("console: STOP ALL sent", "user", s.User, "command", cmd.ID, "to", req.To, "wards", len(wards), "mute_s", req.Args.MuteSeconds)
	c.record(r, s.User, "console stop all", cmd.ID, "to="+req.To+" mute_s="+strconv.FormatInt(req.Args.MuteSeconds, 10))
	http.Redirect(w, r, "/stop-all?sent="+url.QueryEscape(cmd.ID), http.StatusSeeOther)
}

// stopAllRows are a sent command's wards with their answers so far.
func stopAllRows(l Lang, st *commands.Status) []stopAllRow {
	rows := make([]stopAllRow, 0, len(st.Wards))
	for _, w := range st.Wards {
		row := stopAllRow{Ward: w, State: T(l, "stopall.waiting")}
		for _, a := range st.Acks {
			if a.Ward == w {
				row.Done = a.State == "done"
				row.State, row.Reason = T(l, "stopall.state."+a.State), a.Reason
			}
		}
		rows = append(rows, row)
	}
	return rows
}
