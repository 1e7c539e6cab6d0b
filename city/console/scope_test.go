package console

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"loa/city/accounts"
	"loa/city/api"
)

func (f *fakeAccounts) scopeOf(user string) accounts.Scope {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.scopes[user]
}

// SetScope keeps what the page sent (accounts.SetScope's own tests cover
// its rules on the real database).
func (f *fakeAccounts) SetScope(_ context.Context, name string, wards, groups []string, by string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.scopes == nil {
		f.scopes = map[string]accounts.Scope{}
	}
	f.scopes[name] = accounts.Scope{Wards: wards, Groups: groups}
	f.record(by, "user.scope", name)
	return nil
}

// TestScopedOperatorPages: the admin scopes lan to group quan-1 with the
// users page's boxes; lan then sees only quan-1's wards, and every page
// and change of quan-3's ward, or of the whole city's file, is refused
// with the scope page and nothing saved.
func TestScopedOperatorPages(t *testing.T) {
	tc, progs := startScheduleConsole(t)
	progs.wards = []api.Ward{{ID: "ben-nghe", DisplayName: "Phường Bến Nghé", Groups: []string{"quan-1"}}, {ID: "vo-thi-sau", Groups: []string{"quan-3"}}}
	prog := "programs:\n  - id: a\n    title: A\n    cron: \"0 7 * * *\"\n    items: [ban-tin-sang.mp3]\n"
	progs.files["ward:vo-thi-sau"] = []byte(prog)

	admin := browser(t)
	login(t, tc, admin, "admin", "mật-khẩu-dài-3")
	_, _, page := do(t, admin, "GET", tc.srv.URL+"/users", nil, nil)
	for _, want := range []string{`name="group" value="quan-1"`, `name="ward" value="ben-nghe"`, `Phường Bến Nghé</label>`, "Phạm vi: Cả thành phố"} {
		if !strings.Contains(page, want) {
			t.Fatalf("users page lacks %q:\n%s", want, page)
		}
	}
	code, _, page := do(t, admin, "POST", tc.srv.URL+"/users", url.Values{"csrf": {csrfOf(t, page)}, "action": {"scope"}, "name": {"lan"}, "group": {"quan-1"}}, nil)
	if code != http.StatusOK || !strings.Contains(page, "Đã lưu phạm vi của lan") || !strings.Contains(page, "Phạm vi: Nhóm: quan-1") ||
		!strings.Contains(page, `name="group" value="quan-1" checked`) {
		t.Fatalf("scope saved: %d\n%s", code, page)
	}

	b := browser(t)
	login(t, tc, b, "lan", "mật-khẩu-dài-1")
	if code, hdr, _ := do(t, b, "GET", tc.srv.URL+"/schedule", nil, nil); code != http.StatusSeeOther || hdr.Get("Location") != "/schedule/ben-nghe" {
		t.Fatalf("/schedule: %d %v", code, hdr)
	}
	_, _, week := do(t, b, "GET", tc.srv.URL+"/schedule/ben-nghe", nil, nil)
	if strings.Contains(week, "vo-thi-sau") || !strings.Contains(week, "Thêm chương trình") {
		t.Fatalf("lan's week lists another group's ward, or cannot add:\n%s", week)
	}
	if strings.Contains(week, `import?target=all`) {
		t.Errorf("lan may import the whole city's file:\n%s", week)
	}
	_, _, home := do(t, b, "GET", tc.srv.URL+"/", nil, nil)
	if strings.Contains(home, "vo-thi-sau") {
		t.Errorf("home lists another group's ward")
	}
	tok := csrfOf(t, week)
	form := url.Values{"csrf": {tok}, "title": {"Cướp sóng"}, "target": {"ward:vo-thi-sau"}, "kind": {"weekly"},
		"day": {"1"}, "at": {"09:30"}, "items": {"ban-tin-sang.mp3\n"}, "priority": {"normal"}}
	all := url.Values{"csrf": {tok}, "title": {"Cả thành phố"}, "target": {"all"}, "kind": {"weekly"},
		"day": {"1"}, "at": {"09:30"}, "items": {"ban-tin-sang.mp3\n"}, "priority": {"normal"}}
	for _, c := range []struct {
		method, path string
		form         url.Values
	}{
		{"GET", "/schedule/vo-thi-sau", nil},
		{"GET", "/schedule/vo-thi-sau/program", nil},
		{"GET", "/schedule/ben-nghe/program?target=all", nil},
		{"GET", "/schedule/export?target=ward:vo-thi-sau", nil},
		{"POST", "/schedule/vo-thi-sau/program", form},
		{"POST", "/schedule/ben-nghe/program", all},
		{"POST", "/schedule/vo-thi-sau/program/delete", url.Values{"csrf": {tok}, "target": {"ward:vo-thi-sau"}, "id": {"a"}}},
		{"POST", "/schedule/ben-nghe/import?target=all&csrf=" + tok, url.Values{"csrf": {tok}}},
	} {
		code, _, body := do(t, b, c.method, tc.srv.URL+c.path, c.form, map[string]string{"Origin": tc.srv.URL})
		if code != http.StatusForbidden || !strings.Contains(body, "ngoài phạm vi được giao") {
			t.Errorf("lan %s %s: %d, want 403 with the scope page\n%s", c.method, c.path, code, body)
		}
	}
	if got := string(progs.files["ward:vo-thi-sau"]); got != prog || progs.files["all"] != nil {
		t.Fatalf("refused changes saved: %q %q", got, progs.files["all"])
	}
}
