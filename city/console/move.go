package console

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"loa/schedule"
)

// postMove moves a program's block on the week view (drag and drop): the
// program's date or days and time change through schedule.SetProgram and
// the same checks as the form. A problem shows the form with the moved
// values and the error beside its field; nothing is saved.
func (c *Console) postMove(w http.ResponseWriter, r *http.Request, s *Session) {
	l := langOf(r)
	ward, ok := c.editableWard(w, r, s)
	if !ok {
		return
	}
	target, id := r.PostFormValue("target"), r.PostFormValue("id")
	if !isTargetOf(ward, target) {
		c.errorPage(w, r, s, http.StatusBadRequest, T(l, "program.err.target"))
		return
	}
	if !c.allowsTarget(r, s, target) {
		c.outOfScope(w, r, s)
		return
	}
	from, err1 := schedule.ParseDate(r.PostFormValue("from"))
	to, err2 := schedule.ParseDate(r.PostFormValue("to"))
	at := strings.TrimSpace(r.PostFormValue("at"))
	if err1 != nil || err2 != nil {
		c.errorPage(w, r, s, http.StatusBadRequest, T(l, "move.err.day"))
		return
	}
	file, body, err := c.deps.Schedules.ProgramFile(r.Context(), target)
	if err != nil {
		c.errorPage(w, r, s, http.StatusNotFound, T(l, "notfound"))
		return
	}
	spec, err := schedule.SpecOf(body, id)
	if err != nil {
		c.errorPage(w, r, s, http.StatusNotFound, T(l, "notfound"))
		return
	}
	f := programForm{Ward: ward.ID, Target: target, Errors: map[string]string{}, Editing: true}
	moved, err := schedule.MoveSpec(spec, from, to, at)
	if err != nil {
		f.fromSpec(spec)
		if errors.Is(err, schedule.ErrMoveCron) {
			f.add("cron", T(l, "move.err.cron"))
		} else {
			f.add("at", T(l, "move.err.time")+" "+err.Error())
		}
		c.showProgramForm(w, r, s, http.StatusBadRequest, ward, f)
		return
	}
	f.fromSpec(moved)
	if !c.saveProgram(w, r, s, ward, f, file, body, moved) {
		return
	}
	monday := to
	for monday.Weekday() != 1 {
		monday = monday.AddDays(-1)
	}
	http.Redirect(w, r, "/schedule/"+url.PathEscape(ward.ID)+"?week="+monday.String()+"&saved="+url.QueryEscape(id), http.StatusSeeOther)
}
