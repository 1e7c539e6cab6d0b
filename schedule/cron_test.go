package schedule

import (
	"strings"
	"testing"
	"time"

	"github.com/robfig/cron/v3"
)

// startDays lists the local dates, as "01-02", on which the schedule s
// starts something in the n days from from, with the first start's time.
func startDays(t *testing.T, s *Schedule, from string, n int) (days, first string) {
	t.Helper()
	var out []string
	d := mustDate(t, from)
	for i := 0; i < n; i++ {
		tl := s.Timeline(d.AddDays(i))
		if len(tl) == 0 {
			continue
		}
		out = append(out, d.AddDays(i).String()[5:])
		if first == "" {
			first = tl[0].Start.In(s.Location()).Format("15:04")
		}
	}
	return strings.Join(out, " "), first
}

// robfigDays is the same list as robfig's own parser and Next give it,
// with its own marking of the day fields.
func robfigDays(t *testing.T, spec, from string, n int) string {
	t.Helper()
	sched, err := cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor).Parse(spec)
	if err != nil {
		t.Fatalf("robfig: %v", err)
	}
	loc := DefaultLocation()
	start := mustDate(t, from).Midnight(loc)
	end := mustDate(t, from).AddDays(n).Midnight(loc)
	var out []string
	seen := map[string]bool{}
	for at := sched.Next(start.Add(-time.Second)); at.Before(end); at = sched.Next(at) {
		if day := at.In(loc).Format("01-02"); !seen[day] {
			seen[day] = true
			out = append(out, day)
		}
	}
	return strings.Join(out, " ")
}

// The day-of-month and day-of-week fields follow Vixie cron (crontab(5)):
// when either begins with "*" (including "*/N"), a day must match both;
// only when both are restricted does a day match either. robfig's parser
// does not count "*/N" as a star, so for it "0 8 */2 * 1" is odd days OR
// Mondays. Each row is checked against a list written by hand (loa) and
// against what robfig itself gives (robfig), so the table shows exactly
// where the two differ.
func TestCronDaySemantics(t *testing.T) {
	// 9-29 December 2026: 21 days, Wednesday 9 to Tuesday 29. Mondays are
	// the 14th, 21st and 28th; Fridays the 11th, 18th and 25th.
	const from, n = "2026-12-09", 21
	tests := []struct {
		name, spec  string
		loa, robfig string // the dates, "MM-DD"; robfig "" means the same as loa
		first       string // time of the first start
		from        string // "" means 2026-12-09
		days        int    // 0 means 21
	}{
		// The example: 1 day in 21 in cron, 13 in robfig.
		{"odd days and Mondays", "0 8 */2 * 1", "12-21",
			"12-09 12-11 12-13 12-14 12-15 12-17 12-19 12-21 12-23 12-25 12-27 12-28 12-29", "08:00", "", 0},
		{"every tenth day from the 1st and Fridays", "0 8 */10 * 5", "12-11",
			"12-11 12-18 12-21 12-25", "08:00", "", 0},
		{"odd days or Fridays", "0 8 1-31/2 * 5", "12-09 12-11 12-13 12-15 12-17 12-18 12-19 12-21 12-23 12-25 12-27 12-29",
			"", "08:00", "", 0},
		{"the 12th and every third weekday", "0 8 12 * */3", "12-12",
			"12-09 12-12 12-13 12-16 12-19 12-20 12-23 12-26 12-27", "08:00", "", 0},
		// Both restricted: either. The 13th is a Sunday.
		{"13th or Friday", "0 8 13 * 5", "12-11 12-13 12-18 12-25", "", "08:00", "", 0},
		{"1-7 or Monday", "0 8 1-7 * mon", "12-01 12-02 12-03 12-04 12-05 12-06 12-07 12-14 12-21 12-28", "", "08:00", "2026-12-01", 31},
		// Star day of month: the day of week alone.
		{"Mondays", "0 8 * * 1", "12-14 12-21 12-28", "", "08:00", "", 0},
		{"every other weekday", "0 8 * * */2", "12-10 12-12 12-13 12-15 12-17 12-19 12-20 12-22 12-24 12-26 12-27 12-29", "", "08:00", "", 0},
		{"odd days", "0 8 */2 * *", "12-09 12-11 12-13 12-15 12-17 12-19 12-21 12-23 12-25 12-27 12-29", "", "08:00", "", 0},
		{"question mark is a star", "0 8 ? * 1", "12-14 12-21 12-28", "", "08:00", "", 0},
		// A field that begins with "*" is a star for Vixie whatever
		// follows; one that does not is not, even if it holds "*".
		{"star first in a list", "0 8 *,1 * 1", "12-14 12-21 12-28", "", "08:00", "", 0},
		{"star later in a list", "0 8 1,* * 1",
			"12-09 12-10 12-11 12-12 12-13 12-14 12-15 12-16 12-17 12-18 12-19 12-20 12-21 12-22 12-23 12-24 12-25 12-26 12-27 12-28 12-29",
			"12-14 12-21 12-28", "08:00", "", 0},
		// Descriptors.
		{"@daily", "@daily", "12-09 12-10 12-11 12-12 12-13", "", "00:00", "", 5},
		{"@midnight", "@midnight", "12-09 12-10 12-11 12-12 12-13", "", "00:00", "", 5},
		{"@weekly", "@weekly", "12-13 12-20 12-27", "", "00:00", "", 0},
		{"@monthly", "@monthly", "12-01 01-01 02-01", "", "00:00", "2026-11-15", 90},
		{"@yearly", "@yearly", "01-01", "", "00:00", "2026-06-01", 400},
		{"@annually", "@annually", "01-01", "", "00:00", "2026-06-01", 400},
		{"@hourly", "@hourly", "12-09", "", "00:00", "", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start, days := tt.from, tt.days
			if start == "" {
				start = from
			}
			if days == 0 {
				days = n
			}
			s := oneProgram(t, tt.spec)
			got, first := startDays(t, s, start, days)
			if got != tt.loa {
				t.Errorf("loa:    %s\nwant    %s", got, tt.loa)
			}
			if tt.first != "" && first != tt.first {
				t.Errorf("first start at %s, want %s", first, tt.first)
			}
			wantRobfig := tt.robfig
			if wantRobfig == "" {
				wantRobfig = tt.loa
			}
			if r := robfigDays(t, tt.spec, start, days); r != wantRobfig {
				t.Errorf("robfig: %s\nwant    %s", r, wantRobfig)
			}
		})
	}
}

// Each descriptor is exactly its five fields, over a year.
func TestCronDescriptors(t *testing.T) {
	for name, fields := range descriptors {
		for _, spelled := range []string{name, strings.ToUpper(name), " " + name + " "} {
			a, b := oneProgram(t, spelled), oneProgram(t, fields)
			d := mustDate(t, "2026-12-01")
			for i := 0; i < 366; i++ {
				if x, y := describe(a.Timeline(d.AddDays(i)), a.Location()), describe(b.Timeline(d.AddDays(i)), b.Location()); x != y {
					t.Fatalf("%q on %v: %q, %q gives %q", spelled, d.AddDays(i), x, fields, y)
				}
			}
		}
	}
}

// The overlap check uses the same day rule as the timeline: odd Mondays
// never meet Wednesdays (robfig's odd days would), and do meet Mondays.
func TestCronOverlapsVixie(t *testing.T) {
	const head = "programs:\n"
	f := mustLoad(t, "f.yaml", head+
		"  - id: a\n    cron: \"0 8 */2 * 1\"\n    items: [a.mp3]\n"+
		"  - id: b\n    cron: \"0 8 * * 3\"\n    items: [a.mp3]\n", testMedia)
	if err := f.CheckOverlaps(dec1(t)); err != nil {
		t.Errorf("odd Mondays and Wednesdays: %v", err)
	}
	f = mustLoad(t, "f.yaml", head+
		"  - id: a\n    cron: \"0 8 */2 * 1\"\n    items: [a.mp3]\n"+
		"  - id: b\n    cron: \"2 8 * * mon\"\n    items: [a.mp3]\n", testMedia)
	// 7 December 2026 is the first odd Monday.
	want := `f.yaml:5: programs "a" (line 2) and "b" (line 5) overlap on 2026-12-07 08:02–08:05 (Asia/Ho_Chi_Minh)`
	if err := f.CheckOverlaps(dec1(t)); err == nil || strings.Join(errorLines(t, err), "\n") != want {
		t.Errorf("odd Mondays and Mondays: %v\nwant %s", err, want)
	}
}
