package console

import (
	"net/http"
	"sort"
	"time"

	"loa/city/api"
	"loa/schedule"
)

type monthData struct {
	Ward       api.Ward
	Month      string // "12/2026"
	Prev, Next string // YYYY-MM-01
	Heads      []string
	Weeks      [][]monthCell
}

type monthCell struct {
	Day      int
	Date     string
	Monday   string // the week's Monday, for the link to the week
	Other    bool   // outside the month shown
	Today    bool
	Holidays []string
	Once     []onceRow
}

type onceRow struct{ At, Title string }

// getMonth shows a month: one-off programs (a date) and public holidays
// (Tết) per day, each week linking to the week view.
func (c *Console) getMonth(w http.ResponseWriter, r *http.Request, s *Session) {
	ward, ok := c.wardOf(w, r, s)
	if !ok {
		return
	}
	l := langOf(r)
	today := schedule.DateOf(c.deps.Now().In(c.deps.Location))
	first := schedule.Date{Year: today.Year, Month: today.Month, Day: 1}
	if q := r.FormValue("month"); q != "" {
		if d, err := schedule.ParseDate(q); err == nil {
			first = schedule.Date{Year: d.Year, Month: d.Month, Day: 1}
		}
	}
	// One-off programs of every file the ward plays.
	once := map[string][]onceRow{}
	for _, target := range targetsOf(ward) {
		file, body, err := c.deps.Schedules.ProgramFile(r.Context(), target)
		if err != nil {
			continue // ErrNoProgramFile: none
		}
		f, err := schedule.Parse(file, body)
		if err != nil {
			continue
		}
		for _, p := range f.Programs {
			if p.Date != "" {
				once[p.Date] = append(once[p.Date], onceRow{At: p.At, Title: p.Title})
			}
		}
	}
	prevMonth := time.Date(first.Year, first.Month-1, 1, 0, 0, 0, 0, time.UTC)
	nextMonth := time.Date(first.Year, first.Month+1, 1, 0, 0, 0, 0, time.UTC)
	d := monthData{Ward: ward, Month: time.Date(first.Year, first.Month, 1, 0, 0, 0, 0, time.UTC).Format("01/2006"),
		Prev: prevMonth.Format("2006-01-02"), Next: nextMonth.Format("2006-01-02")}
	for _, wd := range weekOrder {
		d.Heads = append(d.Heads, T(l, weekdayKeys[wd]))
	}
	start := first
	for start.Weekday() != time.Monday {
		start = start.AddDays(-1)
	}
	for day := start; ; {
		week := make([]monthCell, 0, 7)
		monday := day.String()
		for i := 0; i < 7; i++ {
			c := monthCell{Day: day.Day, Date: day.String(), Monday: monday, Other: day.Month != first.Month, Today: day == today}
			for _, h := range schedule.HolidaysOn(day) {
				if l == English {
					c.Holidays = append(c.Holidays, h.En)
				} else {
					c.Holidays = append(c.Holidays, h.Vi)
				}
			}
			c.Once = once[day.String()]
			sort.Slice(c.Once, func(i, j int) bool { return c.Once[i].At < c.Once[j].At })
			week = append(week, c)
			day = day.AddDays(1)
		}
		d.Weeks = append(d.Weeks, week)
		if day.Month != first.Month {
			break
		}
	}
	p := c.newPage(r, s, "nav.programs")
	p.Data = d
	c.render(w, r, http.StatusOK, "month", p)
}
