package schedule

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// oneProgram is a schedule of a single program of testMedia's a.mp3 (5 min).
func oneProgram(t *testing.T, cronSpec string) *Schedule {
	t.Helper()
	f := mustLoad(t, "f.yaml", "programs:\n  - id: p\n    cron: \""+cronSpec+"\"\n    items: [a.mp3]\n", testMedia)
	return New(nil, Source{Name: "local", File: f})
}

// daysWith lists the dates in [from, from+n days) whose timeline is not
// empty, with the start times.
func daysWith(t *testing.T, s *Schedule, from string, n int) string {
	t.Helper()
	var out []string
	d := mustDate(t, from)
	for i := 0; i < n; i++ {
		for _, o := range s.Timeline(d.AddDays(i)) {
			out = append(out, o.Start.In(s.Location()).Format("Mon 2006-01-02 15:04"))
		}
	}
	return strings.Join(out, ", ")
}

func TestTimelineAwkwardDays(t *testing.T) {
	tests := []struct {
		name, cron, from string
		days             int
		want             string
	}{
		{"31st skips 30-day months", "0 6 31 * *", "2026-10-30", 63,
			"Sat 2026-10-31 06:00, Thu 2026-12-31 06:00"},
		{"29 February, not in 2027", "0 6 29 2 *", "2027-02-27", 3, ""},
		{"29 February in 2028", "0 6 29 2 *", "2028-02-27", 3, "Tue 2028-02-29 06:00"},
		{"weekdays 1-5", "0 6 * * 1-5", "2026-11-28", 9,
			"Mon 2026-11-30 06:00, Tue 2026-12-01 06:00, Wed 2026-12-02 06:00, Thu 2026-12-03 06:00, Fri 2026-12-04 06:00"},
		{"weekend 6,0", "0 6 * * 6,0", "2026-11-28", 9,
			"Sat 2026-11-28 06:00, Sun 2026-11-29 06:00, Sat 2026-12-05 06:00, Sun 2026-12-06 06:00"},
		{"every other weekday */2 (Sun, Tue, Thu, Sat)", "0 6 * * */2", "2026-11-29", 7,
			"Sun 2026-11-29 06:00, Tue 2026-12-01 06:00, Thu 2026-12-03 06:00, Sat 2026-12-05 06:00"},
		// Both day fields restricted: either matches (the 13th, or a Friday).
		{"13th or Friday", "0 6 13 * 5", "2026-11-09", 14,
			"Fri 2026-11-13 06:00, Fri 2026-11-20 06:00"},
		{"13th or Friday, 13th not a Friday", "0 6 13 * 5", "2026-12-09", 14,
			"Fri 2026-12-11 06:00, Sun 2026-12-13 06:00, Fri 2026-12-18 06:00"},
		// "First Monday" written naively is days 1-7 or any Monday.
		{"1-7 or Monday", "0 6 1-7 * 1", "2026-12-01", 15,
			"Tue 2026-12-01 06:00, Wed 2026-12-02 06:00, Thu 2026-12-03 06:00, Fri 2026-12-04 06:00, Sat 2026-12-05 06:00, Sun 2026-12-06 06:00, Mon 2026-12-07 06:00, Mon 2026-12-14 06:00"},
		// A star day-of-month restricts nothing: only Fridays.
		{"star and Friday", "0 6 * * 5", "2026-12-09", 14, "Fri 2026-12-11 06:00, Fri 2026-12-18 06:00"},
		// A stepped star is still a star (Vixie cron): odd days AND
		// Sundays, not odd days or Sundays (robfig's reading).
		{"odd Sundays", "0 6 */2 * 0", "2026-12-01", 31,
			"Sun 2026-12-13 06:00, Sun 2026-12-27 06:00"},
		{"several times a day", "0,30 5-6 * * *", "2026-12-01", 1,
			"Tue 2026-12-01 05:00, Tue 2026-12-01 05:30, Tue 2026-12-01 06:00, Tue 2026-12-01 06:30"},
		{"month names", "0 6 1 jan,jul *", "2026-12-31", 190,
			"Fri 2027-01-01 06:00, Thu 2027-07-01 06:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := oneProgram(t, tt.cron)
			if got := daysWith(t, s, tt.from, tt.days); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

// Next finds far-off days: the next 29 February is over a year away.
func TestNext(t *testing.T) {
	vn := DefaultLocation()
	s := oneProgram(t, "0 6 29 2 *")
	got := describe(s.Next(at(t, vn, "2026-12-01 00:00:00"), 2), vn)
	want := "p 2028-02-29 06:00-06:05:00\np 2032-02-29 06:00-06:05:00\n"
	if got != want {
		t.Errorf("got\n%swant\n%s", got, want)
	}

	src := "programs:\n" +
		"  - id: sang\n    cron: \"30 5 * * *\"\n    items: [a.mp3]\n" +
		"  - id: tet\n    date: 2027-02-06\n    at: \"05:00\"\n    items: [a.mp3]\n" +
		"  - id: trua\n    cron: \"0 11 * * 1-5\"\n    items: [a.mp3]\n"
	s = New(nil, Source{Name: "local", File: mustLoad(t, "f.yaml", src, testMedia)})
	// From Friday 05:30 exactly: "after" excludes the 05:30 start itself.
	got = describe(s.Next(at(t, vn, "2027-02-05 05:30:00"), 5), vn)
	want = "trua 2027-02-05 11:00-11:05:00\n" +
		"tet 2027-02-06 05:00-05:05:00\n" +
		"sang 2027-02-06 05:30-05:35:00\n" +
		"sang 2027-02-07 05:30-05:35:00\n" +
		"sang 2027-02-08 05:30-05:35:00\n"
	if got != want {
		t.Errorf("got\n%swant\n%s", got, want)
	}
	if n := s.Next(time.Now(), 0); n != nil {
		t.Errorf("Next(_, 0) = %v", n)
	}
}

// Away from DST changes, the day-wise enumeration gives exactly what chaining
// robfig's Schedule.Next gives, day-of-month/day-of-week rules included.
//
// Next runs on the spec as parseCron returns it, whose day fields are marked
// the Vixie way ("*/2" is a star): robfig's own parser marks only "*", and
// where that reading differs from cron's ("0 6 */2 * 0", "0 6 1,* * 1")
// TestCronDaySemantics shows both. The comparison checks the enumeration, not
// the marking.
func TestStartsMatchRobfigNext(t *testing.T) {
	specs := []string{
		"30 5 * * *", "0 6 31 * *", "0 6 29 2 *", "0 6 * * 1-5", "0 6 * * 6,0", "0 6 * * */2",
		"0 6 13 * 5", "0 6 1-7 * 1", "0 6 */2 * 0", "*/15 5-7 * * *", "0 0 1 */3 *", "59 23 L * *",
		"0 12 * jun-aug sat", "5,35 */4 10-20 * mon-fri", "0 6 ? * *", "0 6 * * ?",
		"0 8 */2 * 1", "0 8 1 * */3", "0 8 1,* * 1", "0 8 *,1 * 1", "@weekly", "@monthly",
	}
	for _, zone := range []string{"Asia/Ho_Chi_Minh", "UTC", "Europe/Berlin"} {
		loc := mustZone(t, zone)
		from := time.Date(2026, 11, 1, 0, 0, 0, 0, loc)
		to := time.Date(2029, 1, 1, 0, 0, 0, 0, loc)
		for _, spec := range specs {
			parsed, err := parseCron(spec)
			if err != nil {
				if spec != "59 23 L * *" { // "L" is not cron syntax here
					t.Fatalf("%q: %v", spec, err)
				}
				continue
			}
			cs := *parsed
			cs.Location = loc
			var want []time.Time
			for t := cs.Next(from.Add(-time.Second)); !t.IsZero() && t.Before(to); t = cs.Next(t) {
				if !dstDay(t) {
					want = append(want, t)
				}
			}
			f := mustLoad(t, "f.yaml", "timezone: "+zone+"\nprograms:\n  - id: p\n    cron: \""+spec+"\"\n    items: [a.mp3]\n", testMedia)
			s := New(loc, Source{Name: "local", File: f})
			var got []time.Time
			for d := DateOf(from); d.Before(DateOf(to)); d = d.AddDays(1) {
				for _, o := range s.Timeline(d) {
					if !dstDay(o.Start) {
						got = append(got, o.Start)
					}
				}
			}
			if len(got) != len(want) {
				t.Errorf("%s %q: %d starts, robfig %d", zone, spec, len(got), len(want))
				continue
			}
			for i := range got {
				if !got[i].Equal(want[i]) {
					t.Errorf("%s %q: start %d is %v, robfig %v", zone, spec, i, got[i], want[i])
					break
				}
			}
			// Next agrees too.
			next := s.Next(from.Add(-time.Second), len(want))
			for i := range next {
				if !dstDay(next[i].Start) && !next[i].Start.Equal(want[0]) {
					t.Errorf("%s %q: Next[%d] = %v, robfig %v", zone, spec, i, next[i].Start, want[0])
					break
				}
				if !dstDay(next[i].Start) {
					want = want[1:]
				}
			}
		}
	}
}

// dstDay reports whether t's local day has a UTC offset change.
func dstDay(t time.Time) bool {
	y, m, d := t.Date()
	a := time.Date(y, m, d, 0, 0, 0, 0, t.Location())
	b := time.Date(y, m, d+1, 0, 0, 0, 0, t.Location())
	return b.Sub(a) != 24*time.Hour
}

// The schedule of a typical day, with the cases the player relies on.
func TestAt(t *testing.T) {
	vn := DefaultLocation()
	media := mapResolver{"20m.mp3": 20 * time.Minute, "10m.mp3": 10 * time.Minute, "5m.mp3": 5 * time.Minute, "chime.mp3": 10 * time.Second}
	local := mustLoad(t, "local.yaml", `programs:
  - id: ban-tin-sang          # 05:30-05:45
    cron: "30 5 * * *"
    items: [10m.mp3, 5m.mp3]
  - id: nhac-sang             # 05:45-06:05, right after
    cron: "45 5 * * *"
    items: [20m.mp3]
  - id: tiep-song-vov         # 06:10-07:10, cut 06:20-06:30 by the urgent one
    cron: "10 6 * * *"
    chime: chime.mp3
    duration: 1h
    relay: http://127.0.0.1:8000/vov1.mp3
  - id: canh-bao-lu           # 06:20-06:30
    cron: "20 6 * * *"
    priority: urgent
    items: [10m.mp3]
  - id: thong-bao-toi         # 21:00-21:20, loses to the city's
    cron: "0 21 * * *"
    items: [20m.mp3]
  - id: nhac-dem              # 23:50-00:30, across midnight
    cron: "50 23 * * *"
    items: [20m.mp3, 20m.mp3]
  - id: tet                   # a one-off, on a day with nothing else then
    date: 2027-02-06
    at: "03:00"
    items: [5m.mp3]
`, media)
	city := mustLoad(t, "city.yaml", `programs:
  - id: thoi-su-thanh-pho     # 21:00-21:10, over the local one
    cron: "0 21 * * *"
    items: [10m.mp3]
`, media)
	s := New(vn, Source{Name: "local", Rank: 0, File: local}, Source{Name: "city", Rank: 1, File: city})

	tests := []struct {
		at     string
		want   string // "" nothing on air, else "source/id +offset segment#within"
		reason string
	}{
		{"2026-12-01 05:29:59", "", "before the first program"},
		{"2026-12-01 05:30:00", "local/ban-tin-sang +0s item0+0s", "starts at second 0"},
		{"2026-12-01 05:44:59", "local/ban-tin-sang +14m59s item1+4m59s", "second item"},
		{"2026-12-01 05:45:00", "local/nhac-sang +0s item0+0s", "back to back: the next one at its start"},
		{"2026-12-01 06:07:00", "", "gap"},
		{"2026-12-01 06:10:05", "local/tiep-song-vov +5s chime0+5s", "chime before the relay"},
		{"2026-12-01 06:15:00", "local/tiep-song-vov +5m0s relay1+4m50s", "relay"},
		{"2026-12-01 06:20:00", "local/canh-bao-lu +0s item0+0s", "urgent cuts normal"},
		{"2026-12-01 06:29:59", "local/canh-bao-lu +9m59s item0+9m59s", "urgent still on"},
		{"2026-12-01 06:30:00", "local/tiep-song-vov +20m0s relay1+19m50s", "the normal one continues by the wall clock"},
		{"2026-12-01 07:09:59", "local/tiep-song-vov +59m59s relay1+59m49s", "relay capped at duration"},
		{"2026-12-01 07:10:00", "", "duration over"},
		{"2026-12-01 21:05:00", "city/thoi-su-thanh-pho +5m0s item0+5m0s", "city wins equal priority"},
		{"2026-12-01 21:15:00", "local/thong-bao-toi +15m0s item0+15m0s", "local continues once the city's ends"},
		{"2026-12-01 23:55:00", "local/nhac-dem +5m0s item0+5m0s", "late program"},
		{"2026-12-02 00:10:00", "local/nhac-dem +20m0s item1+0s", "after midnight, yesterday's program"},
		{"2026-12-02 00:29:59", "local/nhac-dem +39m59s item1+19m59s", "its last second"},
		{"2026-12-02 00:30:00", "", "over"},
		{"2027-02-06 03:02:00", "local/tet +2m0s item0+2m0s", "one-off"},
		{"2027-02-07 03:02:00", "", "one-off only on its date"},
	}
	for _, tt := range tests {
		o, off, ok := s.At(at(t, vn, tt.at))
		got := ""
		if ok {
			i, within, ok := o.Locate(off)
			if !ok {
				t.Errorf("%s: Locate(%v) failed", tt.at, off)
			}
			got = fmt.Sprintf("%s/%s +%v %s%d+%v", o.Source, o.Program.ID, off, o.Segments()[i].Kind, i, within)
		}
		if got != tt.want {
			t.Errorf("At(%s) = %q, want %q (%s)", tt.at, got, tt.want, tt.reason)
		}
	}

	// The day's timeline, and what never airs.
	d := mustDate(t, "2026-12-01")
	got := describe(s.Timeline(d), vn)
	want := "ban-tin-sang 2026-12-01 05:30-05:45:00\n" +
		"nhac-sang 2026-12-01 05:45-06:05:00\n" +
		"tiep-song-vov 2026-12-01 06:10-07:10:00\n" +
		"canh-bao-lu 2026-12-01 06:20-06:30:00\n" +
		"thoi-su-thanh-pho 2026-12-01 21:00-21:10:00\n" +
		"thong-bao-toi 2026-12-01 21:00-21:20:00\n" +
		"nhac-dem 2026-12-01 23:50-00:30:00\n"
	if got != want {
		t.Errorf("Timeline:\n%swant\n%s", got, want)
	}
	// Occurrences compare with ==: the player can tell "still the same one".
	if o, _, _ := s.At(at(t, vn, "2026-12-01 06:15:00")); o != s.Timeline(d)[2] {
		t.Errorf("At 06:15 = %v, not the timeline's %v", o, s.Timeline(d)[2])
	}
	if dis := s.Displaced(d); len(dis) != 0 {
		t.Errorf("Displaced = %s", describe(dis, vn))
	}
}

func TestSegments(t *testing.T) {
	media := mapResolver{"a": 4 * time.Minute, "b": 3 * time.Minute, "c": 2 * time.Minute, "chime": 10 * time.Second}
	f := mustLoad(t, "f.yaml", `programs:
  - id: capped            # 10s + 4m + 3m + 2m capped at 5m: b is shortened, c dropped
    cron: "0 6 * * *"
    chime: chime
    duration: 5m
    items: [a, b, c]
  - id: relay
    cron: "0 7 * * *"
    duration: 30m
    relay: https://example.org/vov1.mp3
    fallback: [a]
`, media)
	s := New(nil, Source{Name: "local", File: f})
	tl := s.Timeline(mustDate(t, "2026-12-01"))
	if len(tl) != 2 {
		t.Fatalf("timeline %s", describe(tl, s.Location()))
	}
	var b strings.Builder
	for _, o := range tl {
		for _, sg := range o.Segments() {
			ref := sg.URL
			if sg.Media != nil {
				ref = sg.Media.Ref
			}
			fmt.Fprintf(&b, "%s %s %s @%v for %v\n", o.Program.ID, sg.Kind, ref, sg.Offset, sg.Duration)
		}
		fmt.Fprintf(&b, "%s lasts %v\n", o.Program.ID, o.Length())
	}
	want := "capped chime chime @0s for 10s\n" +
		"capped item a @10s for 4m0s\n" +
		"capped item b @4m10s for 50s\n" +
		"capped lasts 5m0s\n" +
		"relay relay https://example.org/vov1.mp3 @0s for 30m0s\n" +
		"relay lasts 30m0s\n"
	if b.String() != want {
		t.Errorf("got\n%swant\n%s", b.String(), want)
	}

	o := tl[0]
	for _, c := range []struct {
		off    time.Duration
		index  int
		within time.Duration
		ok     bool
	}{
		{-time.Second, 0, 0, false},
		{0, 0, 0, true},
		{10 * time.Second, 1, 0, true},
		{4*time.Minute + 9*time.Second, 1, 3*time.Minute + 59*time.Second, true},
		{4*time.Minute + 10*time.Second, 2, 0, true},
		{5*time.Minute - time.Nanosecond, 2, 50*time.Second - time.Nanosecond, true},
		{5 * time.Minute, 0, 0, false},
	} {
		i, w, ok := o.Locate(c.off)
		if i != c.index || w != c.within || ok != c.ok {
			t.Errorf("Locate(%v) = %d, %v, %v; want %d, %v, %v", c.off, i, w, ok, c.index, c.within, c.ok)
		}
	}
	// An Occurrence built by hand lays out its program the same way.
	byHand := Occurrence{Program: o.Program, Start: o.Start, End: o.End}
	if i, w, ok := byHand.Locate(4*time.Minute + 20*time.Second); i != 2 || w != 10*time.Second || !ok || len(byHand.Segments()) != 3 {
		t.Errorf("by hand: Locate = %d %v %v, %d segments", i, w, ok, len(byHand.Segments()))
	}
	// The caller's copy is its own.
	segs := o.Segments()
	segs[0].Duration = time.Hour
	if o.Segments()[0].Duration != 10*time.Second {
		t.Error("Segments shares its slice with the caller")
	}
}

// An urgent program covering a normal one entirely: the normal one never
// airs, and Displaced says so.
func TestDisplaced(t *testing.T) {
	vn := DefaultLocation()
	media := mapResolver{"1h": time.Hour, "10m": 10 * time.Minute}
	local := mustLoad(t, "f.yaml", `programs:
  - id: hop-dan            # urgent 06:00-07:00
    cron: "0 6 * * *"
    priority: urgent
    items: [1h]
  - id: ban-tin            # 06:30-06:40: entirely under the urgent one
    cron: "30 6 * * *"
    items: [10m]
  - id: nhac               # 06:55-07:05: airs its last 5 minutes
    cron: "55 6 * * *"
    items: [10m]
  - id: toi                # 20:00-20:10 local, under the city's 20:00-21:00
    cron: "0 20 * * *"
    items: [10m]
`, media)
	city := mustLoad(t, "c.yaml", "programs:\n  - id: thanh-pho\n    cron: \"0 20 * * *\"\n    items: [1h]\n", media)
	s := New(vn, Source{Name: "local", File: local}, Source{Name: "city", Rank: 1, File: city})
	got := describe(s.Displaced(mustDate(t, "2026-12-01")), vn)
	want := "ban-tin 2026-12-01 06:30-06:40:00\ntoi 2026-12-01 20:00-20:10:00\n"
	if got != want {
		t.Errorf("Displaced:\n%swant\n%s", got, want)
	}
	o, off, _ := s.At(at(t, vn, "2026-12-01 07:02:00"))
	if o.Program.ID != "nhac" || off != 7*time.Minute {
		t.Errorf("At 07:02 = %s +%v", o.Program.ID, off)
	}
}

// Days computed concurrently, with cache evictions, give the same answers.
func TestConcurrentUse(t *testing.T) {
	s := oneProgram(t, "*/20 * * * *")
	vn := DefaultLocation()
	start := mustDate(t, "2026-12-01")
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				d := start.AddDays((i*7 + g) % 40)
				if n := len(s.Timeline(d)); n != 72 {
					t.Errorf("%v: %d occurrences", d, n)
					return
				}
				tt := d.Midnight(vn).Add(time.Duration(i) * 7 * time.Minute)
				o, off, ok := s.At(tt)
				wantOn := (i*7)%20 < 5
				if ok != wantOn || ok && off != time.Duration((i*7)%20)*time.Minute {
					t.Errorf("At(%v) = %v %v %v", tt, o.Start, off, ok)
					return
				}
			}
		}(g)
	}
	wg.Wait()
	if n := len(*s.days.Load()); n > dayCacheSize {
		t.Errorf("cache holds %d days", n)
	}
}
