package console

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"loa/city/api"
)

// The approver's view of a request, and the follow-up of an alert sent:
// each ward's receipts live (server-sent events), cancel, and the
// correction ("Cải chính") spoken after a cancel.

type requestData struct {
	Req        api.AlertRequest
	Test       bool
	Own        bool // the viewer asked for it
	CanDecide  bool
	AudioURL   string
	Asked      string
	ExpiresAt  string
	StateLabel string
	Error      string
}

type alertWardRow struct {
	Ward, Name, State, Label, Reason, Received, Started, Finished string
}

type alertData struct {
	Alert      api.Alert
	Test       bool
	Issued     string
	ExpiresAt  string
	StateLabel string
	Wards      []alertWardRow
	Live       bool // still changing: the page follows it
	CanCancel  bool
	Correction string // the prepared "Cải chính", shown once it is cancelled
	CanCorrect bool
	AudioURL   string
	// StateLabels are the wards' states in the page's language, for the
	// script that updates the table.
	StateLabels string
	Error       string
	// Series is the repeat series the alert is the first or latest of.
	Series *seriesRow
}

func (c *Console) getAlert(w http.ResponseWriter, r *http.Request, s *Session) {
	if !c.alertsAllowed(w, r, s) {
		return
	}
	id := r.PathValue("id")
	if strings.HasPrefix(id, "yc-") {
		c.showRequest(w, r, s, id, http.StatusOK, "")
		return
	}
	c.showAlert(w, r, s, id, http.StatusOK, "")
}

func (c *Console) showRequest(w http.ResponseWriter, r *http.Request, s *Session, id string, status int, msg string) {
	l := langOf(r)
	q, err := c.deps.Alerts.Request(r.Context(), id)
	var ae *AlertError
	if errors.As(err, &ae) {
		c.errorPage(w, r, s, http.StatusNotFound, ae.Msg)
		return
	}
	if err != nil {
		c.internal(w, r, s, "alert request", err)
		return
	}
	if !c.targetsOK(r, s, q.Targets, false) {
		c.outOfScope(w, r, s)
		return
	}
	d := requestData{Req: q, Test: isTest(q.Status), Own: q.RequestedBy == s.User, Asked: c.when(q.RequestedAt), ExpiresAt: c.when(q.Expires),
		StateLabel: T(l, "alert.state."+q.State), Error: msg}
	d.CanDecide = s.Role == approverRole && q.State == "pending" && c.targetsOK(r, s, q.Targets, true)
	switch {
	case q.Request.Text != "":
		text := q.Request.Text
		if rules := c.deps.Alerts.Rules(); d.Test && rules.TestPrefix != "" {
			text = rules.TestPrefix + " " + text
		}
		voice, speed := q.Request.Voice, q.Request.Speed
		if voice == "" {
			voice = "vi"
		}
		if speed == 0 {
			speed = 150
		}
		spoken, _ := c.deps.Speaker.Normalize(text, voice)
		if wav, err := c.deps.Speaker.Speak(r.Context(), spoken, voice, speed); err == nil {
			d.AudioURL = "/library/speak/" + c.previews.put(wav, c.deps.Now()) + ".wav"
		} else {
			c.deps.Log.Error("console: speak a request for its approver", "request", id, "err", err)
		}
	case len(q.Request.Media) == 64:
		d.AudioURL = "/library/audio/" + q.Request.Media
	}
	p := c.newPage(r, s, "alert.request")
	p.Data = d
	c.render(w, r, status, "alert_request", p)
}

func (c *Console) alertView(r *http.Request, a api.Alert) alertData {
	l := langOf(r)
	d := alertData{Alert: a, Test: isTest(a.Status), Issued: c.when(a.Issued), ExpiresAt: c.when(a.Expires), StateLabel: T(l, "alert.state."+a.State)}
	d.Live = a.State == "sent" || a.State == "queued"
	d.Series = c.seriesOf(r, a.ID)
	d.CanCancel = d.Live && a.MsgType != "Cancel"
	if a.Content.SHA256 != "" {
		d.AudioURL = "/library/audio/" + a.Content.SHA256
	}
	names := map[string]string{}
	if wards, err := c.deps.Schedules.Wards(r.Context()); err == nil {
		for _, w := range wards {
			names[w.ID] = w.DisplayName
		}
	}
	ms := func(v *int64) string {
		if v == nil {
			return "—"
		}
		return fmt.Sprintf("%.1f s", float64(*v)/1000)
	}
	for _, w := range a.Wards {
		d.Wards = append(d.Wards, alertWardRow{Ward: w.Ward, Name: names[w.Ward], State: w.State, Label: T(l, "alert.ward."+w.State), Reason: w.Reason,
			Received: ms(w.ReceivedMS), Started: ms(w.StartedMS), Finished: ms(w.FinishedMS)})
	}
	labels := map[string]string{}
	for _, st := range []string{"waiting", "received", "started", "finished", "cancelled", "failed", "rejected", "skipped"} {
		labels[st] = T(l, "alert.ward."+st)
	}
	b, _ := json.Marshal(labels)
	d.StateLabels = string(b)
	if a.State == "cancelled" && a.MsgType != "Cancel" {
		d.CanCorrect = true
		what := a.Headline
		if what == "" {
			what = "cảnh báo"
		}
		d.Correction = fmt.Sprintf("Cải chính: bản tin %s phát lúc %s đã được huỷ bỏ. Xin bà con bỏ qua bản tin này.", what,
			a.Issued.In(c.deps.Location).Format("15 giờ 04"))
	}
	return d
}

func (c *Console) showAlert(w http.ResponseWriter, r *http.Request, s *Session, id string, status int, msg string) {
	a, err := c.deps.Alerts.Status(r.Context(), id)
	var ae *AlertError
	if errors.As(err, &ae) {
		c.errorPage(w, r, s, http.StatusNotFound, ae.Msg)
		return
	}
	if err != nil {
		c.internal(w, r, s, "alert", err)
		return
	}
	if !c.targetsOK(r, s, a.Targets, false) {
		c.outOfScope(w, r, s)
		return
	}
	d := c.alertView(r, a)
	mine := c.targetsOK(r, s, a.Targets, true)
	d.Error = msg
	d.CanCancel = d.CanCancel && s.Role != approverRole && mine
	d.CanCorrect = d.CanCorrect && s.Role != approverRole && mine
	p := c.newPage(r, s, "alert.follow")
	p.Data = d
	c.render(w, r, status, "alert", p)
}

// getAlertEvents streams an alert's state (the JSON of GET
// /api/v1/alerts/{id}) as server-sent events whenever it changes, every
// second at most, until every ward is done, the alert is over, or 30
// minutes have passed (the page then reloads by itself).
func (c *Console) getAlertEvents(w http.ResponseWriter, r *http.Request, s *Session) {
	if !c.alertsAllowed(w, r, s) {
		return
	}
	id := r.PathValue("id")
	if a, err := c.deps.Alerts.Status(r.Context(), id); err != nil || !c.targetsOK(r, s, a.Targets, false) {
		http.Error(w, T(langOf(r), "scope.refused"), http.StatusForbidden)
		return
	}
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	fl.Flush()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	end := time.NewTimer(30 * time.Minute)
	defer end.Stop()
	last := ""
	for {
		a, err := c.deps.Alerts.Status(r.Context(), id)
		if err != nil {
			return
		}
		b, _ := json.Marshal(a)
		if string(b) != last {
			last = string(b)
			fmt.Fprintf(w, "data: %s\n\n", b)
			fl.Flush()
		}
		if a.State != "sent" && a.State != "queued" || a.Summary.Wards > 0 && a.Summary.Done == a.Summary.Wards {
			fmt.Fprint(w, "event: done\ndata: {}\n\n")
			fl.Flush()
			return
		}
		select {
		case <-r.Context().Done():
			return
		case <-end.C:
			return
		case <-tick.C:
		}
	}
}

// requestMine checks that every target of request id is in the
// session's scope before it is decided; false when it has answered.
func (c *Console) requestMine(w http.ResponseWriter, r *http.Request, s *Session, id string) bool {
	if s.Scope.CityWide() {
		return true
	}
	q, err := c.deps.Alerts.Request(r.Context(), id)
	if err != nil {
		c.decided(w, r, s, id, err)
		return false
	}
	if !c.targetsOK(r, s, q.Targets, true) {
		c.outOfScope(w, r, s)
		return false
	}
	return true
}

// decided answers a decision on a request: the request page again, with
// the service's refusal if any.
func (c *Console) decided(w http.ResponseWriter, r *http.Request, s *Session, id string, err error) {
	var ae *AlertError
	switch {
	case errors.As(err, &ae):
		c.showRequest(w, r, s, id, http.StatusBadRequest, ae.Msg)
	case err != nil:
		c.internal(w, r, s, "alert decision", err)
	default:
		http.Redirect(w, r, "/alerts/"+id, http.StatusSeeOther)
	}
}

func (c *Console) postAlertApprove(w http.ResponseWriter, r *http.Request, s *Session) {
	if !c.alertsAllowed(w, r, s) {
		return
	}
	id := r.PathValue("id")
	if !c.requestMine(w, r, s, id) {
		return
	}
	q, err := c.deps.Alerts.Approve(r.Context(), id, s.User, s.Role)
	if err == nil && q.Alert != "" {
		http.Redirect(w, r, "/alerts/"+q.Alert, http.StatusSeeOther)
		return
	}
	c.decided(w, r, s, id, err)
}

func (c *Console) postAlertRefuse(w http.ResponseWriter, r *http.Request, s *Session) {
	if !c.alertsAllowed(w, r, s) {
		return
	}
	id := r.PathValue("id")
	if !c.requestMine(w, r, s, id) {
		return
	}
	_, err := c.deps.Alerts.Refuse(r.Context(), id, s.User, s.Role, r.PostFormValue("reason"))
	c.decided(w, r, s, id, err)
}

func (c *Console) postAlertCancel(w http.ResponseWriter, r *http.Request, s *Session) {
	if !c.alertsAllowed(w, r, s) {
		return
	}
	id := r.PathValue("id")
	if a, err := c.deps.Alerts.Status(r.Context(), id); err == nil && !c.targetsOK(r, s, a.Targets, true) {
		c.outOfScope(w, r, s)
		return
	}
	if r.PostFormValue("sure") != "on" {
		c.showAlert(w, r, s, id, http.StatusBadRequest, T(langOf(r), "alert.err.sure"))
		return
	}
	_, err := c.deps.Alerts.Cancel(r.Context(), id, s.User)
	var ae *AlertError
	switch {
	case errors.As(err, &ae):
		c.showAlert(w, r, s, id, http.StatusBadRequest, ae.Msg)
	case err != nil:
		c.internal(w, r, s, "alert cancel", err)
	default:
		http.Redirect(w, r, "/alerts/"+id+"#correct", http.StatusSeeOther)
	}
}

// postAlertCorrect sends the correction of a cancelled alert: a short
// spoken text to the same targets, urgent, with the alert's status.
func (c *Console) postAlertCorrect(w http.ResponseWriter, r *http.Request, s *Session) {
	if !c.alertsAllowed(w, r, s) {
		return
	}
	id := r.PathValue("id")
	a, err := c.deps.Alerts.Status(r.Context(), id)
	if err != nil {
		c.internal(w, r, s, "alert correction", err)
		return
	}
	if !c.targetsOK(r, s, a.Targets, true) {
		c.outOfScope(w, r, s)
		return
	}
	text := strings.TrimSpace(r.PostFormValue("text"))
	if text == "" {
		c.showAlert(w, r, s, id, http.StatusBadRequest, T(langOf(r), "speak.err.empty"))
		return
	}
	req := api.NewAlert{To: a.Targets, Text: text, Priority: "urgent", Status: a.Status, Headline: "Cải chính / correction " + id, Event: "Cải chính"}
	na, q, err := c.deps.Alerts.Submit(r.Context(), req, s.User)
	var ae *AlertError
	switch {
	case errors.As(err, &ae):
		c.showAlert(w, r, s, id, http.StatusBadRequest, ae.Msg)
	case err != nil && na == nil:
		c.internal(w, r, s, "alert correction", err)
	case q != nil:
		http.Redirect(w, r, "/alerts/"+q.ID, http.StatusSeeOther)
	default:
		http.Redirect(w, r, "/alerts/"+na.ID, http.StatusSeeOther)
	}
}
