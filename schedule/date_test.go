package schedule

import (
	"testing"
	"time"
)

func TestParseDate(t *testing.T) {
	for _, c := range []struct{ in, want, err string }{
		{"2026-12-01", "2026-12-01", ""},
		{"2028-02-29", "2028-02-29", ""},
		{"2000-02-29", "2000-02-29", ""},
		{"2027-02-29", "", `date "2027-02-29" is not a date`},
		{"2100-02-29", "", `date "2100-02-29" is not a date`},
		{"2027-04-31", "", `date "2027-04-31" is not a date`},
		{"2027-13-01", "", `date "2027-13-01" is not a date`},
		{"2027-00-10", "", `date "2027-00-10" is not a date`},
		{"2027-1-1", "", `date "2027-1-1" is not a date (want YYYY-MM-DD)`},
		{"01/12/2026", "", `date "01/12/2026" is not a date (want YYYY-MM-DD)`},
		{"2026-12-01T00:00", "", `date "2026-12-01T00:00" is not a date (want YYYY-MM-DD)`},
		{"", "", `date "" is not a date (want YYYY-MM-DD)`},
	} {
		d, err := ParseDate(c.in)
		switch {
		case c.err != "" && (err == nil || err.Error() != c.err):
			t.Errorf("ParseDate(%q) error %v, want %q", c.in, err, c.err)
		case c.err == "" && (err != nil || d.String() != c.want):
			t.Errorf("ParseDate(%q) = %v, %v", c.in, d, err)
		}
	}
}

// Day arithmetic agrees with the time package from 1600 to 2400.
func TestDateArithmetic(t *testing.T) {
	start := time.Date(1600, 1, 1, 12, 0, 0, 0, time.UTC)
	d0 := Date{1600, time.January, 1}
	n0 := d0.days()
	for i := 0; i < 800*366; i += 7 {
		want := start.AddDate(0, 0, i)
		d := d0.AddDays(i)
		if d != DateOf(want) || d.Weekday() != want.Weekday() || d.days() != n0+int64(i) {
			t.Fatalf("day %d: %v %v, want %v %v", i, d, d.Weekday(), DateOf(want), want.Weekday())
		}
		if nd := d.next(); nd != DateOf(want.AddDate(0, 0, 1)) {
			t.Fatalf("%v.next() = %v", d, nd)
		}
	}
	if d := (Date{1970, time.January, 1}); d.days() != 0 || d.Weekday() != time.Thursday {
		t.Errorf("epoch: %d %v", d.days(), d.Weekday())
	}
}
