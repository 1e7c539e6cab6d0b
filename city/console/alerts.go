package console

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"loa/city/api"
)

// Alerts is the city's alerting service as the alert pages use it
// (city/alerting through a small adapter in package city). The two-person
// rule is the service's: these pages only show what it decides.
type Alerts interface {
	// Plan checks a request as a send would, recording nothing: the
	// wards it reaches and whether a second person must approve it.
	Plan(ctx context.Context, req api.NewAlert, by string) (wards []string, needsApproval bool, err error)
	// Submit sends an alert, or records it as a request waiting for
	// approval (request set, nothing sent).
	Submit(ctx context.Context, req api.NewAlert, by string) (alert *api.Alert, request *api.AlertRequest, err error)
	Cancel(ctx context.Context, id, by string) (api.Alert, error)
	Status(ctx context.Context, id string) (api.Alert, error)
	List(ctx context.Context, limit int) ([]api.AlertListEntry, error)
	Requests(ctx context.Context, limit int, pendingOnly bool) ([]api.AlertRequest, error)
	Request(ctx context.Context, id string) (api.AlertRequest, error)
	Approve(ctx context.Context, id, by, role string) (api.AlertRequest, error)
	Refuse(ctx context.Context, id, by, role, reason string) (api.AlertRequest, error)
	Rules() AlertRules
}

// AlertRules are the city's alert rules the pages show.
type AlertRules struct {
	Training   bool
	TestPrefix string
	BreakGlass bool
}

// AlertError is a refusal of the service the page shows as it is (bad
// input, not allowed, conflict); any other error is the city's fault.
type AlertError struct{ Msg string }

func (e *AlertError) Error() string { return e.Msg }

// alertRoles may see the alert pages; approverRole decides requests.
var alertRoles = []string{"admin", "alerter", "approver"}

const approverRole = "approver"

// maxAlertForm bounds the compose form with its file (an alert's audio
// is minutes, not hours).
const maxAlertForm = 256 << 20

func (c *Console) alertsAllowed(w http.ResponseWriter, r *http.Request, s *Session) bool {
	if c.deps.Alerts == nil || !slices.Contains(alertRoles, s.Role) {
		c.errorPage(w, r, s, http.StatusForbidden, T(langOf(r), "forbidden"))
		return false
	}
	return true
}

// alertRow is one line of the alerts page.
type alertRow struct {
	ID, State, StateLabel, Priority, PriorityLabel, Status, Targets, Headline, By, When string
	Test                                                                                bool
}

type alertsData struct {
	// Repeating are the series repeated every N hours, still active.
	Repeating []repeatRow
	Pending   []alertRow
	Recent    []alertRow
	Rules     AlertRules
}

func (c *Console) when(t time.Time) string { return t.In(c.deps.Location).Format("02/01 15:04") }

func isTest(status string) bool { return status == "Test" || status == "Exercise" }

func (c *Console) getAlerts(w http.ResponseWriter, r *http.Request, s *Session) {
	if !c.alertsAllowed(w, r, s) {
		return
	}
	l := langOf(r)
	reqs, err := c.deps.Alerts.Requests(r.Context(), 50, false)
	if err != nil {
		c.internal(w, r, s, "alerts", err)
		return
	}
	list, err := c.deps.Alerts.List(r.Context(), 50)
	if err != nil {
		c.internal(w, r, s, "alerts", err)
		return
	}
	d := alertsData{Rules: c.deps.Alerts.Rules(), Repeating: c.repeating(r, s)}
	reqs = slices.DeleteFunc(reqs, func(q api.AlertRequest) bool { return !c.targetsOK(r, s, q.Targets, false) })
	list = slices.DeleteFunc(list, func(a api.AlertListEntry) bool { return !c.targetsOK(r, s, a.Targets, false) })
	for _, q := range reqs {
		row := alertRow{ID: q.ID, State: q.State, StateLabel: T(l, "alert.state."+q.State), Priority: q.Priority, PriorityLabel: T(l, "alert.priority."+q.Priority),
			Status: q.Status, Targets: q.Targets, Headline: q.Headline, By: q.RequestedBy, When: c.when(q.RequestedAt), Test: isTest(q.Status)}
		if q.State == "pending" {
			d.Pending = append(d.Pending, row)
		} else if q.State != "approved" {
			d.Recent = append(d.Recent, row) // refused, expired, failed: shown with the alerts
		}
	}
	now := c.deps.Now()
	for _, a := range list {
		st := "sent"
		switch {
		case a.MsgType == "Cancel":
			st = "cancel"
		case a.CancelledBy != "":
			st = "cancelled"
		case !now.Before(a.Expires):
			st = "expired"
		}
		d.Recent = append(d.Recent, alertRow{ID: a.ID, State: st, StateLabel: T(l, "alert.state."+st), Priority: a.Priority, PriorityLabel: T(l, "alert.priority."+a.Priority),
			Status: a.Status, Targets: a.Targets, Headline: a.Headline, By: a.SentBy, When: c.when(a.Issued), Test: isTest(a.Status)})
	}
	slices.SortStableFunc(d.Recent, func(a, b alertRow) int { return strings.Compare(b.ID[3:], a.ID[3:]) })
	p := c.newPage(r, s, "alerts")
	p.Data = d
	c.render(w, r, http.StatusOK, "alerts", p)
}

// composeData is the compose page and its confirmation step.
type composeData struct {
	Kind, Text, Voice, Media, Priority, Status, Expires, Headline, Event, Area, Severity, Urgency, Certainty string
	Speed, Repeat                                                                                            int
	Chime                                                                                                    bool
	To                                                                                                       map[string]bool
	Wards                                                                                                    []option
	Groups                                                                                                   []option
	Items                                                                                                    []option
	Voices, Speeds, Statuses, ExpiresList, Severities, Urgencies, Certainties                                []option
	Rules                                                                                                    AlertRules
	Error                                                                                                    string
	// CityWide: the user may alert the whole city (not scoped).
	CityWide bool
	composeMore

	// The confirmation step.
	Confirm       bool
	Request       string // the request as JSON, sent back with the confirmation
	PreviewURL    string
	Spoken        string
	WardNames     []string
	NeedsApproval bool
	Test          bool
	ConfirmWord   string // what break-glass asks to type
	ExpiresText   string
}

var (
	alertStatuses = []string{"Actual", "Test", "Exercise"}
	alertExpiries = []string{"15m", "30m", "1h", "2h", "6h", "12h", "24h"}
	capSeverities = []string{"", "Extreme", "Severe", "Moderate", "Minor", "Unknown"}
	capUrgencies  = []string{"", "Immediate", "Expected", "Future", "Past", "Unknown"}
	capCertainty  = []string{"", "Observed", "Likely", "Possible", "Unlikely", "Unknown"}
)

// composeForm reads the compose form (or its defaults) and fills the
// lists the page offers.
func (c *Console) composeForm(r *http.Request, s *Session) (composeData, error) {
	l := langOf(r)
	rules := c.deps.Alerts.Rules()
	d := composeData{Kind: r.FormValue("kind"), Text: r.FormValue("text"), Voice: r.FormValue("voice"), Media: r.FormValue("media"),
		Priority: r.FormValue("priority"), Status: r.FormValue("status"), Expires: r.FormValue("expires"), Headline: strings.TrimSpace(r.FormValue("headline")),
		Event: strings.TrimSpace(r.FormValue("event")), Area: strings.TrimSpace(r.FormValue("area")), Severity: r.FormValue("severity"),
		Urgency: r.FormValue("urgency"), Certainty: r.FormValue("certainty"), To: map[string]bool{}, Rules: rules,
		Chime: r.Method == http.MethodGet || r.FormValue("chime") == "on"}
	d.Speed, _ = strconv.Atoi(r.FormValue("speed"))
	d.Repeat, _ = strconv.Atoi(r.FormValue("repeat"))
	for _, t := range r.Form["to"] {
		d.To[t] = true
	}
	if d.Kind == "" {
		d.Kind = "text"
	}
	if d.Voice == "" {
		d.Voice = "vi"
	}
	if d.Speed == 0 {
		d.Speed = 150
	}
	if d.Repeat == 0 {
		d.Repeat = 1
	}
	if d.Priority == "" {
		d.Priority = "urgent"
	}
	if d.Status == "" {
		d.Status = "Actual"
		if rules.Training {
			d.Status = "Test"
		}
	}
	if d.Expires == "" {
		d.Expires = "30m"
	}
	for _, v := range voices {
		d.Voices = append(d.Voices, option{v.ID, T(l, v.Key), v.ID == d.Voice})
	}
	for _, sp := range speeds {
		d.Speeds = append(d.Speeds, option{strconv.Itoa(sp.WPM), T(l, sp.Key), sp.WPM == d.Speed})
	}
	for _, st := range alertStatuses {
		d.Statuses = append(d.Statuses, option{st, T(l, "alert.status."+st), st == d.Status})
	}
	for _, e := range alertExpiries {
		d.ExpiresList = append(d.ExpiresList, option{e, e, e == d.Expires})
	}
	for _, x := range []struct {
		list []string
		cur  string
		out  *[]option
	}{{capSeverities, d.Severity, &d.Severities}, {capUrgencies, d.Urgency, &d.Urgencies}, {capCertainty, d.Certainty, &d.Certainties}} {
		for _, v := range x.list {
			label := v
			if v == "" {
				label = "—"
			}
			*x.out = append(*x.out, option{v, label, v == x.cur})
		}
	}
	all, err := c.deps.Schedules.Wards(r.Context())
	if err != nil {
		return d, err
	}
	// A scoped user is offered her wards, and the groups wholly hers.
	d.CityWide = s.Scope.CityWide()
	wards := scopedWards(s, all)
	c.composeExtras(&d, r, wards)
	groups := map[string]bool{}
	for _, w := range wards {
		label := w.ID
		if w.DisplayName != "" {
			label = w.DisplayName + " (" + w.ID + ")"
		}
		d.Wards = append(d.Wards, option{w.ID, label, d.To[w.ID]})
		for _, g := range w.Groups {
			groups[g] = true
		}
	}
	for _, g := range slices.Sorted(mapsKeys(groups)) {
		if d.CityWide || s.Scope.AllowsTarget("group:"+g, placesOf(all)) {
			d.Groups = append(d.Groups, option{"group:" + g, g, d.To["group:"+g]})
		}
	}
	items, err := c.deps.Library.Media(r.Context())
	if err != nil {
		return d, err
	}
	for _, m := range items {
		label := m.Title
		if label == "" && len(m.Names) > 0 {
			label = m.Names[0]
		}
		d.Items = append(d.Items, option{m.SHA256, fmt.Sprintf("%s (%.0f s)", label, m.DurationSeconds), m.SHA256 == d.Media})
	}
	return d, nil
}

func mapsKeys(m map[string]bool) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func (c *Console) getAlertNew(w http.ResponseWriter, r *http.Request, s *Session) {
	if !c.alertsAllowed(w, r, s) {
		return
	}
	d, err := c.composeForm(r, s)
	if err != nil {
		c.internal(w, r, s, "alert compose", err)
		return
	}
	p := c.newPage(r, s, "alert.new")
	p.Data = d
	c.mapCSP(w, d)
	c.render(w, r, http.StatusOK, "alert_new", p)
}

// postAlertNew is the compose form's two steps: "preview" checks the
// request with the service and shows exactly what will play and to whom;
// "send" sends what was confirmed (or records it for approval).
func (c *Console) postAlertNew(w http.ResponseWriter, r *http.Request, s *Session) {
	if !c.alertsAllowed(w, r, s) {
		return
	}
	// The form may carry an audio file: bounded like a library upload.
	r.Body = http.MaxBytesReader(w, r.Body, maxAlertForm)
	if r.PostFormValue("action") == "send" {
		c.sendConfirmed(w, r, s)
		return
	}
	l := langOf(r)
	d, err := c.composeForm(r, s)
	if err != nil {
		c.internal(w, r, s, "alert compose", err)
		return
	}
	p := c.newPage(r, s, "alert.new")
	bad := func(msg string) {
		d.Error = msg
		p.Data = d
		c.mapCSP(w, d)
		c.render(w, r, http.StatusBadRequest, "alert_new", p)
	}
	req := api.NewAlert{Priority: d.Priority, Status: d.Status, Headline: d.Headline, Event: d.Event, Area: d.Area,
		Severity: d.Severity, Urgency: d.Urgency, Certainty: d.Certainty, Repeat: d.Repeat, Chime: &d.Chime}
	var to []string
	if d.To["all"] {
		to = []string{"all"}
	} else {
		for _, o := range d.Groups {
			if d.To[o.Value] {
				to = append(to, o.Value)
			}
		}
		for _, o := range d.Wards {
			if d.To[o.Value] {
				to = append(to, o.Value)
			}
		}
	}
	if len(to) == 0 {
		bad(T(l, "alert.err.to"))
		return
	}
	req.To = strings.Join(to, ",")
	if !c.allowsTargets(r, s, req.To) {
		c.outOfScope(w, r, s)
		return
	}
	life, err := time.ParseDuration(d.Expires)
	if err != nil || !slices.Contains(alertExpiries, d.Expires) {
		bad(T(l, "alert.err.expires"))
		return
	}
	req.ExpiresS = life.Seconds()
	if msg := c.repeatRequest(&req, &d, l); msg != "" {
		bad(msg)
		return
	}
	switch d.Kind {
	case "text":
		if strings.TrimSpace(d.Text) == "" {
			bad(T(l, "speak.err.empty"))
			return
		}
		if !validVoice(d.Voice) || !validSpeed(d.Speed) {
			bad(T(l, "speak.err.voice"))
			return
		}
		req.Text, req.Voice, req.Speed = d.Text, d.Voice, d.Speed
	case "media":
		if d.Media == "" {
			bad(T(l, "alert.err.media"))
			return
		}
		req.Media = d.Media
	case "upload", "record":
		field := "file"
		if d.Kind == "record" {
			field = "recording"
		}
		m, msg := c.alertAudio(r, s, field, d.Headline)
		if msg != "" {
			bad(msg)
			return
		}
		req.Media, d.Kind, d.Media = m.SHA256, "media", m.SHA256
	default:
		bad(T(l, "alert.err.media"))
		return
	}
	wards, needs, err := c.deps.Alerts.Plan(r.Context(), req, s.User)
	var ae *AlertError
	if errors.As(err, &ae) {
		bad(ae.Msg)
		return
	}
	if err != nil {
		c.internal(w, r, s, "alert plan", err)
		return
	}
	d.Confirm, d.NeedsApproval, d.Test = true, needs, isTest(req.Status)
	names := map[string]string{}
	for _, o := range d.Wards {
		names[o.Value] = o.Label
	}
	for _, w := range wards {
		if n := names[w]; n != "" {
			d.WardNames = append(d.WardNames, n)
		} else {
			d.WardNames = append(d.WardNames, w)
		}
	}
	d.ConfirmWord = req.To
	if req.To == "all" {
		d.ConfirmWord = "tất cả"
	}
	d.ExpiresText = d.Expires
	// What will play: the text as it will be spoken (with the test
	// prefix), rendered now; a library item as it is.
	if req.Text != "" {
		text := req.Text
		if d.Test && d.Rules.TestPrefix != "" {
			text = d.Rules.TestPrefix + " " + text
		}
		spoken, _ := c.deps.Speaker.Normalize(text, req.Voice)
		wav, err := c.deps.Speaker.Speak(r.Context(), spoken, req.Voice, req.Speed)
		if err != nil {
			c.internal(w, r, s, "alert preview", err)
			return
		}
		d.Spoken = spoken
		d.PreviewURL = "/library/speak/" + c.previews.put(wav, c.deps.Now()) + ".wav"
	} else {
		d.PreviewURL = "/library/audio/" + req.Media
	}
	b, _ := json.Marshal(req)
	d.Request = string(b)
	p.Data = d
	c.render(w, r, http.StatusOK, "alert_new", p)
}

// sendConfirmed sends the request the confirmation step showed.
func (c *Console) sendConfirmed(w http.ResponseWriter, r *http.Request, s *Session) {
	l := langOf(r)
	var req api.NewAlert
	dec := json.NewDecoder(strings.NewReader(r.PostFormValue("request")))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		c.errorPage(w, r, s, http.StatusBadRequest, T(l, "alert.err.request"))
		return
	}
	if !c.allowsTargets(r, s, req.To) {
		c.outOfScope(w, r, s)
		return
	}
	if r.PostFormValue("break_glass") == "on" {
		req.BreakGlass, req.Confirm, req.Reason = true, r.PostFormValue("confirm"), r.PostFormValue("reason")
	}
	a, q, err := c.deps.Alerts.Submit(r.Context(), req, s.User)
	var ae *AlertError
	switch {
	case errors.As(err, &ae):
		c.errorPage(w, r, s, http.StatusBadRequest, ae.Msg)
	case err != nil && a == nil:
		c.internal(w, r, s, "alert send", err)
	case q != nil:
		http.Redirect(w, r, "/alerts/"+q.ID, http.StatusSeeOther)
	default:
		http.Redirect(w, r, "/alerts/"+a.ID, http.StatusSeeOther)
	}
}
