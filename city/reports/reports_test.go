package reports

import (
	"bytes"
	"encoding/csv"
	"strings"

	"github.com/xuri/excelize/v2"

	"context"
	"errors"
	"testing"
	"time"

	"loa/city/accounts"
	"loa/city/api"
	"loa/internal/cmdkit"
	"loa/schedule"
	"loa/sqlite"
)

// fakeStore plans fixed occurrences per ward and day and holds as-run rows.
type fakeStore struct {
	places []accounts.Place
	plan   map[string][]api.Occurrence // ward → occurrences (any day)
	rows   map[string][]sqlite.CityAsRun
}

func (f *fakeStore) Places(context.Context) ([]accounts.Place, error) { return f.places, nil }

func (f *fakeStore) Timeline(_ context.Context, ward string, d schedule.Date) (api.Timeline, error) {
	tl := api.Timeline{Ward: ward, Date: d.String()}
	for _, o := range f.plan[ward] {
		if schedule.DateOf(o.Start.In(hcm)) == d {
			tl.Occurrences = append(tl.Occurrences, o)
		}
	}
	return tl, nil
}

func (f *fakeStore) AsRun(_ context.Context, ward string, from, to time.Time) ([]sqlite.CityAsRun, error) {
	var out []sqlite.CityAsRun
	for _, r := range f.rows[ward] {
		if !r.Planned.Before(from) && r.Planned.Before(to) {
			out = append(out, r)
		}
	}
	return out, nil
}

var hcm = time.FixedZone("ICT", 7*3600)

func at(day, hh, mm int) time.Time { return time.Date(2026, 12, day, hh, mm, 0, 0, hcm) }

func occ(id string, start time.Time, d time.Duration) api.Occurrence {
	return api.Occurrence{Program: id, Title: "T " + id, Start: start, End: start.Add(d)}
}

func row(id string, occStart time.Time, part int, lateBy, played time.Duration, result, note string) sqlite.CityAsRun {
	r := sqlite.CityAsRun{Ward: "w1", Program: id, Kind: "program", Occurrence: occStart, Part: part, Planned: occStart, Result: result, Note: note}
	if played > 0 {
		r.Actual = occStart.Add(lateBy)
		r.End = r.Actual.Add(played)
	}
	return r
}

func newFake() *fakeStore {
	return &fakeStore{
		places: []accounts.Place{{ID: "w1", Groups: []string{"north"}}, {ID: "w2", Groups: []string{"north"}}, {ID: "w3", Groups: []string{"south"}}},
		plan: map[string][]api.Occurrence{
			"w1": {
				occ("news", at(1, 6, 0), 10*time.Minute),
				occ("late", at(1, 7, 0), 10*time.Minute),
				occ("cut", at(1, 8, 0), 10*time.Minute),
				occ("gone", at(1, 9, 0), 10*time.Minute),
				occ("broken", at(1, 10, 0), 10*time.Minute),
				occ("skipped", at(1, 11, 0), 10*time.Minute),
				func() api.Occurrence { o := occ("hidden", at(1, 12, 0), time.Minute); o.Displaced = true; return o }(),
				occ("news", at(2, 6, 0), 10*time.Minute),
				occ("tonight", at(2, 20, 0), 10*time.Minute),
			},
			"w3": {occ("news", at(1, 6, 0), 10*time.Minute)},
		},
		rows: map[string][]sqlite.CityAsRun{
			"w1": {
				row("news", at(1, 6, 0), 0, 0, 5*time.Minute, "completed", ""),
				{Ward: "w1", Program: "news", Kind: "program", Occurrence: at(1, 6, 0), Part: 1, Planned: at(1, 6, 5), Actual: at(1, 6, 5), End: at(1, 6, 10), Result: "completed"},
				row("late", at(1, 7, 0), 0, 30*time.Second, 10*time.Minute, "completed", ""),
				row("cut", at(1, 8, 0), 0, 0, 4*time.Minute, "interrupted", "cut by an emergency alert"),
				row("broken", at(1, 10, 0), 0, 0, 0, "failed: decode item.mp3: bad frame", ""),
				row("skipped", at(1, 11, 0), -1, 0, 0, "skipped", "agent was not playing"),
				row("removed", at(1, 13, 0), 0, 0, 2*time.Minute, "completed", ""),
				{Ward: "w1", Program: "ALERT1", Kind: "alert", Planned: at(1, 14, 0), Actual: at(1, 14, 0), End: at(1, 14, 1), Result: "completed"},
				row("news", at(2, 6, 0), 0, time.Second, 10*time.Minute, "completed", ""),
			},
		},
	}
}

func TestReportCountsEveryOutcome(t *testing.T) {
	s := New(newFake(), hcm, func() time.Time { return at(2, 12, 0) }, nil)
	rep, err := s.Make(context.Background(), Query{Ward: "w1", From: schedule.Date{Year: 2026, Month: 12, Day: 1}, To: schedule.Date{Year: 2026, Month: 12, Day: 2}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Wards) != 1 || len(rep.Wards[0].Days) != 2 {
		t.Fatalf("wards %+v", rep.Wards)
	}
	d1 := rep.Wards[0].Days[0].Counts
	want := Counts{Planned: 6, Played: 1, Late: 1, Interrupted: 1, Missed: 2, Failed: 1, Unplanned: 1}
	want.OnAirSeconds = d1.OnAirSeconds
	if d1 != want {
		t.Errorf("day 1 = %+v, want %+v", d1, want)
	}
	// news 10 min, late 10, cut 4, removed 2, alert 1.
	if got := d1.OnAirSeconds; got != 27*60 {
		t.Errorf("on air day 1 = %v s, want %v", got, 27*60)
	}
	d2 := rep.Wards[0].Days[1].Counts
	if d2.Planned != 1 || d2.Played != 1 {
		t.Errorf("day 2 = %+v: tonight is upcoming and not counted; 1 s late is on time", d2)
	}
	if rep.Totals.Planned != 7 || rep.Totals.Missed != 2 {
		t.Errorf("totals %+v", rep.Totals)
	}
	status := map[string]Line{}
	for _, l := range rep.Wards[0].Lines {
		if l.Date == "2026-12-01" {
			status[l.Program] = l
		}
	}
	for prog, want := range map[string]Status{"news": Played, "late": Late, "cut": Interrupted, "gone": Missed, "broken": Failed, "skipped": Missed, "removed": Unplanned} {
		if got := status[prog].Status; got != want {
			t.Errorf("%s: %s, want %s (%+v)", prog, got, want, status[prog])
		}
	}
	if _, ok := status["hidden"]; ok {
		t.Error("a displaced occurrence is not planned to air")
	}
	for prog, want := range map[string]string{
		"gone":    "không có nhật ký phát sóng / no as-run row",
		"broken":  "failed: decode item.mp3: bad frame",
		"skipped": "skipped: agent was not playing",
		"cut":     "interrupted: cut by an emergency alert",
		"late":    "bắt đầu muộn 30 giây / started 30 s late",
	} {
		if got := status[prog].Reason; got != want {
			t.Errorf("%s reason %q, want %q", prog, got, want)
		}
	}
	if l := status["news"]; l.OnAirS != 600 || l.Actual == nil || !l.End.Equal(at(1, 6, 10)) {
		t.Errorf("news line %+v: two parts, 10 min on air", l)
	}
}

func TestReportScope(t *testing.T) {
	s := New(newFake(), hcm, func() time.Time { return at(2, 12, 0) }, nil)
	d := schedule.Date{Year: 2026, Month: 12, Day: 1}
	ctx := context.Background()
	north := accounts.Scope{Groups: []string{"north"}}
	one := accounts.Scope{Wards: []string{"w2"}}

	rep, err := s.Make(ctx, Query{From: d, To: d, Scope: north})
	if err != nil {
		t.Fatal(err)
	}
	if got := wardIDs(rep); got != "w1,w2" {
		t.Errorf("north sees %s", got)
	}
	rep, _ = s.Make(ctx, Query{From: d, To: d})
	if got := wardIDs(rep); got != "w1,w2,w3" {
		t.Errorf("city-wide sees %s", got)
	}
	rep, _ = s.Make(ctx, Query{Group: "north", From: d, To: d, Scope: one})
	if got := wardIDs(rep); got != "w2" {
		t.Errorf("w2's official, group north, sees %s", got)
	}
	for _, q := range []Query{{Ward: "w3", Scope: north}, {Group: "south", Scope: north}, {Ward: "nowhere", Scope: north}} {
		q.From, q.To = d, d
		if _, err := s.Make(ctx, q); !errors.Is(err, ErrOutOfScope) {
			t.Errorf("%+v: %v, want out of scope", q, err)
		}
	}
	if _, err := s.Make(ctx, Query{Ward: "nowhere", From: d, To: d}); !errors.Is(err, sqlite.ErrNotFound) {
		t.Errorf("unknown ward: %v", err)
	}
}

func wardIDs(r Report) string {
	s := ""
	for i, w := range r.Wards {
		if i > 0 {
			s += ","
		}
		s += w.Ward
	}
	return s
}

func TestParseRange(t *testing.T) {
	today := schedule.Date{Year: 2026, Month: 12, Day: 6}
	for _, c := range []struct{ from, to, want, err string }{
		{"", "", "2026-12-01..2026-12-06", ""},
		{"2026-11-01", "2026-11-30", "2026-11-01..2026-11-30", ""},
		{"", "2026-11-15", "2026-11-01..2026-11-15", ""},
		{"2026-13-01", "", "", "từ ngày / from \"2026-13-01\""},
		{"", "6/12/2026", "", "đến ngày / to \"6/12/2026\""},
		{"2026-12-05", "2026-12-01", "", "đến ngày / to 2026-12-01: trước ngày bắt đầu"},
		{"2026-01-01", "2026-12-01", "", "tối đa 92"},
	} {
		f, to, err := ParseRange(c.from, c.to, today)
		if c.err != "" {
			var bad *cmdkit.BadInputError
			if !errors.As(err, &bad) || !contains(bad.Msg, c.err) {
				t.Errorf("%q..%q: %v, want %q", c.from, c.to, err, c.err)
			}
			continue
		}
		if err != nil || f.String()+".."+to.String() != c.want {
			t.Errorf("%q..%q: %s..%s %v, want %s", c.from, c.to, f, to, err, c.want)
		}
	}
}

func contains(s, sub string) bool {
	return len(sub) == 0 || len(s) >= len(sub) && (s[:len(sub)] == sub || contains(s[1:], sub))
}

func TestExports(t *testing.T) {
	s := New(newFake(), hcm, func() time.Time { return at(2, 12, 0) }, nil)
	d := schedule.Date{Year: 2026, Month: 12, Day: 1}
	rep, err := s.Make(context.Background(), Query{Ward: "w1", From: d, To: d})
	if err != nil {
		t.Fatal(err)
	}
	var csvOut bytes.Buffer
	if err := rep.WriteCSV(&csvOut, hcm); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&csvOut).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 8 || recs[0][0] != "Phường / Ward" {
		t.Fatalf("csv: %d records, %q", len(recs), recs[0])
	}
	if got := recs[4]; got[2] != "gone" || got[4] != "09:00:00" || got[9] != "Bỏ lỡ / Missed" {
		t.Errorf("csv line 4 %q", got)
	}
	var x bytes.Buffer
	if err := rep.WriteXLSX(&x, hcm, "Đài Huế"); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(&x)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if v, _ := f.GetCellValue(SheetSummary, "A1"); !strings.HasPrefix(v, "Đài Huế — Báo cáo phát sóng") {
		t.Errorf("title %q", v)
	}
	rows, _ := f.GetRows(SheetSummary)
	if got := rows[3]; got[0] != "w1" || got[1] != "2026-12-01" || got[2] != "6" || got[6] != "2" {
		t.Errorf("summary row %q", got)
	}
	lines, _ := f.GetRows(SheetLines)
	if len(lines) != 8 || lines[5][2] != "broken" || lines[5][9] != "Lỗi / Failed" {
		t.Errorf("lines %q", lines)
	}
}
