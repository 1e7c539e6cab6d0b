// Package reports is proof of play (báo cáo phát sóng): for some wards and
// a range of days, what was planned, what the wards say they played
// (their as-run rows), and what never aired, with the reasons the wards
// gave; the monthly report a commune sends upward.
//
// "Planned" is the ward's timeline for each day as the programs service
// computes it from the program files in force now (the city keeps no
// history of program files: a file changed mid-month re-plans the whole
// month). "Played", "late", "interrupted" and "failed" come from the
// as-run rows the wards shipped; "missed" is a planned occurrence the
// ward logged as not played, or with no as-run row at all. An as-run row
// that matches no planned occurrence (a program since removed) is kept
// as "unplanned" so that nothing a ward aired is hidden.
//
// Why a package of its own: the JSON API, the console and the command
// line are faces over one set of rules, tested here on fakes.
package reports

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"loa/city/accounts"
	"loa/city/api"
	"loa/internal/cmdkit"
	"loa/schedule"
	"loa/sqlite"
)

// MaxDays bounds a report's range: a quarter is the longest a commune
// reports on at once, and each day of each ward costs a timeline.
const MaxDays = 92

// DefaultLateAfter is how late a start still counts as on time: the
// fleet board's threshold (fleet.Thresholds.LateAfter).
const DefaultLateAfter = 2 * time.Second

// ErrOutOfScope is a ward or group outside the user's scope.
var ErrOutOfScope = errors.New("outside the user's scope")

// Store is what a report reads: the ward registry, each ward's planned
// timeline for a day, and the as-run rows wards shipped.
type Store interface {
	// Places lists the registered wards with their groups.
	Places(ctx context.Context) ([]accounts.Place, error)
	// Timeline is ward's planned timeline for day d (programs.Service).
	Timeline(ctx context.Context, ward string, d schedule.Date) (api.Timeline, error)
	// AsRun lists ward's as-run rows planned in [from, to).
	AsRun(ctx context.Context, ward string, from, to time.Time) ([]sqlite.CityAsRun, error)
}

// Status is what became of a planned occurrence.
type Status string

const (
	Played      Status = "played"      // aired in full, on time
	Late        Status = "late"        // aired, started late
	Interrupted Status = "interrupted" // started, cut short (alert, stop, duration)
	Missed      Status = "missed"      // never started
	Failed      Status = "failed"      // the ward failed to play it (media, relay, device)
	Upcoming    Status = "upcoming"    // not over yet: not counted
	Unplanned   Status = "unplanned"   // aired but not in the timeline now
)

// Statuses are the counted outcomes, in report order.
var Statuses = []Status{Played, Late, Interrupted, Missed, Failed}

// Counts are a ward's (or a day's, or the report's) totals. Planned is
// Played+Late+Interrupted+Missed+Failed.
type Counts struct {
	Planned     int `json:"planned"`
	Played      int `json:"played"`
	Late        int `json:"late"`
	Interrupted int `json:"interrupted"`
	Missed      int `json:"missed"`
	Failed      int `json:"failed"`
	Unplanned   int `json:"unplanned"`
	// OnAirSeconds is the time the ward's speakers carried a program,
	// alert or live announcement (as-run rows with a start and an end).
	OnAirSeconds float64 `json:"on_air_s"`
}

// Of is the count of status s.
func (c Counts) Of(s Status) int {
	switch s {
	case Played:
		return c.Played
	case Late:
		return c.Late
	case Interrupted:
		return c.Interrupted
	case Missed:
		return c.Missed
	case Failed:
		return c.Failed
	case Unplanned:
		return c.Unplanned
	}
	return 0
}

func (c *Counts) add(s Status) {
	switch s {
	case Played:
		c.Played++
	case Late:
		c.Late++
	case Interrupted:
		c.Interrupted++
	case Missed:
		c.Missed++
	case Failed:
		c.Failed++
	case Unplanned:
		c.Unplanned++
		return
	default:
		return
	}
	c.Planned++
}

func (c *Counts) plus(o Counts) {
	c.Planned += o.Planned
	c.Played += o.Played
	c.Late += o.Late
	c.Interrupted += o.Interrupted
	c.Missed += o.Missed
	c.Failed += o.Failed
	c.Unplanned += o.Unplanned
	c.OnAirSeconds += o.OnAirSeconds
}

// Line is one planned occurrence (or one unplanned aired program) and
// what became of it.
type Line struct {
	Ward    string     `json:"ward"`
	Date    string     `json:"date"`
	Program string     `json:"program"`
	Title   string     `json:"title,omitempty"`
	Planned time.Time  `json:"planned"`
	Actual  *time.Time `json:"actual,omitempty"`
	End     *time.Time `json:"end,omitempty"`
	LateS   float64    `json:"late_s,omitempty"`
	OnAirS  float64    `json:"on_air_s"`
	Status  Status     `json:"status"`
	// Reason is why it was not played in full on time, as the ward said
	// (its as-run result and note), or "no as-run row".
	Reason string `json:"reason,omitempty"`
}

// Day is one ward's day.
type Day struct {
	Date string `json:"date"`
	Counts
}

// Ward is one ward's part of a report.
type Ward struct {
	Ward   string   `json:"ward"`
	Groups []string `json:"groups,omitempty"`
	Totals Counts   `json:"totals"`
	Days   []Day    `json:"days"`
	Lines  []Line   `json:"lines"`
}

// Report is proof of play for some wards over [From, To], days in the
// city's zone.
type Report struct {
	From     string    `json:"from"`
	To       string    `json:"to"`
	Timezone string    `json:"timezone"`
	Group    string    `json:"group,omitempty"`
	Made     time.Time `json:"made"`
	Totals   Counts    `json:"totals"`
	Wards    []Ward    `json:"wards"`
}

// Query is what a report covers: one ward, or a group's wards, or (both
// empty) every ward of the scope; From and To inclusive.
type Query struct {
	Ward, Group string
	From, To    schedule.Date
	Scope       accounts.Scope
}

// Service makes reports.
type Service struct {
	Store    Store
	Location *time.Location
	Now      func() time.Time
	Log      *slog.Logger
	// LateAfter: a start later than this after its planned time is late
	// (0: DefaultLateAfter).
	LateAfter time.Duration
	// StationName heads printed and exported reports.
	StationName string
}

// Station is the station's name for the reports' headings.
func (s *Service) Station() string { return s.StationName }

// New returns the service over store, days in loc.
func New(store Store, loc *time.Location, now func() time.Time, log *slog.Logger) *Service {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	return &Service{Store: store, Location: loc, Now: now, Log: log, LateAfter: DefaultLateAfter}
}

// ParseRange reads a report's from and to dates (YYYY-MM-DD, inclusive);
// an empty from is the first of to's month, an empty to is today. Errors
// name the field, in Vietnamese and English.
func ParseRange(from, to string, today schedule.Date) (schedule.Date, schedule.Date, error) {
	t := today
	if to != "" {
		var err error
		if t, err = schedule.ParseDate(to); err != nil {
			return t, t, cmdkit.BadInput("đến ngày / to %q: cần dạng YYYY-MM-DD / want YYYY-MM-DD", to)
		}
	}
	f := t.AddDays(1 - t.Day)
	if from != "" {
		var err error
		if f, err = schedule.ParseDate(from); err != nil {
			return f, t, cmdkit.BadInput("từ ngày / from %q: cần dạng YYYY-MM-DD / want YYYY-MM-DD", from)
		}
	}
	if t.Before(f) {
		return f, t, cmdkit.BadInput("đến ngày / to %s: trước ngày bắt đầu %s / is before from %s", t, f, f)
	}
	if n := days(f, t); n > MaxDays {
		return f, t, cmdkit.BadInput("từ ngày / from %s đến / to %s: %d ngày, tối đa %d / %d days, at most %d", f, t, n, MaxDays, n, MaxDays)
	}
	return f, t, nil
}

func days(f, t schedule.Date) int {
	n := 1
	for d := f; d.Before(t); d = d.AddDays(1) {
		n++
	}
	return n
}

// Wards are the wards q covers, in id order: ErrOutOfScope (wrapped) for a
// ward or group the scope does not allow; a group's wards outside the
// scope are left out.
func (s *Service) Wards(ctx context.Context, q Query) ([]accounts.Place, error) {
	places, err := s.Store.Places(ctx)
	if err != nil {
		return nil, fmt.Errorf("report: wards: %w", err)
	}
	slices.SortFunc(places, func(a, b accounts.Place) int { return strings.Compare(a.ID, b.ID) })
	var out []accounts.Place
	switch {
	case q.Ward != "":
		i := slices.IndexFunc(places, func(p accounts.Place) bool { return p.ID == q.Ward })
		if i < 0 {
			if !q.Scope.CityWide() {
				return nil, fmt.Errorf("phường / ward %s: %w", q.Ward, ErrOutOfScope)
			}
			return nil, fmt.Errorf("phường / ward %s: %w", q.Ward, sqlite.ErrNotFound)
		}
		if !q.Scope.Allows(places[i]) {
			return nil, fmt.Errorf("phường / ward %s: %w", q.Ward, ErrOutOfScope)
		}
		out = append(out, places[i])
	case q.Group != "":
		for _, p := range places {
			if slices.Contains(p.Groups, q.Group) && q.Scope.Allows(p) {
				out = append(out, p)
			}
		}
		if len(out) == 0 && !q.Scope.CityWide() && !q.Scope.AllowsTarget("group:"+q.Group, places) {
			return nil, fmt.Errorf("nhóm / group %s: %w", q.Group, ErrOutOfScope)
		}
	default:
		for _, p := range places {
			if q.Scope.Allows(p) {
				out = append(out, p)
			}
		}
	}
	return out, nil
}

// Make builds the report for q.
func (s *Service) Make(ctx context.Context, q Query) (Report, error) {
	if q.To.Before(q.From) || days(q.From, q.To) > MaxDays {
		return Report{}, cmdkit.BadInput("từ ngày / from %s đến / to %s: khoảng ngày không hợp lệ / bad range (at most %d days)", q.From, q.To, MaxDays)
	}
	wards, err := s.Wards(ctx, q)
	if err != nil {
		return Report{}, err
	}
	now := s.Now()
	rep := Report{From: q.From.String(), To: q.To.String(), Timezone: s.Location.String(), Group: q.Group, Made: now.UTC(), Wards: []Ward{}}
	for _, p := range wards {
		w, err := s.ward(ctx, p, q.From, q.To, now)
		if err != nil {
			return Report{}, err
		}
		rep.Totals.plus(w.Totals)
		rep.Wards = append(rep.Wards, w)
	}
	return rep, nil
}

type occKey struct {
	program string
	start   int64 // unix ms
}

func (s *Service) ward(ctx context.Context, p accounts.Place, from, to schedule.Date, now time.Time) (Ward, error) {
	late := s.LateAfter
	if late <= 0 {
		late = DefaultLateAfter
	}
	w := Ward{Ward: p.ID, Groups: p.Groups, Days: []Day{}, Lines: []Line{}}
	for d := from; !to.Before(d); d = d.AddDays(1) {
		day := Day{Date: d.String()}
		tl, err := s.Store.Timeline(ctx, p.ID, d)
		if err != nil {
			return w, fmt.Errorf("report: timeline of ward %s on %s: %w", p.ID, d, err)
		}
		rows, err := s.Store.AsRun(ctx, p.ID, d.Midnight(s.Location), d.AddDays(1).Midnight(s.Location))
		if err != nil {
			return w, fmt.Errorf("report: as-run of ward %s on %s: %w", p.ID, d, err)
		}
		byOcc := map[occKey][]sqlite.CityAsRun{}
		for _, r := range rows {
			if !r.Actual.IsZero() && !r.End.IsZero() && r.End.After(r.Actual) {
				day.OnAirSeconds += r.End.Sub(r.Actual).Seconds()
			}
			if r.Kind != "program" {
				continue
			}
			occ := r.Occurrence
			if occ.IsZero() {
				occ = r.Planned
			}
			k := occKey{r.Program, occ.UnixMilli()}
			byOcc[k] = append(byOcc[k], r)
		}
		for _, o := range tl.Occurrences {
			if o.Displaced {
				continue
			}
			k := occKey{o.Program, o.Start.UnixMilli()}
			rs := byOcc[k]
			delete(byOcc, k)
			ln := Line{Ward: p.ID, Date: d.String(), Program: o.Program, Title: o.Title, Planned: o.Start.UTC()}
			if len(rs) == 0 && o.End.After(now) {
				ln.Status = Upcoming
			} else {
				judge(&ln, rs, late)
			}
			day.add(ln.Status)
			w.Lines = append(w.Lines, ln)
		}
		// What aired but is planned no more.
		var rest []occKey
		for k := range byOcc {
			rest = append(rest, k)
		}
		slices.SortFunc(rest, func(a, b occKey) int {
			if a.start != b.start {
				return int(a.start - b.start)
			}
			return strings.Compare(a.program, b.program)
		})
		for _, k := range rest {
			ln := Line{Ward: p.ID, Date: d.String(), Program: k.program, Planned: time.UnixMilli(k.start).UTC()}
			judge(&ln, byOcc[k], late)
			if ln.Actual == nil {
				continue // logged as not played, and no longer planned
			}
			ln.Reason = strings.TrimPrefix(ln.Reason+"; ", "; ") + "không còn trong lịch / not in the current program files"
			ln.Status = Unplanned
			day.add(Unplanned)
			w.Lines = append(w.Lines, ln)
		}
		w.Totals.plus(day.Counts)
		w.Days = append(w.Days, day)
	}
	slices.SortStableFunc(w.Lines, func(a, b Line) int { return a.Planned.Compare(b.Planned) })
	return w, nil
}

// judge decides a line's status from its occurrence's as-run rows (one
// per part played, or one for the whole occurrence not played).
func judge(ln *Line, rs []sqlite.CityAsRun, lateAfter time.Duration) {
	if len(rs) == 0 {
		ln.Status, ln.Reason = Missed, "không có nhật ký phát sóng / no as-run row"
		return
	}
	var reasons []string
	var failed, cut, notPlayed bool
	for _, r := range rs {
		if !r.Actual.IsZero() {
			if ln.Actual == nil || r.Actual.Before(*ln.Actual) {
				t := r.Actual.UTC()
				ln.Actual = &t
			}
			if !r.End.IsZero() {
				if ln.End == nil || r.End.After(*ln.End) {
					t := r.End.UTC()
					ln.End = &t
				}
				if r.End.After(r.Actual) {
					ln.OnAirS += r.End.Sub(r.Actual).Seconds()
				}
			}
		}
		res := r.Result
		switch {
		case strings.HasPrefix(res, "failed"):
			failed = true
		case res == "interrupted" || res == "cut" || res == "unfinished" || res == "partial":
			cut = true
		case res == "completed":
			continue
		default: // missed, skipped, cancelled, displaced...
			notPlayed = true
		}
		reasons = append(reasons, strings.TrimSpace(strings.Join(nonEmpty(res, r.Note), ": ")))
	}
	ln.Reason = strings.Join(slices.Compact(reasons), "; ")
	if ln.Actual != nil {
		first := rs[0]
		for _, r := range rs {
			if !r.Actual.IsZero() && (first.Actual.IsZero() || r.Part < first.Part) {
				first = r
			}
		}
		if l := first.Actual.Sub(first.Planned); l > 0 {
			ln.LateS = l.Seconds()
		}
	}
	switch {
	case failed:
		ln.Status = Failed
	case ln.Actual == nil || notPlayed && !cut:
		ln.Status = Missed
		if ln.Actual != nil {
			ln.Status = Interrupted
		}
	case cut:
		ln.Status = Interrupted
	case ln.LateS > lateAfter.Seconds():
		ln.Status = Late
		ln.Reason = fmt.Sprintf("bắt đầu muộn %.0f giây / started %.0f s late", ln.LateS, ln.LateS)
	default:
		ln.Status = Played
	}
}

func nonEmpty(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}
