package priority

import "testing"

// The ladder of DESIGN.md §3, and the one mapping of an alert's word to it:
// an alert with no priority plays at the top, never below an alert that
// names one.
func TestParseAlert(t *testing.T) {
	cases := []struct {
		word    string
		want    Level
		wantErr bool
	}{
		{"emergency", Emergency, false},
		{"urgent", Urgent, false},
		{"", Emergency, false},
		{"Emergency", Emergency, true},
		{"normal", Emergency, true},
		{"live", Emergency, true},
		{"100", Emergency, true},
	}
	for _, c := range cases {
		got, err := ParseAlert(c.word)
		if got != c.want || (err != nil) != c.wantErr {
			t.Errorf("ParseAlert(%q) = %v, %v; want %v, error %v", c.word, got, err, c.want, c.wantErr)
		}
		if got < Urgent {
			t.Errorf("ParseAlert(%q) = %v: an alert below the alert rungs", c.word, got)
		}
	}
}

func TestLadder(t *testing.T) {
	cases := []struct {
		l     Level
		value int
		name  string
	}{
		{Idle, 0, "idle"},
		{Program, 50, "program"},
		{Test, 55, "test"},
		{Live, 60, "live"},
		{Urgent, 80, "urgent"},
		{Emergency, 100, "emergency"},
		{Level(70), 70, "Level(70)"},
	}
	for i, c := range cases {
		if int(c.l) != c.value || c.l.String() != c.name {
			t.Errorf("level %d: %d %q, want %d %q", i, int(c.l), c.l.String(), c.value, c.name)
		}
		if i > 0 && i < 6 && !(cases[i-1].l < c.l) {
			t.Errorf("%v is not above %v", c.l, cases[i-1].l)
		}
	}
	if AlertDefault != Emergency {
		t.Errorf("AlertDefault = %v, want emergency (DESIGN.md §3)", AlertDefault)
	}
}
