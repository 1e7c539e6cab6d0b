package console

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestAdminAddsUserWhoMustChangePassword(t *testing.T) {
	tc := startConsole(t)
	admin := browser(t)
	login(t, tc, admin, "admin", "mật-khẩu-dài-3")
	_, _, page := do(t, admin, "GET", tc.srv.URL+"/users", nil, nil)
	if !strings.Contains(page, ">Tài khoản</a>") || !strings.Contains(page, "<strong>lan</strong> <span class=\"hint\">Biên tập viên") {
		t.Fatalf("users page:\n%s", page)
	}
	tok := csrfOf(t, page)
	code, _, page := do(t, admin, "POST", tc.srv.URL+"/users", url.Values{"csrf": {tok}, "action": {"add"}, "name": {"moi"}, "role": {"operator"}}, nil)
	if code != 200 || !strings.Contains(page, "<code>abcd-efgh-jkmn-pqrs</code>") || !strings.Contains(page, "Chỉ hiện một lần.") {
		t.Fatalf("add user: %d\n%s", code, page)
	}
	// The new user logs in with it and is sent to change it first.
	b := browser(t)
	login(t, tc, b, "moi", "abcd-efgh-jkmn-pqrs")
	if code, hdr, _ := do(t, b, "GET", tc.srv.URL+"/library", nil, nil); code != http.StatusSeeOther || hdr.Get("Location") != "/password" {
		t.Fatalf("one-time password not forced to change: %d %v", code, hdr)
	}
	_, _, pw := do(t, b, "GET", tc.srv.URL+"/password", nil, nil)
	ptok := csrfOf(t, pw)
	if code, _, page := do(t, b, "POST", tc.srv.URL+"/password", url.Values{"csrf": {ptok}, "old": {"abcd-efgh-jkmn-pqrs"}, "new": {"câu dễ nhớ của tôi"}, "again": {"câu khác"}}, nil); code != 400 || !strings.Contains(page, "không khớp") {
		t.Fatalf("mismatch: %d", code)
	}
	if code, _, page := do(t, b, "POST", tc.srv.URL+"/password", url.Values{"csrf": {ptok}, "old": {"sai"}, "new": {"câu dễ nhớ của tôi"}, "again": {"câu dễ nhớ của tôi"}}, nil); code != 400 || !strings.Contains(page, "Mật khẩu hiện tại không đúng.") {
		t.Fatalf("wrong old: %d", code)
	}
	if code, _, page := do(t, b, "POST", tc.srv.URL+"/password", url.Values{"csrf": {ptok}, "old": {"abcd-efgh-jkmn-pqrs"}, "new": {"câu dễ nhớ của tôi"}, "again": {"câu dễ nhớ của tôi"}}, nil); code != 200 || !strings.Contains(page, "Đã đổi mật khẩu.") {
		t.Fatalf("change: %d\n%s", code, page)
	}
	if code, _, _ := do(t, b, "GET", tc.srv.URL+"/library", nil, nil); code != 200 {
		t.Fatalf("after the change: %d", code)
	}
	// Disable: cannot disable oneself; disabling another is in the audit log.
	if code, _, page := do(t, admin, "POST", tc.srv.URL+"/users", url.Values{"csrf": {tok}, "action": {"disable"}, "name": {"admin"}}, nil); code != 400 || !strings.Contains(page, "Không thể tự khoá") {
		t.Fatalf("self-disable: %d", code)
	}
	if code, _, page := do(t, admin, "POST", tc.srv.URL+"/users", url.Values{"csrf": {tok}, "action": {"disable"}, "name": {"moi"}}, nil); code != 200 || !strings.Contains(page, "đã khoá") {
		t.Fatalf("disable: %d\n%s", code, page)
	}
	_, _, audit := do(t, admin, "GET", tc.srv.URL+"/audit?action=user.dis", nil, nil)
	if !strings.Contains(audit, "<strong>admin</strong> <code>user.disable</code> moi") || strings.Contains(audit, "user.add") {
		t.Fatalf("audit:\n%s", audit)
	}
}

func TestAccountPagesAreAdminOnly(t *testing.T) {
	tc := startConsole(t)
	b := browser(t)
	login(t, tc, b, "lan", "mật-khẩu-dài-1")
	_, _, home := do(t, b, "GET", tc.srv.URL+"/", nil, nil)
	if strings.Contains(home, `href="/users"`) || strings.Contains(home, `href="/audit"`) {
		t.Fatal("an operator is shown the admin's pages")
	}
	for _, p := range []string{"/users", "/audit"} {
		if code, _, _ := do(t, b, "GET", tc.srv.URL+p, nil, nil); code != http.StatusForbidden {
			t.Errorf("GET %s as operator: %d", p, code)
		}
	}
	if code, _, _ := do(t, b, "POST", tc.srv.URL+"/users", url.Values{"csrf": {csrfOf(t, home)}, "action": {"add"}, "name": {"x"}, "role": {"admin"}}, nil); code != http.StatusForbidden {
		t.Fatalf("operator adds an admin: %d", code)
	}
	if _, ok := tc.accounts.users["x"]; ok {
		t.Fatal("the user was added")
	}
}
