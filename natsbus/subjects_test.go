package natsbus

import (
	"fmt"
	"testing"
)

func TestAlertSubjects(t *testing.T) {
	cases := []struct {
		all                       bool
		wards, groups, recipients []string
		want                      string
	}{
		{true, nil, nil, nil, "[loa.alert.all]"},
		{false, nil, []string{"q1"}, []string{"a", "b"}, "[loa.alert.group.q1]"},
		{false, []string{"a"}, nil, []string{"a"}, "[loa.alert.ward.a]"},
		{false, []string{"c"}, []string{"q1", "q2"}, []string{"a", "b", "c"}, "[loa.alert.ward.a loa.alert.ward.b loa.alert.ward.c]"},
	}
	for _, c := range cases {
		if got := fmt.Sprint(AlertSubjects(c.all, c.wards, c.groups, c.recipients)); got != c.want {
			t.Errorf("got %s, want %s", got, c.want)
		}
	}
	if w, ok := ReportWard("loa.report.p1"); !ok || w != "p1" {
		t.Fatal(w)
	}
	if _, ok := ReportWard("loa.report."); ok {
		t.Fatal("empty ward")
	}
}
