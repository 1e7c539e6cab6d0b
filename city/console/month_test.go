package console

import (
	"strings"
	"testing"
)

// The month shows one-off programs on their day and Tết, each week
// linking to its week view.
func TestScheduleMonth(t *testing.T) {
	tc, progs := startScheduleConsole(t)
	progs.files["ward:phuong-ben-nghe"] = []byte("programs:\n  - id: chuc-tet\n    title: Chương trình Tết\n    date: 2027-02-06\n    at: \"07:00\"\n    items: [ban-tin-sang.mp3]\n" +
		"  - id: sang\n    title: Bản tin sáng\n    cron: \"30 5 * * *\"\n    items: [ban-tin-sang.mp3]\n")
	b := browser(t)
	login(t, tc, b, "lan", "mật-khẩu-dài-1")
	_, _, page := do(t, b, "GET", tc.srv.URL+"/schedule/phuong-ben-nghe/month?month=2027-02-01", nil, nil)
	for _, want := range []string{"Lịch tháng 02/2027", `<span class="once" title="Chương trình một lần">07:00 Chương trình Tết</span>`,
		`<span class="holiday" title="Ngày lễ">Mùng 1 Tết</span>`, `<span class="holiday" title="Ngày lễ">Giao thừa</span>`,
		`href="/schedule/phuong-ben-nghe?week=2027-02-01"`} {
		if !strings.Contains(page, want) {
			t.Errorf("missing %q", want)
		}
	}
	if strings.Contains(page, "Bản tin sáng") {
		t.Error("a weekly program in the month's one-off list")
	}
	if t.Failed() {
		t.Log(page)
	}
}
