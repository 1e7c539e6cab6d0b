package console

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"

	"loa/city/reports"
	"loa/internal/cmdkit"
	"loa/schedule"
	"loa/sqlite"
)

// Reports make proof-of-play reports (*reports.Service), the same the
// JSON API's GET /api/v1/reports asks.
type Reports interface {
	Make(ctx context.Context, q reports.Query) (reports.Report, error)
	Station() string
}

// reportRoles read reports (the JSON API's roles for GET /api/v1/reports).
var reportRoles = []string{"admin", "operator", "technician"}

// canReport: who reads reports (the JSON API's roles for
// GET /api/v1/reports).
func canReport(role string) bool {
	return slices.Contains(reportRoles, role)
}

type reportData struct {
	Wards  []string // the scope's wards, for the filter
	Groups []string
	Ward   string
	Group  string
	From   string
	To     string
	Query  string // the filter as a query string
	// FromText, ToText: the range as people read it, dd/mm/yyyy.
	FromText, ToText string
	// The links of the buttons, with the filter.
	CSVURL, XLSXURL, PrintURL, BackURL template.URL
	Errors                             []string
	Report                             *reports.Report
	Charts                             []reportChart
	Status                             []statusLegend
	Print                              bool
	// Summary: a row per ward, then the total; Lines: every line, times
	// of day in the city's zone.
	Summary []summaryRow
	Lines   []lineRow
	Made    string
	Station string
}

type summaryRow struct {
	Ward  string
	Total bool
	reports.Counts
	Hours string
}

type lineRow struct {
	Ward, Date, Program, Planned, Started, Status, Class, Reason string
}

// hours is time on air as h:mm:ss.
func hours(c reports.Counts) string {
	s := int(c.OnAirSeconds + 0.5)
	return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
}

func (c *Console) fillReport(l Lang, d *reportData, rep reports.Report) {
	d.Report = &rep
	loc := c.deps.Location
	d.Made = rep.Made.In(loc).Format("15:04 02/01/2006")
	for _, wr := range rep.Wards {
		d.Charts = append(d.Charts, chart(l, wr))
		d.Summary = append(d.Summary, summaryRow{Ward: wr.Ward, Counts: wr.Totals, Hours: hours(wr.Totals)})
		for _, ln := range wr.Lines {
			row := lineRow{Ward: ln.Ward, Date: ln.Planned.In(loc).Format("02/01"), Program: ln.Title, Planned: ln.Planned.In(loc).Format("15:04"),
				Status: T(l, "report."+string(ln.Status)), Class: "st-" + string(ln.Status), Reason: ln.Reason}
			if row.Program == "" {
				row.Program = ln.Program
			}
			if ln.Actual != nil {
				row.Started = ln.Actual.In(loc).Format("15:04:05")
			}
			d.Lines = append(d.Lines, row)
		}
	}
	d.Summary = append(d.Summary, summaryRow{Ward: T(l, "report.total"), Total: true, Counts: rep.Totals, Hours: hours(rep.Totals)})
}

type statusLegend struct {
	Key, Class string
}

// reportChart is a ward's days as stacked bars, in SVG user units.
type reportChart struct {
	Ward   string
	Width  int
	Height int
	Max    int // the tallest day's planned count
	Bars   []reportBar
	Ticks  []reportTick
}

type reportBar struct {
	Date  string
	Parts []barPart
}

type barPart struct {
	X, Y, W, H float64
	Class      string
	N          int
	Status     string
}

type reportTick struct {
	X     float64
	Label string
}

var chartStatuses = []struct {
	s     reports.Status
	key   string
	class string
}{
	{reports.Played, "report.played", "st-played"}, {reports.Late, "report.late", "st-late"},
	{reports.Interrupted, "report.interrupted", "st-interrupted"}, {reports.Missed, "report.missed", "st-missed"},
	{reports.Failed, "report.failed", "st-failed"},
}

// chart draws a ward's days: one bar a day, its height the planned
// count, stacked by outcome.
func chart(l Lang, w reports.Ward) reportChart {
	const barArea, top, bottom = 160.0, 8.0, 22.0
	n := len(w.Days)
	step, every := 36.0, 1
	switch {
	case n > 31:
		step, every = 12, 7
	case n > 14:
		step, every = 24, 3
	}
	c := reportChart{Ward: w.Ward, Width: int(float64(n)*step) + 36, Height: int(barArea + top + bottom)}
	for _, d := range w.Days {
		c.Max = max(c.Max, d.Planned)
	}
	scale := 0.0
	if c.Max > 0 {
		scale = barArea / float64(c.Max)
	}
	for i, d := range w.Days {
		x := 30 + float64(i)*step
		b := reportBar{Date: d.Date}
		y := top + barArea
		for _, st := range chartStatuses {
			k := d.Of(st.s)
			if k == 0 {
				continue
			}
			h := float64(k) * scale
			y -= h
			b.Parts = append(b.Parts, barPart{X: x, Y: y, W: step * 0.7, H: h, Class: st.class, N: k, Status: T(l, st.key)})
		}
		c.Bars = append(c.Bars, b)
		if i%every == 0 {
			c.Ticks = append(c.Ticks, reportTick{X: x, Label: d.Date[8:10] + "/" + d.Date[5:7]})
		}
	}
	return c
}

// reportQuery reads the filter; errors name the field.
func (c *Console) reportQuery(r *http.Request, s *Session) (reports.Query, reportData, error) {
	d := reportData{Ward: r.FormValue("ward"), Group: r.FormValue("group"), From: r.FormValue("from"), To: r.FormValue("to")}
	from, to, err := reports.ParseRange(d.From, d.To, schedule.DateOf(c.deps.Now().In(c.deps.Location)))
	d.From, d.To = from.String(), to.String()
	d.FromText = fmt.Sprintf("%02d/%02d/%04d", from.Day, int(from.Month), from.Year)
	d.ToText = fmt.Sprintf("%02d/%02d/%04d", to.Day, int(to.Month), to.Year)
	q := reports.Query{Ward: d.Ward, Group: d.Group, From: from, To: to, Scope: s.Scope}
	v := url.Values{"from": {d.From}, "to": {d.To}}
	if d.Ward != "" {
		v.Set("ward", d.Ward)
	}
	if d.Group != "" {
		v.Set("group", d.Group)
	}
	d.Query = v.Encode()
	d.CSVURL = template.URL("/reports/export?format=csv&" + d.Query)
	d.XLSXURL = template.URL("/reports/export?format=xlsx&" + d.Query)
	d.PrintURL = template.URL("/reports/print?" + d.Query)
	d.BackURL = template.URL("/reports?" + d.Query)
	if err == nil && d.Ward != "" && d.Group != "" {
		err = cmdkit.BadInput("phường / ward và nhóm / group: chọn một / give one of ward and group, not both")
	}
	return q, d, err
}

func (c *Console) getReports(w http.ResponseWriter, r *http.Request, s *Session) {
	c.showReport(w, r, s, false)
}

func (c *Console) getReportPrint(w http.ResponseWriter, r *http.Request, s *Session) {
	c.showReport(w, r, s, true)
}

func (c *Console) showReport(w http.ResponseWriter, r *http.Request, s *Session, print bool) {
	if !canReport(s.Role) || c.deps.Reports == nil {
		c.errorPage(w, r, s, http.StatusForbidden, T(langOf(r), "report.forbidden"))
		return
	}
	q, d, err := c.reportQuery(r, s)
	d.Print = print
	d.Station = c.deps.Station
	p := c.newPage(r, s, "nav.reports")
	if print {
		// The commune's monthly report goes upward in Vietnamese.
		p.Lang = Vietnamese
		p.Title = T(p.Lang, "report.print.title")
	}
	for _, st := range chartStatuses {
		d.Status = append(d.Status, statusLegend{Key: st.key, Class: st.class})
	}
	wards, werr := c.deps.Schedules.Wards(r.Context())
	if werr != nil {
		c.internal(w, r, s, "reports", werr)
		return
	}
	for _, wd := range scopedWards(s, wards) {
		d.Wards = append(d.Wards, wd.ID)
		for _, g := range wd.Groups {
			if !slices.Contains(d.Groups, g) {
				d.Groups = append(d.Groups, g)
			}
		}
	}
	slices.Sort(d.Groups)
	status := http.StatusOK
	var bad *cmdkit.BadInputError
	if err == nil {
		var rep reports.Report
		rep, err = c.deps.Reports.Make(r.Context(), q)
		if err == nil {
			c.fillReport(p.Lang, &d, rep)
		}
	}
	switch {
	case err == nil:
	case errors.Is(err, reports.ErrOutOfScope):
		c.outOfScope(w, r, s)
		return
	case errors.As(err, &bad):
		status, d.Errors = http.StatusBadRequest, []string{bad.Msg}
	case errors.Is(err, sqlite.ErrNotFound):
		status, d.Errors = http.StatusNotFound, []string{err.Error()}
	default:
		c.internal(w, r, s, "reports", err)
		return
	}
	p.Data = d
	c.render(w, r, status, "reports", p)
}

// getReportExport downloads the report as CSV or XLSX, as the JSON API
// does.
func (c *Console) getReportExport(w http.ResponseWriter, r *http.Request, s *Session) {
	l := langOf(r)
	if !canReport(s.Role) || c.deps.Reports == nil {
		c.errorPage(w, r, s, http.StatusForbidden, T(l, "report.forbidden"))
		return
	}
	q, _, err := c.reportQuery(r, s)
	format := r.FormValue("format")
	if err == nil && format != "csv" && format != "xlsx" {
		err = cmdkit.BadInput("định dạng / format %q: cần csv hoặc xlsx / want csv or xlsx", format)
	}
	var rep reports.Report
	if err == nil {
		rep, err = c.deps.Reports.Make(r.Context(), q)
	}
	var bad *cmdkit.BadInputError
	switch {
	case errors.Is(err, reports.ErrOutOfScope):
		c.outOfScope(w, r, s)
		return
	case errors.As(err, &bad):
		c.errorPage(w, r, s, http.StatusBadRequest, bad.Msg)
		return
	case err != nil:
		c.internal(w, r, s, "reports", err)
		return
	}
	name := "bao-cao-" + rep.From + "-" + rep.To
	if format == "csv" {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="`+name+`.csv"`)
		rep.WriteCSV(w, c.deps.Location)
		return
	}
	var b bytes.Buffer
	if err := rep.WriteXLSX(&b, c.deps.Location, c.deps.Reports.Station()); err != nil {
		c.internal(w, r, s, "reports", err)
		return
	}
	w.Header().Set("Content-Type", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`.xlsx"`)
	w.Write(b.Bytes())
}
