package schedule

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

const editBase = `# Chương trình của phường
timezone: Asia/Ho_Chi_Minh
programs:
  # sáng
  - id: ban-tin-sang
    title: Bản tin sáng
    cron: "30 5 * * 1-6"
    items: [media/ban-tin-sang.mp3]
  - id: vov
    title: Tiếp sóng VOV
    cron: "0 6 */2 * *"
    duration: 30m
    relay: http://127.0.0.1:8000/vov1.mp3
`

func TestSetProgramAddsWeeklyAndKeepsTheRest(t *testing.T) {
	out, err := SetProgram([]byte(editBase), ProgramSpec{ID: "ban-tin-chieu", Title: "Bản tin chiều",
		Days: []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday}, At: "17:00",
		Items: []string{"ban-tin-chieu.mp3", "nhac.mp3"}, Volume: 80, Priority: "normal"})
	if err != nil {
		t.Fatal(err)
	}
	s := string(out)
	for _, want := range []string{"# Chương trình của phường", "# sáng", `cron: "30 5 * * 1-6"`, `cron: "0 6 */2 * *"`,
		"  - id: ban-tin-chieu\n    title: Bản tin chiều\n    cron: \"0 17 * * 1-6\"\n    volume: 80\n    items:\n      - ban-tin-chieu.mp3\n      - nhac.mp3\n"} {
		if !strings.Contains(s, want) {
			t.Errorf("missing %q in\n%s", want, s)
		}
	}
	// What the form writes is a valid program file.
	f, err := Parse("p.yaml", out)
	if err != nil || len(f.Programs) != 3 {
		t.Fatalf("parse: %v", err)
	}
}

func TestSetProgramReplacesInPlaceAndSpecRoundTrips(t *testing.T) {
	spec, err := SpecOf([]byte(editBase), "ban-tin-sang")
	if err != nil {
		t.Fatal(err)
	}
	want := ProgramSpec{ID: "ban-tin-sang", Title: "Bản tin sáng", Days: []time.Weekday{1, 2, 3, 4, 5, 6}, At: "05:30", Items: []string{"media/ban-tin-sang.mp3"}}
	if !reflect.DeepEqual(spec, want) {
		t.Fatalf("SpecOf = %+v", spec)
	}
	spec.At = "05:45"
	spec.Days = []time.Weekday{time.Sunday}
	out, err := SetProgram([]byte(editBase), spec)
	if err != nil {
		t.Fatal(err)
	}
	s := string(out)
	if strings.Index(s, "ban-tin-sang") > strings.Index(s, "id: vov") || !strings.Contains(s, `cron: "45 5 * * 0"`) || strings.Contains(s, "30 5") {
		t.Fatalf("replace in place:\n%s", s)
	}
	// A cron a form cannot say stays as it is, in Cron.
	vov, _ := SpecOf(out, "vov")
	if vov.Cron != "0 6 */2 * *" || vov.Days != nil || vov.Relay == "" || vov.Duration != "30m" {
		t.Fatalf("advanced cron: %+v", vov)
	}
	again, _ := SetProgram(out, vov)
	if string(again) != string(out) {
		t.Fatalf("writing a program back unchanged changed the file:\n%s\n---\n%s", out, again)
	}
}

func TestSetProgramOneOffAndEmptyFileAndRemove(t *testing.T) {
	out, err := SetProgram(nil, ProgramSpec{ID: "chuc-tet", Title: "Chương trình Tết", Date: "2027-02-06", At: "07:00", Items: []string{"chuc-tet.mp3"}, Priority: "urgent"})
	if err != nil {
		t.Fatal(err)
	}
	want := "programs:\n  - id: chuc-tet\n    title: Chương trình Tết\n    date: 2027-02-06\n    at: \"07:00\"\n    priority: urgent\n    items:\n      - chuc-tet.mp3\n"
	if string(out) != want {
		t.Fatalf("got\n%s\nwant\n%s", out, want)
	}
	if _, err := Parse("p.yaml", out); err != nil {
		t.Fatal(err)
	}
	out, err = RemoveProgram(out, "chuc-tet")
	if err != nil || strings.Contains(string(out), "chuc-tet") {
		t.Fatalf("remove: %v\n%s", err, out)
	}
	if _, err := RemoveProgram(out, "khong-co"); err == nil {
		t.Fatal("removing an unknown program")
	}
	if _, err := SetProgram([]byte("programs: 5\n"), ProgramSpec{ID: "x"}); err == nil {
		t.Fatal("programs that is not a list")
	}
	if _, err := SetProgram(nil, ProgramSpec{ID: "x", Days: []time.Weekday{1}, At: "25:00"}); err == nil || !strings.Contains(err.Error(), "HH:MM") {
		t.Fatalf("bad time: %v", err)
	}
}

func TestDayField(t *testing.T) {
	for want, days := range map[string][]time.Weekday{"*": {0, 1, 2, 3, 4, 5, 6}, "1-5": {5, 4, 3, 2, 1}, "0,6": {6, 0}, "1,3,5": {1, 3, 5}, "2": {2}} {
		if got := dayField(days); got != want {
			t.Errorf("dayField(%v) = %q, want %q", days, got, want)
		}
	}
}
