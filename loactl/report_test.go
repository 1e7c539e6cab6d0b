package loactl_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"loa/city/citytest"
	"loa/fleet"
)

// `loactl report` prints proof of play as CSV: a program the ward logged
// as played, the same program on another ward that sent nothing.
func TestReportCSV(t *testing.T) {
	c, env, dir := setup(t)
	c.Upload(t, citytest.Tone(t, dir, "a.wav", 1, 440), "a.wav")
	c.MustLoad(t, "group:quan-1", "programs:\n  - id: tin-sang\n    title: Tin sáng\n    cron: \"0 6 * * *\"\n    items: [a.wav]\n")
	c.AddWard(t, "phuong-3", "quan-1")
	at := time.Date(2026, 5, 1, 6, 0, 0, 0, c.Location()).UnixMilli()
	if _, err := c.StoreAsRun(context.Background(), []fleet.AsRunEntry{{Ward: "phuong-1", ID: 1, Program: "tin-sang", Kind: "program",
		Occurrence: at, Planned: at, Actual: at + 500, End: at + 1500, Result: "completed"}}); err != nil {
		t.Fatal(err)
	}
	r := run(t, env, false, "report", "--group", "quan-1", "--from", "2026-05-01", "--to", "2026-05-01")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "Phường / Ward,") ||
		!strings.Contains(r.stdout, "phuong-1,2026-05-01,tin-sang,Tin sáng,06:00:00,06:00:00,06:00:01,0.5,0.0,Đã phát / Played,\n") ||
		!strings.Contains(r.stdout, "phuong-3,2026-05-01,tin-sang,Tin sáng,06:00:00,,,,0.0,Bỏ lỡ / Missed,không có nhật ký phát sóng / no as-run row\n") ||
		strings.Contains(r.stdout, "phuong-2") {
		t.Errorf("report: %+v", r)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"report", "--ward", "phuong-1", "--group", "quan-1"}, "not both"},
		{[]string{"report", "--from", "1/5/2026"}, "từ ngày / from"},
		{[]string{"report", "--ward", "khong-co"}, "khong-co"},
	} {
		if r := run(t, env, false, tc.args...); r.code == 0 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%v: %+v", tc.args, r)
		}
	}
}
