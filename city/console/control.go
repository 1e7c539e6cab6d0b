package console

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"loa/city/api"
	"loa/city/commands"
	"loa/command"
)

// Điều khiển (remote control): the technician's controls on a ward's page
// and on the fleet page (several wards at once), and a command's result
// page with each ward's answer, live. Every control is a form POST to
// /commands that goes through the command service (city/commands: signed,
// recorded, published on the command stream, audited here), so the page
// works without JavaScript; the result page's small script (command.js)
// only refreshes the answers. The kinds offered are the table in
// control_kinds.go.

// controlRoles may send the controls (the JSON API lets an alerter send
// stop_all only; she has the Dừng tất cả page).
var controlRoles = []string{"admin", "technician"}

// wardVolumes is the command service's knowledge of a ward's master
// volume (commands.Service.WardVolume); a Commands without it shows none.
type wardVolumes interface {
	WardVolume(ctx context.Context, ward string) (*commands.WardVolume, error)
}

// controlData is what the control forms draw.
type controlData struct {
	CSRF, AssetVersion string
	// To are the wards a ward page's forms send to (hidden fields).
	To []string
	// Back is the page the forms came from.
	Back  string
	Kinds []kindForm
	// Volume is the ward's current master volume as last acknowledged
	// ("" unknown).
	Volume               string
	VolumeMin, VolumeMax float64
	DB                   string
	Mutes                []option
	Seconds              string
	MaxSeconds           int
	// Several wards (the fleet page, and a form sent back with an error).
	Wards  []option
	Groups []option
	Kind   string
	Error  string
}

type kindForm struct {
	Kind, Label, What, Field string
	Confirm, Selected        bool
}

func (c *Console) controlAllowed(s *Session) bool {
	return c.deps.Commands != nil && (s.Role == "admin" || slices.Contains(controlRoles, s.Role))
}

// newControlData is the forms' fields with their defaults, or the values
// a form sent back.
func (c *Console) newControlData(r *http.Request, s *Session, back string) *controlData {
	l := langOf(r)
	f := r.PostForm
	d := &controlData{CSRF: s.CSRF, AssetVersion: staticAssets().version, Back: back, VolumeMin: volumeMin, VolumeMax: volumeMax, DB: "-6", Seconds: strconv.Itoa(toneDefault),
		MaxSeconds: command.MaxToneSeconds, Kind: f.Get("kind")}
	if v := f.Get("db"); v != "" {
		d.DB = v
	}
	if v := f.Get("seconds"); v != "" {
		d.Seconds = v
	}
	mute := f.Get("mute")
	if !slices.Contains(controlMutes, mute) {
		mute = "30m"
	}
	for _, m := range controlMutes {
		d.Mutes = append(d.Mutes, option{Value: m, Label: muteLabel(l, m), Selected: m == mute})
	}
	for _, k := range offeredKinds() {
		d.Kinds = append(d.Kinds, kindForm{Kind: string(k.Kind), Label: kindLabel(l, k.Kind), What: kindWhat(l, k.Kind), Field: k.Arg.Field,
			Confirm: k.Confirm, Selected: string(k.Kind) == d.Kind})
	}
	return d
}

func muteLabel(l Lang, m string) string {
	n, unit := m[:len(m)-1], m[len(m)-1:]
	if unit == "m" {
		return n + " " + T(l, "control.minutes")
	}
	return n + " " + T(l, "control.hours")
}

// wardControls are a ward page's controls; nil for a user who may not
// send them, or a ward outside her scope.
func (c *Console) wardControls(r *http.Request, s *Session, ward string) *controlData {
	if !c.controlAllowed(s) || !c.allowsTargets(r, s, ward) {
		return nil
	}
	d := c.newControlData(r, s, "/fleet/"+ward)
	d.To = []string{ward}
	if wv, ok := c.deps.Commands.(wardVolumes); ok {
		v, err := wv.WardVolume(r.Context(), ward)
		if err != nil {
			c.deps.Log.Warn("console: ward volume", "ward", ward, "err", err)
		}
		if v != nil {
			d.Volume = fmt.Sprintf(T(langOf(r), "control.volume.at"), fmtDB(v.DB), c.when(v.At))
		}
	}
	return d
}

func fmtDB(db float64) string {
	return strings.Replace(strconv.FormatFloat(db, 'f', -1, 64), "-", "−", 1) + " dB"
}

// fleetControls are the fleet page's form for several wards: the wards
// listed on the page (the group filter applies), their groups.
func (c *Console) fleetControls(r *http.Request, s *Session, wards []api.Ward, group string) *controlData {
	if !c.controlAllowed(s) {
		return nil
	}
	d := c.newControlData(r, s, "/fleet")
	if group != "" {
		d.Back = "/fleet?group=" + url.QueryEscape(group)
	}
	c.chooseWards(d, r, s, wards, group)
	return d
}

func (c *Console) chooseWards(d *controlData, r *http.Request, s *Session, wards []api.Ward, group string) {
	chosen := map[string]bool{}
	for _, v := range r.PostForm["to"] {
		chosen[v] = true
	}
	scoped := scopedWards(s, wards)
	for _, w := range scoped {
		if group != "" && !slices.Contains(w.Groups, group) {
			continue
		}
		d.Wards = append(d.Wards, option{Value: w.ID, Label: wardName(w), Selected: chosen[w.ID]})
	}
	for _, g := range groupsOf(scoped) {
		if group != "" && g != group {
			continue
		}
		// Decided on the whole registry, as the POST will be.
		if c.allowsTarget(r, s, "group:"+g) {
			d.Groups = append(d.Groups, option{Value: "group:" + g, Label: T(langOf(r), "control.group") + " " + g, Selected: chosen["group:"+g]})
		}
	}
}

// commandFormData is the page a control lands on when it cannot be sent
// as it is: a field is wrong (Error), or it goes to several wards and
// asks for a confirmation (Confirm).
type commandFormData struct {
	Control *controlData
	// Confirm: the planned command, to confirm.
	Confirm *confirmData
}

type confirmData struct {
	Kind, Label, Args string
	Wards             []string
	Hidden            []option // the form's fields, sent again with sure=on
}

// postCommand sends one control to the wards of the form ("to": ward ids
// and group:G), through the command service, and shows its result page.
func (c *Console) postCommand(w http.ResponseWriter, r *http.Request, s *Session) {
	l := langOf(r)
	if !c.controlAllowed(s) {
		c.errorPage(w, r, s, http.StatusForbidden, T(l, "forbidden"))
		return
	}
	to := r.PostForm["to"]
	back := r.PostFormValue("back")
	if !strings.HasPrefix(back, "/fleet") {
		back = "/fleet"
	}
	// Out of scope is refused before anything is read further.
	if len(to) > 0 && !c.allowsTargets(r, s, strings.Join(to, ",")) {
		c.outOfScope(w, r, s)
		return
	}
	bad := func(status int, msg string) {
		d := c.newControlData(r, s, back)
		d.Error = msg
		if wards, err := c.deps.Schedules.Wards(r.Context()); err == nil {
			c.chooseWards(d, r, s, wards, "")
		}
		p := c.newPage(r, s, "control")
		p.Data = commandFormData{Control: d}
		c.render(w, r, status, "control", p)
	}
	k, ok := kindOf(r.PostFormValue("kind"))
	if !ok {
		bad(http.StatusBadRequest, fmt.Sprintf(T(l, "control.err.kind"), r.PostFormValue("kind")))
		return
	}
	if len(to) == 0 {
		bad(http.StatusBadRequest, T(l, "control.err.to"))
		return
	}
	args, err := k.Arg.Parse(l, r.PostForm)
	if err != nil {
		bad(http.StatusBadRequest, err.Error())
		return
	}
	req := commands.Request{To: strings.Join(to, ","), Kind: k.Kind, Args: args, Sender: s.User}
	cmd, wards, err := c.deps.Commands.Plan(r.Context(), req)
	if err != nil {
		bad(http.StatusBadRequest, T(l, "control.err.plan")+" "+err.Error())
		return
	}
	if k.Confirm && len(wards) > 1 && r.PostFormValue("sure") != "on" {
		cf := &confirmData{Kind: string(k.Kind), Label: kindLabel(l, k.Kind), Args: argsText(l, cmd.Args)}
		names := map[string]string{}
		if all, err := c.deps.Schedules.Wards(r.Context()); err == nil {
			for _, w := range all {
				names[w.ID] = w.DisplayName
			}
		}
		for _, w := range wards {
			if n := names[w]; n != "" && n != w {
				w = n + " (" + w + ")"
			}
			cf.Wards = append(cf.Wards, w)
		}
		for _, name := range []string{"kind", "db", "mute", "seconds", "back"} {
			if v := r.PostFormValue(name); v != "" {
				cf.Hidden = append(cf.Hidden, option{Value: v, Label: name})
			}
		}
		for _, t := range to {
			cf.Hidden = append(cf.Hidden, option{Value: t, Label: "to"})
		}
		p := c.newPage(r, s, "control.confirm")
		p.Data = commandFormData{Confirm: cf, Control: &controlData{CSRF: s.CSRF, Back: back}}
		c.render(w, r, http.StatusOK, "control", p)
		return
	}
	err = c.deps.Commands.Send(r.Context(), cmd)
	if err != nil && !errors.Is(err, commands.ErrNotPublished) {
		c.deps.Log.Error("console: command not sent", "user", s.User, "kind", k.Kind, "to", req.To, "err", err)
		bad(http.StatusServiceUnavailable, T(l, "control.err.send")+" "+err.Error())
		return
	}
	b, _ := json.Marshal(cmd.Args)
	c.deps.Log.Info("console: command sent", "user", s.User, "command", cmd.ID, "kind", k.Kind, "to", req.To, "wards", len(wards))
	c.record(r, s.User, "console command "+string(k.Kind), cmd.ID, "to="+req.To+" args="+string(b))
	http.Redirect(w, r, "/commands/"+url.PathEscape(cmd.ID), http.StatusSeeOther)
}

// argsText is a command's arguments as people read them.
func argsText(l Lang, a command.Args) string {
	var parts []string
	if a.DB != nil {
		parts = append(parts, T(l, "control.db.short")+" "+fmtDB(*a.DB))
	}
	if a.MuteSeconds > 0 {
		parts = append(parts, T(l, "control.mute.for")+" "+strconv.FormatInt(a.MuteSeconds/60, 10)+" "+T(l, "control.minutes"))
	}
	if a.On != nil {
		k := "control.amp.off"
		if *a.On {
			k = "control.amp.on"
		}
		parts = append(parts, T(l, "control.amp")+" "+strings.ToLower(T(l, k)))
	}
	switch {
	case a.On != nil && a.Seconds >= 60: // an amplifier's override lasts minutes to hours
		parts = append(parts, T(l, "control.mute.for")+" "+strconv.FormatInt(a.Seconds/60, 10)+" "+T(l, "control.minutes"))
	case a.Seconds > 0:
		parts = append(parts, strconv.FormatInt(a.Seconds, 10)+" "+T(l, "control.secs"))
	}
	if a.LogLines > 0 {
		parts = append(parts, strconv.FormatInt(a.LogLines, 10)+" "+T(l, "control.loglines"))
	}
	return strings.Join(parts, " · ")
}

// commandRow is one ward's answer on the result page, and in its updates.
type commandRow struct {
	Ward   string `json:"ward"`
	Name   string `json:"name"`
	State  string `json:"state"` // done | failed | refused | waiting
	Label  string `json:"label"`
	Reason string `json:"reason,omitempty"`
	Detail string `json:"detail,omitempty"` // the measured level, the volume
	Diag   string `json:"diag,omitempty"`   // a diagnostics bundle, indented
	At     string `json:"at,omitempty"`
	Class  string `json:"class"`
}

type commandView struct {
	Status   *commands.Status `json:"-"`
	Label    string           `json:"-"`
	Args     string           `json:"-"`
	Issued   string           `json:"-"`
	Expires  string           `json:"-"`
	Rows     []commandRow     `json:"rows"`
	Done     int              `json:"done"`
	Failed   int              `json:"failed"`
	Refused  int              `json:"refused"`
	Waiting  int              `json:"waiting"`
	Expired  bool             `json:"expired"`
	Pending  bool             `json:"pending"` // answers may still come: the page follows
	Unsigned bool             `json:"-"`
}

// commandView reads command id for the session: ok false has answered
// (not found, not hers).
func (c *Console) commandView(w http.ResponseWriter, r *http.Request, s *Session) (*commandView, bool) {
	l := langOf(r)
	if !c.controlAllowed(s) {
		c.errorPage(w, r, s, http.StatusForbidden, T(l, "forbidden"))
		return nil, false
	}
	id := r.PathValue("id")
	st, err := c.deps.Commands.Status(r.Context(), id)
	if errors.Is(err, commands.ErrNotFound) {
		c.errorPage(w, r, s, http.StatusNotFound, fmt.Sprintf(T(l, "command.notfound"), id))
		return nil, false
	}
	if err != nil {
		c.internal(w, r, s, "command", err)
		return nil, false
	}
	if !st.Known || !c.targetsOK(r, s, st.To, false) {
		c.outOfScope(w, r, s)
		return nil, false
	}
	names := map[string]string{}
	if wards, err := c.deps.Schedules.Wards(r.Context()); err == nil {
		for _, w := range wards {
			names[w.ID] = w.DisplayName
		}
	}
	v := &commandView{Status: st, Label: kindLabel(l, command.Kind(st.Kind)), Done: st.Done, Failed: st.Failed, Refused: st.Refused,
		Waiting: len(st.NoAnswer)}
	var args command.Args
	json.Unmarshal(st.Args, &args)
	v.Args = argsText(l, args)
	if st.Issued != nil {
		v.Issued = c.when(*st.Issued)
	}
	if st.Expires != nil {
		v.Expires = c.when(*st.Expires)
		v.Expired = !c.deps.Now().Before(*st.Expires)
	}
	v.Pending = v.Waiting > 0 && !v.Expired
	for _, ward := range st.Wards {
		row := commandRow{Ward: ward, Name: names[ward], State: "waiting", Label: T(l, "command.state.waiting"), Class: "warn"}
		if v.Expired {
			row.Label = T(l, "command.state.expired")
			row.Class = "bad"
		}
		// A ward's first answer counts (as the service counts it).
		for _, a := range st.Acks {
			if a.Ward != ward || !a.Addressed {
				continue
			}
			row.State, row.Label, row.Reason, row.At = a.State, T(l, "command.state."+a.State), a.Reason, a.At.In(c.deps.Location).Format("15:04:05")
			row.Class = map[string]string{"done": "ok", "failed": "bad", "refused": "bad"}[a.State]
			row.Detail, row.Diag = ackDetail(l, a.Detail)
			break
		}
		if row.Name == ward {
			row.Name = ""
		}
		v.Rows = append(v.Rows, row)
	}
	return v, true
}

// ackDetail is what an ack measured or set, as people read it, and a
// diagnostics ack's bundle indented for reading ("" for any other ack).
func ackDetail(l Lang, raw json.RawMessage) (detail, diag string) {
	var d struct {
		LevelDBFS   *float64        `json:"level_dbfs"`
		VolumeDB    *float64        `json:"volume_db"`
		Diagnostics json.RawMessage `json:"diagnostics"`
	}
	if json.Unmarshal(raw, &d) != nil {
		return "", ""
	}
	var parts []string
	if d.LevelDBFS != nil {
		parts = append(parts, T(l, "command.level")+" "+strings.Replace(strconv.FormatFloat(*d.LevelDBFS, 'f', 1, 64), "-", "−", 1)+" dBFS")
	}
	if d.VolumeDB != nil {
		parts = append(parts, T(l, "control.db.short")+" "+fmtDB(*d.VolumeDB))
	}
	var b bytes.Buffer
	if len(d.Diagnostics) > 0 && json.Indent(&b, d.Diagnostics, "", "  ") == nil {
		diag = b.String()
	}
	return strings.Join(parts, " · "), diag
}

// getCommand is a command's result page: each ward's answer (done,
// failed with the reason, refused, no answer yet), followed live by
// command.js while answers may still come.
func (c *Console) getCommand(w http.ResponseWriter, r *http.Request, s *Session) {
	v, ok := c.commandView(w, r, s)
	if !ok {
		return
	}
	p := c.newPage(r, s, "command")
	p.Title = v.Label + " · " + v.Status.ID
	p.Data = v
	c.render(w, r, http.StatusOK, "command", p)
}

// getCommandAnswers are the result page's rows as JSON (command.js polls
// them while answers may still come).
func (c *Console) getCommandAnswers(w http.ResponseWriter, r *http.Request, s *Session) {
	v, ok := c.commandView(w, r, s)
	if !ok {
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(v)
}
