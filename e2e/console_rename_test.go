package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// Renaming a library item's name in a real Chromium against a real
// loa-city: a name a loaded program file refers to is refused, the file
// named beside it in Vietnamese and English, nothing changed; a free name
// is renamed, and a program file can then use the new name.
func TestConsoleLibraryRename(t *testing.T) {
	t.Parallel()
	ctx := consoleBrowser(t)
	c := startConsoleCity(t)
	password, token := c.addUser(t, "lan", "operator")
	ctl := []string{"LOA_CITY=" + c.url, "LOA_TOKEN=" + token, "HOME=" + c.dir}
	used, free := filepath.Join(c.dir, "ban-tin.wav"), filepath.Join(c.dir, "nhac-hieu.wav")
	tone(t, used, 1000, 2)
	tone(t, free, 600, 2)
	run(t, ctl, "loactl", "media", "upload", used)
	run(t, ctl, "loactl", "media", "upload", free)
	prog := filepath.Join(c.dir, "phuong.yaml")
	os.WriteFile(prog, []byte("programs:\n  - id: ban-tin-sang\n    title: Bản tin sáng\n    cron: \"30 5 * * 1-6\"\n    items: [ban-tin.wav]\n"), 0o644)
	run(t, ctl, "loactl", "program", "load", prog, "--ward", "phuong-1")

	consoleLogin(t, ctx, c.url, "lan", password)
	changeOneTimePassword(t, ctx, password, "loa phường một 2026")

	rename := func(from, to string) string {
		t.Helper()
		form := `form.rename:has(input[name=from][value="` + from + `"])`
		browse(t, ctx, "library", chromedp.Navigate(c.url+"/library"), chromedp.WaitReady(chromedp.CSS("ul.media")))
		eval[bool](t, ctx, `document.querySelectorAll('details.edit').forEach(d => d.open = true), true`)
		browse(t, ctx, "rename "+from,
			chromedp.WaitVisible(chromedp.CSS(form+" input[name=name]")),
			chromedp.SetValue(chromedp.CSS(form+" input[name=name]"), to),
			chromedp.Click(chromedp.CSS(form+" button")),
			chromedp.WaitVisible(chromedp.CSS("section.results")))
		return pageText(t, ctx, "section.results")
	}
	names := func() []string {
		t.Helper()
		var list []struct {
			Names []string `json:"names"`
		}
		if err := json.Unmarshal(getBytesWithToken(t, c.url+"/api/v1/media", token), &list); err != nil {
			t.Fatal(err)
		}
		var all []string
		for _, m := range list {
			all = append(all, m.Names...)
		}
		slices.Sort(all)
		return all
	}

	// The name the program file uses: refused, the file named.
	if s := rename("ban-tin.wav", "ban-tin-sang.wav"); !strings.Contains(s, "đang được tệp chương trình dùng, chưa đổi") ||
		!strings.Contains(s, "phuong.yaml (ward:phuong-1)") || !strings.Contains(s, "used by program files, not renamed") {
		t.Fatalf("rename of a used name: %q", s)
	}
	if got := names(); !slices.Equal(got, []string{"ban-tin.wav", "loa-alert-chime.wav", "nhac-hieu.wav"}) {
		t.Fatalf("names after the refusal: %v", got)
	}
	screenshots(t, ctx, "library-rename-refused")
	// A free name is renamed; a program file can then use it.
	if s := rename("nhac-hieu.wav", "nhac-hieu-2026.wav"); !strings.Contains(s, "Đã đổi tên.") {
		t.Fatalf("rename: %q", s)
	}
	if got := names(); !slices.Equal(got, []string{"ban-tin.wav", "loa-alert-chime.wav", "nhac-hieu-2026.wav"}) {
		t.Fatalf("names after the rename: %v", got)
	}
	os.WriteFile(prog, []byte("programs:\n  - id: ban-tin-sang\n    title: Bản tin sáng\n    cron: \"30 5 * * 1-6\"\n    items: [nhac-hieu-2026.wav, ban-tin.wav]\n"), 0o644)
	run(t, ctl, "loactl", "program", "load", prog, "--ward", "phuong-1")
	// The edit forms open: a labelled field per name.
	eval[bool](t, ctx, `document.querySelectorAll('details.edit').forEach(d => d.open = true), true`)
	if n := eval[int](t, ctx, `[...document.querySelectorAll('form.rename input[name=name]')].filter(i => i.labels.length === 1).length`); n != 3 {
		t.Fatalf("%d labelled name fields, want 3", n)
	}
	screenshots(t, ctx, "library-renamed")
}
