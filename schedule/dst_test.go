package schedule

import (
	"testing"
	"time"
)

// Europe/Berlin: clocks go forward 2027-03-28 02:00 → 03:00 and back
// 2026-10-25 03:00 → 02:00.
func berlin(t *testing.T, src string) (*Schedule, *time.Location) {
	t.Helper()
	loc := mustZone(t, "Europe/Berlin")
	media := mapResolver{"5m": 5 * time.Minute, "2h": 2 * time.Hour}
	f := mustLoad(t, "f.yaml", "timezone: Europe/Berlin\nprograms:\n"+src, media)
	return New(loc, Source{Name: "local", File: f}), loc
}

func TestDSTSpringForward(t *testing.T) {
	s, loc := berlin(t, `  - id: dem           # 02:30 does not exist on 28 March: 03:30 CEST
    cron: "30 2 * * *"
    items: [5m]
  - id: sang          # 01:00 CET + 2 h = 04:00 CEST
    cron: "0 1 * * *"
    items: [2h]
`)
	d := mustDate(t, "2027-03-28")
	got := describe(s.Timeline(d), loc)
	want := "sang 2027-03-28 01:00-04:00:00\ndem 2027-03-28 03:30-03:35:00\n"
	if got != want {
		t.Errorf("timeline:\n%swant\n%s", got, want)
	}
	if got := s.Timeline(d)[1].Start.UTC().Format("15:04"); got != "01:30" {
		t.Errorf("dem starts at %s UTC, want 01:30", got)
	}
	// 03:40 CEST is 100 minutes after 01:00 CET: the offset is real
	// elapsed time, not the 160 minutes the wall clock suggests.
	o, off, ok := s.At(at(t, loc, "2027-03-28 03:40:00"))
	if !ok || o.Program.ID != "sang" || off != 100*time.Minute {
		t.Errorf("At 03:40 = %v %v %v", o.Program, off, ok)
	}
	// Ordinary days either side.
	for _, day := range []string{"2027-03-27", "2027-03-29"} {
		want := "sang " + day + " 01:00-03:00:00\ndem " + day + " 02:30-02:35:00\n"
		if got := describe(s.Timeline(mustDate(t, day)), loc); got != want {
			t.Errorf("%s:\n%swant\n%s", day, got, want)
		}
	}
}

func TestDSTFallBack(t *testing.T) {
	s, loc := berlin(t, `  - id: dem           # 02:30 happens twice on 25 October: once, the first
    cron: "30 2 * * *"
    items: [5m]
`)
	tl := s.Timeline(mustDate(t, "2026-10-25"))
	if len(tl) != 1 {
		t.Fatalf("timeline:\n%s", describe(tl, loc))
	}
	if got := tl[0].Start.Format("15:04 MST"); got != "02:30 CEST" {
		t.Errorf("starts %s, want 02:30 CEST", got)
	}
	// During the second 02:30 (CET), nothing is on air.
	second := time.Date(2026, 10, 25, 1, 31, 0, 0, time.UTC) // 02:31 CET
	if o, _, ok := s.At(second); ok {
		t.Errorf("At 02:31 CET = %s from %v", o.Program.ID, o.Start)
	}
	if o, off, ok := s.At(second.Add(-time.Hour)); !ok || off != time.Minute || o.Program.ID != "dem" {
		t.Errorf("At 02:31 CEST = %v %v %v", o.Program, off, ok)
	}
}

// Every half hour: 46 starts on the short day, 48 on the long one (the
// repeated hour does not repeat its programs), all distinct and in order.
func TestDSTHalfHourly(t *testing.T) {
	s, loc := berlin(t, "  - id: p\n    cron: \"*/30 * * * *\"\n    items: [5m]\n")
	for day, n := range map[string]int{"2027-03-27": 48, "2027-03-28": 46, "2026-10-25": 48, "2026-10-26": 48} {
		tl := s.Timeline(mustDate(t, day))
		if len(tl) != n {
			t.Errorf("%s: %d starts, want %d", day, len(tl), n)
		}
		for i := 1; i < len(tl); i++ {
			if !tl[i-1].Start.Before(tl[i].Start) {
				t.Errorf("%s: start %d (%v) not after %v", day, i, tl[i].Start, tl[i-1].Start)
			}
		}
		for _, o := range tl {
			if DateOf(o.Start.In(loc)) != mustDate(t, day) {
				t.Errorf("%s: %v is another day", day, o.Start)
			}
		}
	}
	// A year of them checks with no overlap: the shifted 02:00 and 02:30
	// land on 03:00 and 03:30 and are kept once.
	f := s.entries[0]
	file := &File{Path: "f.yaml", Location: loc, Programs: []*Program{f.prog}}
	if err := file.CheckOverlaps(at(t, loc, "2026-10-01 00:00:00")); err != nil {
		t.Error(err)
	}
}

// Asia/Beirut skips midnight on 2026-03-29 (00:00 → 01:00).
func TestDSTMidnightGap(t *testing.T) {
	loc := mustZone(t, "Asia/Beirut")
	f := mustLoad(t, "f.yaml", "timezone: Asia/Beirut\nprograms:\n"+
		"  - id: a\n    cron: \"0 0 * * *\"\n    items: [a.mp3]\n"+
		"  - id: b\n    cron: \"30 0 * * *\"\n    items: [a.mp3]\n"+
		"  - id: c\n    cron: \"0 6 * * *\"\n    items: [a.mp3]\n", testMedia)
	s := New(loc, Source{Name: "local", File: f})
	got := describe(s.Timeline(mustDate(t, "2026-03-29")), loc)
	want := "a 2026-03-29 01:00-01:05:00\nb 2026-03-29 01:30-01:35:00\nc 2026-03-29 06:00-06:05:00\n"
	if got != want {
		t.Errorf("timeline:\n%swant\n%s", got, want)
	}
}

// A file in one zone scheduled by a station in another: the station's day
// boundaries decide which day an occurrence belongs to.
func TestFileZoneDiffersFromStation(t *testing.T) {
	vn := DefaultLocation()
	f := mustLoad(t, "f.yaml", "timezone: Europe/Berlin\nprograms:\n  - id: p\n    cron: \"0 20 * * *\"\n    items: [a.mp3]\n", testMedia)
	s := New(vn, Source{Name: "local", File: f})
	// 20:00 CET on 1 December is 02:00 on 2 December in Vietnam.
	if tl := s.Timeline(mustDate(t, "2026-12-01")); len(tl) != 1 || describe(tl, vn) != "p 2026-12-01 02:00-02:05:00\n" {
		t.Errorf("1 Dec: %s", describe(tl, vn))
	}
	if got := describe(s.Timeline(mustDate(t, "2026-12-02")), vn); got != "p 2026-12-02 02:00-02:05:00\n" {
		t.Errorf("2 Dec: %s", got)
	}
	o, off, ok := s.At(at(t, vn, "2026-12-02 02:01:00"))
	if !ok || o.Program.ID != "p" || off != time.Minute {
		t.Errorf("At = %v %v %v", o.Program, off, ok)
	}
}
