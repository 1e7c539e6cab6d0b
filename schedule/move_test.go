package schedule

import (
	"errors"
	"slices"
	"testing"
	"time"
)

func TestMoveSpec(t *testing.T) {
	mon, _ := ParseDate("2026-12-07")
	wed, _ := ParseDate("2026-12-09")
	weekly := ProgramSpec{ID: "p", Days: []time.Weekday{time.Monday, time.Tuesday}, At: "05:30"}
	got, err := MoveSpec(weekly, mon, wed, "06:15")
	if err != nil || got.At != "06:15" || !slices.Equal(got.Days, []time.Weekday{time.Tuesday, time.Wednesday}) {
		t.Fatalf("weekly moved = %+v, %v", got, err)
	}
	if !slices.Equal(weekly.Days, []time.Weekday{time.Monday, time.Tuesday}) {
		t.Fatalf("the spec moved was changed: %v", weekly.Days)
	}
	// Same day: only the time.
	if got, _ = MoveSpec(weekly, mon, mon, "07:00"); got.At != "07:00" || len(got.Days) != 2 {
		t.Fatalf("same day = %+v", got)
	}
	once := ProgramSpec{ID: "o", Date: "2026-12-07", At: "05:30"}
	if got, err = MoveSpec(once, mon, wed, "08:00"); err != nil || got.Date != "2026-12-09" || got.At != "08:00" {
		t.Fatalf("one-off moved = %+v, %v", got, err)
	}
	if _, err = MoveSpec(ProgramSpec{Cron: "*/5 * * * *"}, mon, wed, "08:00"); !errors.Is(err, ErrMoveCron) {
		t.Fatalf("cron: %v", err)
	}
	if _, err = MoveSpec(weekly, mon, wed, "25:00"); err == nil {
		t.Fatal("25:00 accepted")
	}
}
