package natsbus

import (
	"slices"
	"testing"
)

func TestCommandSubjects(t *testing.T) {
	if got := CommandSubjects(true, []string{"a"}); !slices.Equal(got, []string{"loa.cmd.all"}) {
		t.Errorf("all: %v", got)
	}
	if got := CommandSubjects(false, []string{"a", "b"}); !slices.Equal(got, []string{"loa.cmd.ward.a", "loa.cmd.ward.b"}) {
		t.Errorf("wards: %v", got)
	}
	for subj, want := range map[string]string{"loa.cmdack.phuong-1": "phuong-1", "loa.cmdack.a.b": "", "loa.report.x": "", "loa.cmdack.": "", "loa.cmdack.*": ""} {
		got, ok := CommandAckWard(subj)
		if ok != (want != "") || got != want && ok {
			t.Errorf("%s: %q %v, want %q", subj, got, ok, want)
		}
	}
	for _, store := range []int64{0, 1 << 30, 4 << 20, 64 << 10} {
		share := StreamShare(max(store, 0))
		if store == 0 {
			share = StreamShare(1 << 30)
		}
		total := store
		if total == 0 {
			total = 1 << 30
		}
		// The quarter the alert streams leave holds both command streams.
		if c := CommandStreamShare(store); 2*c > total-3*share && total >= 1<<20 {
			t.Errorf("store %d: command streams %d each do not fit in the margin %d", store, c, total-3*share)
		}
	}
}
