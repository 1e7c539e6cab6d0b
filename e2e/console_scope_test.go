package e2e

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestConsoleScopedOperator: the admin sets a user's scope with the boxes
// of the users page; an operator scoped to group quan-1 logs in, sees
// only quan-1's wards on the schedule page, and gets the refusal page
// when she opens quan-3's ward by its address.
func TestConsoleScopedOperator(t *testing.T) {
	t.Parallel()
	ctx := consoleBrowser(t)
	c := startScopedCity(t)
	adminPW, _ := c.addUser(t, "quan-tri", "admin")
	c.addUser(t, "mai", "technician")

	consoleLogin(t, ctx, c.url, "quan-tri", adminPW)
	changeOneTimePassword(t, ctx, adminPW, "quản trị thành phố 2026")
	browse(t, ctx, "users page", chromedp.Navigate(c.url+"/users"), chromedp.WaitVisible(chromedp.CSS("details.scope")))
	if s := pageText(t, ctx, "body"); !strings.Contains(s, "Phạm vi: Nhóm: quan-1") || !strings.Contains(s, "Phạm vi: Cả thành phố") {
		t.Fatalf("users page shows no scopes:\n%s", s)
	}
	// mai's editor: tick phuong-9's box and save.
	const maiRow = `[...document.querySelectorAll('ul.programs > li')].find(li => li.querySelector('strong').textContent === 'mai')`
	if !eval[bool](t, ctx, `(() => { const d = `+maiRow+`.querySelector('details.scope'); d.open = true; return d.open })()`) {
		t.Fatal("no scope editor for mai")
	}
	screenshots(t, ctx, "users-scope")
	eval[bool](t, ctx, `(() => { const li = `+maiRow+`; li.querySelector('input[name=ward][value="phuong-9"]').click();
		li.querySelector('button[value=scope]').click(); return true })()`)
	browse(t, ctx, "scope saved", chromedp.WaitVisible(chromedp.CSS("p.ok")))
	if s := pageText(t, ctx, "body"); !strings.Contains(s, "Đã lưu phạm vi của mai") || !strings.Contains(s, "Phạm vi: Phường/xã: phuong-9") {
		t.Fatalf("after saving mai's scope:\n%s", s)
	}
	if out := run(t, nil, "loa-city", append([]string{"user", "list", "--json"}, c.cfg...)...); !strings.Contains(out, `"phuong-9"`) {
		t.Fatalf("mai's scope not stored: %s", out)
	}
	browse(t, ctx, "log out", chromedp.Navigate(c.url+"/"), chromedp.WaitVisible(chromedp.CSS("form[action='/logout'] button")),
		chromedp.Click(chromedp.CSS("form[action='/logout'] button")), chromedp.WaitVisible(chromedp.CSS("#password")))

	// lan, scoped to quan-1 by `loa-city user add --groups quan-1`.
	consoleLogin(t, ctx, c.url, "lan", c.lanPassword)
	changeOneTimePassword(t, ctx, c.lanPassword, "loa phường một 2026")
	browse(t, ctx, "schedule", chromedp.Navigate(c.url+"/schedule"), chromedp.WaitVisible(chromedp.CSS("#ward")))
	if loc := eval[string](t, ctx, `location.pathname`); loc != "/schedule/phuong-1" {
		t.Errorf("schedule opened %s", loc)
	}
	if opts := eval[string](t, ctx, `[...document.querySelectorAll('#ward option')].map(o => o.value).join(',')`); opts != "phuong-1,phuong-2" {
		t.Errorf("lan's wards on the schedule page: %q, want quan-1's only", opts)
	}
	if s := pageText(t, ctx, "main"); strings.Contains(s, "phuong-9") {
		t.Errorf("the schedule page names quan-3's ward:\n%s", s)
	}
	screenshots(t, ctx, "schedule-scoped")
	browse(t, ctx, "another group's ward", chromedp.Navigate(c.url+"/schedule/phuong-9"), chromedp.WaitVisible(chromedp.CSS("p.error")))
	if s := pageText(t, ctx, "p.error"); !strings.Contains(s, "ngoài phạm vi được giao") {
		t.Errorf("refusal page says %q", s)
	}
	screenshots(t, ctx, "scope-refused")
	browse(t, ctx, "another group's program form", chromedp.Navigate(c.url+"/schedule/phuong-9/program"), chromedp.WaitVisible(chromedp.CSS("p.error")))
	if s := pageText(t, ctx, "p.error"); !strings.Contains(s, "ngoài phạm vi được giao") {
		t.Errorf("program form of phuong-9 says %q", s)
	}
}
