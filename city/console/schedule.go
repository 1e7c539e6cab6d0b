package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"loa/city/api"
	"loa/schedule"
)

// Schedules is what the console needs of the city's programs service.
type Schedules interface {
	Wards(ctx context.Context) ([]api.Ward, error)
	// Timeline is what ward plays on date d, as it will play it.
	Timeline(ctx context.Context, ward string, d schedule.Date) (api.Timeline, error)
	// ProgramFile returns a target's program file ("all", "group:G",
	// "ward:ID"); ErrNoProgramFile when it has none.
	ProgramFile(ctx context.Context, target string) (file string, body []byte, err error)
	// PutProgramFile checks and stores a target's file exactly as
	// `loactl program load` does: any problem (schedule.ErrorList) and
	// nothing changes.
	PutProgramFile(ctx context.Context, target, file string, body []byte, by string) error
}

// ErrNoProgramFile: the target has no program file yet.
var ErrNoProgramFile = errors.New("no program file")

var weekdayKeys = [7]string{"day.sun", "day.mon", "day.tue", "day.wed", "day.thu", "day.fri", "day.sat"}

// weekOrder is the Vietnamese week: Thứ Hai first, Chủ nhật last.
var weekOrder = []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday, time.Sunday}

type weekData struct {
	Ward   api.Ward
	Wards  []api.Ward
	Monday string // the week shown, YYYY-MM-DD
	// MondayText is the same day as people read it, dd/mm/yyyy.
	MondayText string
	Prev       string
	Next       string
	Days       []dayColumn
	Targets    []targetFile
	CanEdit    bool
	Imported   string
	Errors     []string
}

type dayColumn struct {
	Name   string // "Thứ Hai 07/12"
	Date   string
	Today  bool
	Blocks []block
}

type block struct {
	Start  string // HH:MM
	Length string // m:ss

	Title     string
	Program   string
	Target    string
	Priority  string
	Displaced bool
	// Movable: the user may drag it (her role and scope allow its file).
	Movable bool
	Top     float64 // % of the day
	Height  float64
}

type targetFile struct {
	// Editable: the user may change this file (role and scope).
	Editable bool
	Target   string
	Label    string
	File     string
	Programs []programRow
}

type programRow struct {
	ID, Title, When string
}

func canEditSchedule(role string) bool { return role == "admin" || role == "operator" }

// getScheduleIndex sends the reader to the first ward's week (the list of
// wards is on that page).
func (c *Console) getScheduleIndex(w http.ResponseWriter, r *http.Request, s *Session) {
	wards, err := c.deps.Schedules.Wards(r.Context())
	if err != nil {
		c.internal(w, r, s, "schedule", err)
		return
	}
	wards = scopedWards(s, wards)
	if len(wards) == 0 {
		p := c.newPage(r, s, "nav.programs")
		p.Data = weekData{}
		c.render(w, r, http.StatusOK, "week", p)
		return
	}
	id := wards[0].ID
	for _, wd := range wards {
		if wd.ID == r.FormValue("w") {
			id = wd.ID
		}
	}
	http.Redirect(w, r, "/schedule/"+url.PathEscape(id), http.StatusSeeOther)
}

func (c *Console) getWeek(w http.ResponseWriter, r *http.Request, s *Session) {
	c.showWeek(w, r, s, http.StatusOK, "", nil)
}

func (c *Console) showWeek(w http.ResponseWriter, r *http.Request, s *Session, status int, imported string, problems []string) {
	ctx := r.Context()
	l := langOf(r)
	wards, err := c.deps.Schedules.Wards(ctx)
	if err != nil {
		c.internal(w, r, s, "schedule", err)
		return
	}
	id := r.PathValue("ward")
	d := weekData{Wards: wards, CanEdit: canEditSchedule(s.Role), Imported: imported, Errors: problems}
	found := false
	for _, wd := range wards {
		if wd.ID == id {
			d.Ward, found = wd, true
		}
	}
	if !found {
		c.errorPage(w, r, s, http.StatusNotFound, T(l, "notfound"))
		return
	}
	if !s.Scope.Allows(placeOf(d.Ward)) {
		c.outOfScope(w, r, s)
		return
	}
	d.Wards = scopedWards(s, wards)
	today := schedule.DateOf(c.deps.Now().In(c.deps.Location))
	start := today
	if q := r.FormValue("week"); q != "" {
		if start, err = schedule.ParseDate(q); err != nil {
			start = today
		}
	}
	for start.Weekday() != time.Monday {
		start = start.AddDays(-1)
	}
	d.Monday, d.Prev, d.Next = start.String(), start.AddDays(-7).String(), start.AddDays(7).String()
	d.MondayText = start.Midnight(c.deps.Location).Format("02/01/2006")
	for i := 0; i < 7; i++ {
		day := start.AddDays(i)
		tl, err := c.deps.Schedules.Timeline(ctx, id, day)
		if err != nil {
			c.internal(w, r, s, "schedule", err)
			return
		}
		midnight := day.Midnight(c.deps.Location)
		col := dayColumn{Name: T(l, weekdayKeys[day.Weekday()]) + " " + midnight.Format("02/01"), Date: day.String(), Today: day == today}
		for _, o := range tl.Occurrences {
			from := o.Start.Sub(midnight).Minutes()
			to := min(o.End.Sub(midnight).Minutes(), 1440)
			col.Blocks = append(col.Blocks, block{Start: o.Start.In(c.deps.Location).Format("15:04"), Length: clock(o.End.Sub(o.Start).Seconds()),
				Title: o.Title, Program: o.Program, Target: o.Target, Priority: o.Priority, Displaced: o.Displaced,
				Movable: d.CanEdit && s.Scope.AllowsTarget(o.Target, placesOf(wards)),
				Top:     max(from, 0) / 14.4, Height: max(to-max(from, 0), 0) / 14.4})
		}
		d.Days = append(d.Days, col)
	}
	for _, target := range targetsOf(d.Ward) {
		tf := targetFile{Target: target, Label: targetLabel(l, target), Editable: d.CanEdit && s.Scope.AllowsTarget(target, placesOf(wards))}
		file, body, err := c.deps.Schedules.ProgramFile(ctx, target)
		switch {
		case errors.Is(err, ErrNoProgramFile):
		case err != nil:
			c.internal(w, r, s, "schedule", err)
			return
		default:
			tf.File = file
			if f, perr := schedule.Parse(file, body); f != nil {
				for _, p := range f.Programs {
					spec, _ := schedule.SpecOf(body, p.ID)
					tf.Programs = append(tf.Programs, programRow{ID: p.ID, Title: p.Title, When: whenText(l, spec)})
				}
			} else if perr != nil {
				c.internal(w, r, s, "schedule", perr)
				return
			}
		}
		d.Targets = append(d.Targets, tf)
	}
	p := c.newPage(r, s, "nav.programs")
	p.Data = d
	c.render(w, r, status, "week", p)
}

// targetsOf: the program files a ward plays, in the order they merge.
func targetsOf(w api.Ward) []string {
	out := []string{"all"}
	for _, g := range w.Groups {
		out = append(out, "group:"+g)
	}
	return append(out, "ward:"+w.ID)
}

func targetLabel(l Lang, target string) string {
	switch kind, name, _ := strings.Cut(target, ":"); kind {
	case "all":
		return T(l, "target.all")
	case "group":
		return T(l, "target.group") + " " + name
	default:
		return T(l, "target.ward") + " " + name
	}
}

// whenText says a program's schedule in words: "T2–T7 05:30".
func whenText(l Lang, s schedule.ProgramSpec) string {
	switch {
	case len(s.Days) > 0:
		return daysText(l, s.Days) + " " + s.At
	case s.Date != "":
		if d, err := schedule.ParseDate(s.Date); err == nil {
			return d.Midnight(time.UTC).Format("02/01/2006") + " " + s.At
		}
		return s.Date + " " + s.At
	default:
		return "cron " + s.Cron
	}
}

func daysText(l Lang, days []time.Weekday) string {
	set := map[time.Weekday]bool{}
	for _, d := range days {
		set[d] = true
	}
	if len(set) == 7 {
		return T(l, "day.every")
	}
	var names []string
	for _, d := range weekOrder {
		if set[d] {
			names = append(names, T(l, weekdayKeys[d]+".short"))
		}
	}
	return strings.Join(names, ", ")
}

// programForm is the add/edit form.
type programForm struct {
	Ward, Target, ID, Title     string
	Kind                        string // weekly | once | cron
	Days                        map[int]bool
	At, Date, Cron              string
	Items, Fallback             string // one name per line
	Chime, Priority, Relay, Dur string
	Volume                      string
	Targets                     []option
	DayBoxes                    []option
	Media                       []string
	Errors                      map[string]string // field -> message
	General                     []string
	Editing                     bool
}

func (c *Console) getProgramForm(w http.ResponseWriter, r *http.Request, s *Session) {
	l := langOf(r)
	ward, ok := c.wardOf(w, r, s)
	if !ok {
		return
	}
	f := programForm{Ward: ward.ID, Target: r.FormValue("target"), Kind: "weekly", Days: map[int]bool{}, At: "05:30", Priority: "normal"}
	if f.Target == "" {
		f.Target = "ward:" + ward.ID
	}
	if !c.allowsTarget(r, s, f.Target) {
		c.outOfScope(w, r, s)
		return
	}
	if id := r.FormValue("id"); id != "" {
		_, body, err := c.deps.Schedules.ProgramFile(r.Context(), f.Target)
		if err != nil {
			c.errorPage(w, r, s, http.StatusNotFound, T(l, "notfound"))
			return
		}
		spec, err := schedule.SpecOf(body, id)
		if err != nil {
			c.errorPage(w, r, s, http.StatusNotFound, T(l, "notfound"))
			return
		}
		f.fromSpec(spec)
		f.Editing = true
	} else {
		for _, d := range []int{1, 2, 3, 4, 5, 6} {
			f.Days[d] = true
		}
	}
	c.showProgramForm(w, r, s, http.StatusOK, ward, f)
}

func (f *programForm) fromSpec(s schedule.ProgramSpec) {
	f.ID, f.Title, f.At, f.Date, f.Cron = s.ID, s.Title, s.At, s.Date, s.Cron
	f.Items, f.Fallback = strings.Join(s.Items, "\n"), strings.Join(s.Fallback, "\n")
	f.Chime, f.Priority, f.Relay, f.Dur = s.Chime, s.Priority, s.Relay, s.Duration
	if s.Volume > 0 {
		f.Volume = strconv.Itoa(s.Volume)
	}
	if f.Priority == "" {
		f.Priority = "normal"
	}
	f.Days = map[int]bool{}
	for _, d := range s.Days {
		f.Days[int(d)] = true
	}
	switch {
	case len(s.Days) > 0:
		f.Kind = "weekly"
	case s.Date != "":
		f.Kind = "once"
	default:
		f.Kind = "cron"
	}
}

func (c *Console) showProgramForm(w http.ResponseWriter, r *http.Request, s *Session, status int, ward api.Ward, f programForm) {
	l := langOf(r)
	for _, t := range targetsOf(ward) {
		if !c.allowsTarget(r, s, t) {
			continue
		}
		f.Targets = append(f.Targets, option{t, targetLabel(l, t), t == f.Target})
	}
	for _, d := range weekOrder {
		f.DayBoxes = append(f.DayBoxes, option{strconv.Itoa(int(d)), T(l, weekdayKeys[d]), f.Days[int(d)]})
	}
	if media, err := c.deps.Library.Media(r.Context()); err == nil {
		for _, m := range media {
			f.Media = append(f.Media, m.Names...)
		}
	}
	p := c.newPage(r, s, "program.form")
	p.Data = f
	c.render(w, r, status, "program", p)
}

// editableWard is the ward of the request's path, for a user who may
// change programs; else the page has answered.
func (c *Console) editableWard(w http.ResponseWriter, r *http.Request, s *Session) (api.Ward, bool) {
	if !canEditSchedule(s.Role) {
		c.errorPage(w, r, s, http.StatusForbidden, T(langOf(r), "forbidden"))
		return api.Ward{}, false
	}
	return c.wardOf(w, r, s)
}

// isTargetOf reports whether target is one of the files ward plays.
func isTargetOf(ward api.Ward, target string) bool {
	for _, t := range targetsOf(ward) {
		if t == target {
			return true
		}
	}
	return false
}

func (c *Console) wardOf(w http.ResponseWriter, r *http.Request, s *Session) (api.Ward, bool) {
	wards, err := c.deps.Schedules.Wards(r.Context())
	if err != nil {
		c.internal(w, r, s, "schedule", err)
		return api.Ward{}, false
	}
	for _, wd := range wards {
		if wd.ID == r.PathValue("ward") {
			if !s.Scope.Allows(placeOf(wd)) {
				c.outOfScope(w, r, s)
				return api.Ward{}, false
			}
			return wd, true
		}
	}
	c.errorPage(w, r, s, http.StatusNotFound, T(langOf(r), "notfound"))
	return api.Ward{}, false
}

// postProgram saves the form into the target's program file, through the
// same checks as a file loaded with loactl. Problems are shown beside
// their fields and nothing is saved.
func (c *Console) postProgram(w http.ResponseWriter, r *http.Request, s *Session) {
	l := langOf(r)
	ward, ok := c.editableWard(w, r, s)
	if !ok {
		return
	}
	f := programForm{Ward: ward.ID, Target: r.PostFormValue("target"), ID: r.PostFormValue("id"), Title: strings.TrimSpace(r.PostFormValue("title")),
		Kind: r.PostFormValue("kind"), Days: map[int]bool{}, At: strings.TrimSpace(r.PostFormValue("at")), Date: strings.TrimSpace(r.PostFormValue("date")),
		Cron: strings.TrimSpace(r.PostFormValue("cron")), Items: r.PostFormValue("items"), Fallback: r.PostFormValue("fallback"),
		Chime: strings.TrimSpace(r.PostFormValue("chime")), Priority: r.PostFormValue("priority"), Relay: strings.TrimSpace(r.PostFormValue("relay")),
		Dur: strings.TrimSpace(r.PostFormValue("duration")), Volume: strings.TrimSpace(r.PostFormValue("volume")),
		Errors: map[string]string{}, Editing: r.PostFormValue("editing") == "1"}
	for _, d := range r.PostForm["day"] {
		if n, err := strconv.Atoi(d); err == nil && n >= 0 && n <= 6 {
			f.Days[n] = true
		}
	}
	if !isTargetOf(ward, f.Target) {
		f.Errors["target"] = T(l, "program.err.target")
	} else if !c.allowsTarget(r, s, f.Target) {
		c.outOfScope(w, r, s)
		return
	}
	spec := f.spec(l)
	if len(f.Errors) > 0 {
		c.showProgramForm(w, r, s, http.StatusBadRequest, ward, f)
		return
	}
	file, body, err := c.deps.Schedules.ProgramFile(r.Context(), f.Target)
	if errors.Is(err, ErrNoProgramFile) {
		file, body, err = strings.ReplaceAll(f.Target, ":", "-")+".yaml", nil, nil
	}
	if err != nil {
		c.internal(w, r, s, "schedule", err)
		return
	}
	if !f.Editing {
		spec.ID = uniqueID(body, slug(f.Title))
	}
	if !c.saveProgram(w, r, s, ward, f, file, body, spec) {
		return
	}
	http.Redirect(w, r, "/schedule/"+url.PathEscape(ward.ID)+"?saved="+url.QueryEscape(spec.ID), http.StatusSeeOther)
}

// saveProgram sets spec in the program file body of f.Target and saves
// it through the programs service, with the same checks as a loaded file;
// a problem is shown beside its field on the form, nothing saved. It
// reports whether the file was saved (false: it has answered).
func (c *Console) saveProgram(w http.ResponseWriter, r *http.Request, s *Session, ward api.Ward, f programForm, file string, body []byte, spec schedule.ProgramSpec) bool {
	newBody, err := schedule.SetProgram(body, spec)
	if err == nil {
		err = c.deps.Schedules.PutProgramFile(r.Context(), f.Target, file, newBody, s.User)
	}
	var list schedule.ErrorList
	switch {
	case errors.As(err, &list):
		f.placeErrors(langOf(r), list)
	case err != nil:
		f.General = append(f.General, err.Error())
	default:
		return true
	}
	c.showProgramForm(w, r, s, http.StatusBadRequest, ward, f)
	return false
}

// spec checks the form's fields (in the reader's language, beside each
// field) and builds the program.
func (f *programForm) spec(l Lang) schedule.ProgramSpec {
	s := schedule.ProgramSpec{ID: f.ID, Title: f.Title, Chime: f.Chime, Relay: f.Relay, Duration: f.Dur}
	if f.Title == "" {
		f.Errors["title"] = T(l, "program.err.title")
	}
	switch f.Kind {
	case "weekly":
		for _, d := range weekOrder {
			if f.Days[int(d)] {
				s.Days = append(s.Days, d)
			}
		}
		if len(s.Days) == 0 {
			f.Errors["days"] = T(l, "program.err.days")
		}
		s.At = f.At
		if _, err := time.Parse("15:04", f.At); err != nil {
			f.Errors["at"] = T(l, "program.err.at")
		}
	case "once":
		s.Date, s.At = f.Date, f.At
		if _, err := schedule.ParseDate(f.Date); err != nil {
			f.Errors["date"] = T(l, "program.err.date")
		}
		if _, err := time.Parse("15:04", f.At); err != nil {
			f.Errors["at"] = T(l, "program.err.at")
		}
	case "cron":
		s.Cron = f.Cron
		if f.Cron == "" {
			f.Errors["cron"] = T(l, "program.err.cron")
		}
	default:
		f.Errors["kind"] = T(l, "program.err.kind")
	}
	s.Items = lines(f.Items)
	s.Fallback = lines(f.Fallback)
	if f.Relay == "" && len(s.Items) == 0 {
		f.Errors["items"] = T(l, "program.err.items")
	}
	if f.Relay != "" {
		if len(s.Items) > 0 {
			f.Errors["items"] = T(l, "program.err.relayitems")
		}
		if f.Dur == "" {
			f.Errors["duration"] = T(l, "program.err.duration")
		}
	}
	if f.Dur != "" {
		if d, err := time.ParseDuration(f.Dur); err != nil || d <= 0 {
			f.Errors["duration"] = T(l, "program.err.duration")
		}
	}
	if f.Volume != "" {
		v, err := strconv.Atoi(f.Volume)
		if err != nil || v < 1 || v > 100 {
			f.Errors["volume"] = T(l, "program.err.volume")
		}
		s.Volume = v
	}
	switch f.Priority {
	case "", "normal", "urgent":
		s.Priority = f.Priority
	default:
		f.Errors["priority"] = T(l, "program.err.priority")
	}
	return s
}

// placeErrors puts the checks' problems beside the field they are about,
// in the reader's language, with the check's own words after.
func (f *programForm) placeErrors(l Lang, list schedule.ErrorList) {
	for _, e := range list {
		msg := e.Msg
		switch {
		case strings.Contains(msg, "overlap"):
			f.add("at", T(l, "program.err.overlap")+" "+msg)
		case strings.HasPrefix(msg, "media "):
			f.add("items", T(l, "program.err.media")+" "+msg)
		case strings.Contains(msg, "relay"):
			f.add("relay", msg)
		case strings.Contains(msg, "cron"):
			f.add("cron", msg)
		default:
			f.General = append(f.General, T(l, "program.err.file")+" "+e.Error())
		}
	}
}

func (f *programForm) add(field, msg string) {
	if f.Errors[field] != "" {
		f.Errors[field] += "; " + msg
		return
	}
	f.Errors[field] = msg
}

func lines(s string) []string {
	var out []string
	for _, x := range strings.Split(s, "\n") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}

// uniqueID makes id unique in the file: "ban-tin", "ban-tin-2", …
func uniqueID(body []byte, id string) string {
	f, _ := schedule.Parse("x.yaml", body)
	taken := map[string]bool{}
	if f != nil {
		for _, p := range f.Programs {
			taken[p.ID] = true
		}
	}
	if !taken[id] {
		return id
	}
	for n := 2; ; n++ {
		if c := fmt.Sprintf("%s-%d", id, n); !taken[c] {
			return c
		}
	}
}

func (c *Console) postProgramDelete(w http.ResponseWriter, r *http.Request, s *Session) {
	l := langOf(r)
	ward, ok := c.editableWard(w, r, s)
	if !ok {
		return
	}
	target := r.PostFormValue("target")
	if !c.allowsTarget(r, s, target) {
		c.outOfScope(w, r, s)
		return
	}
	file, body, err := c.deps.Schedules.ProgramFile(r.Context(), target)
	if !isTargetOf(ward, target) || err != nil {
		c.errorPage(w, r, s, http.StatusNotFound, T(l, "notfound"))
		return
	}
	newBody, err := schedule.RemoveProgram(body, r.PostFormValue("id"))
	if err == nil {
		err = c.deps.Schedules.PutProgramFile(r.Context(), target, file, newBody, s.User)
	}
	if err != nil {
		c.showWeek(w, r, s, http.StatusBadRequest, "", []string{err.Error()})
		return
	}
	http.Redirect(w, r, "/schedule/"+url.PathEscape(ward.ID), http.StatusSeeOther)
}

// getExport downloads a target's program file exactly as stored.
func (c *Console) getExport(w http.ResponseWriter, r *http.Request, s *Session) {
	if !s.Scope.CityWide() {
		// A scoped user reads the files that play on her wards.
		wards, err := c.deps.Schedules.Wards(r.Context())
		if err != nil || !s.Scope.Reaches(r.FormValue("target"), placesOf(wards)) {
			c.outOfScope(w, r, s)
			return
		}
	}
	file, body, err := c.deps.Schedules.ProgramFile(r.Context(), r.FormValue("target"))
	if err != nil {
		c.errorPage(w, r, s, http.StatusNotFound, T(langOf(r), "notfound"))
		return
	}
	w.Header().Set("Content-Type", "application/yaml; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", file))
	w.Write(body)
}

// postImport loads a program file for a target, as `loactl program load`.
func (c *Console) postImport(w http.ResponseWriter, r *http.Request, s *Session) {
	l := langOf(r)
	ward, ok := c.editableWard(w, r, s)
	if !ok {
		return
	}
	target := r.URL.Query().Get("target")
	if !c.allowsTarget(r, s, target) {
		c.outOfScope(w, r, s)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, schedule.MaxFileSize+64<<10)
	file, hdr, err := r.FormFile("file")
	if !isTargetOf(ward, target) || err != nil {
		c.showWeek(w, r, s, http.StatusBadRequest, "", []string{T(l, "program.err.import")})
		return
	}
	defer file.Close()
	body := make([]byte, 0, hdr.Size)
	buf := make([]byte, 32<<10)
	for {
		n, err := file.Read(buf)
		body = append(body, buf[:n]...)
		if err != nil {
			break
		}
	}
	err = c.deps.Schedules.PutProgramFile(r.Context(), target, hdr.Filename, body, s.User)
	var list schedule.ErrorList
	switch {
	case errors.As(err, &list):
		var msgs []string
		for _, e := range list {
			msgs = append(msgs, e.Error())
		}
		c.showWeek(w, r, s, http.StatusBadRequest, "", append([]string{T(l, "program.err.file")}, msgs...))
	case err != nil:
		c.showWeek(w, r, s, http.StatusBadRequest, "", []string{err.Error()})
	default:
		c.showWeek(w, r, s, http.StatusOK, hdr.Filename, nil)
	}
}
