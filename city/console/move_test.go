package console

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// Moving a block: a weekly program leaves the day it was dragged from for
// the day it lands on, at the new time; a move onto another program is
// refused with the Vietnamese error beside the time and nothing saved.
func TestScheduleMoveBlock(t *testing.T) {
	tc, progs := startScheduleConsole(t)
	progs.files["ward:phuong-ben-nghe"] = []byte("programs:\n  - id: sang\n    title: Bản tin sáng\n    cron: \"30 5 * * 1-2\"\n    items: [ban-tin-sang.mp3]\n" +
		"  - id: chieu\n    title: Thông báo\n    cron: \"0 17 * * 3\"\n    items: [thong-bao.mp3]\n")
	b := browser(t)
	login(t, tc, b, "lan", "mật-khẩu-dài-1")
	_, _, week := do(t, b, "GET", tc.srv.URL+"/schedule/phuong-ben-nghe?week=2026-12-07", nil, nil)
	if !strings.Contains(week, `data-id="sang" data-target="ward:phuong-ben-nghe" data-date="2026-12-07"`) || !strings.Contains(week, "/static/move.js") {
		t.Fatalf("blocks are not movable:\n%s", week)
	}
	tok := csrfOf(t, week)
	move := func(from, to, at string) (int, http.Header, string) {
		return do(t, b, "POST", tc.srv.URL+"/schedule/phuong-ben-nghe/program/move", url.Values{"csrf": {tok}, "target": {"ward:phuong-ben-nghe"},
			"id": {"sang"}, "from": {from}, "to": {to}, "at": {at}}, nil)
	}
	// Monday 05:30 → Wednesday 17:00: on Thông báo.
	before := string(progs.files["ward:phuong-ben-nghe"])
	code, _, body := move("2026-12-07", "2026-12-09", "17:00")
	if code != http.StatusBadRequest || !strings.Contains(body, `<p id="at-err" class="error field">Trùng giờ với chương trình khác; không lưu gì.`) ||
		!strings.Contains(body, `value="17:00"`) {
		t.Fatalf("overlapping move: %d\n%s", code, body)
	}
	if string(progs.files["ward:phuong-ben-nghe"]) != before {
		t.Fatal("a refused move changed the file")
	}
	// Monday 05:30 → Wednesday 06:10.
	code, hdr, body := move("2026-12-07", "2026-12-09", "06:10")
	if code != http.StatusSeeOther || hdr.Get("Location") != "/schedule/phuong-ben-nghe?week=2026-12-07&saved=sang" {
		t.Fatalf("move: %d %v\n%s", code, hdr, body)
	}
	if got := string(progs.files["ward:phuong-ben-nghe"]); !strings.Contains(got, `cron: "10 6 * * 2,3"`) {
		t.Fatalf("moved file:\n%s", got)
	}
	// A technician may not move.
	tech := browser(t)
	login(t, tc, tech, "ky-thuat", "mật-khẩu-dài-2")
	_, _, techWeek := do(t, tech, "GET", tc.srv.URL+"/schedule/phuong-ben-nghe?week=2026-12-07", nil, nil)
	if strings.Contains(techWeek, "data-id=") {
		t.Fatal("a technician's week has movable blocks")
	}
	if code, _, _ := do(t, tech, "POST", tc.srv.URL+"/schedule/phuong-ben-nghe/program/move", url.Values{"csrf": {csrfOf(t, techWeek)}}, nil); code != http.StatusForbidden {
		t.Fatalf("technician move: %d", code)
	}
}
