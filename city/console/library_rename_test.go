package console

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
)

// Rename refuses a name "dang-dung.mp3" as the city refuses one a program
// file refers to, and a name another item has.
func (f *fakeLibrary) Rename(_ context.Context, sha, from, to string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if from == "dang-dung.mp3" {
		return errors.New(`tên "dang-dung.mp3" đang được tệp chương trình dùng, chưa đổi: p1.yaml (ward:phuong-ben-nghe); sửa các tệp đó trước / the name "dang-dung.mp3" is used by program files, not renamed: p1.yaml (ward:phuong-ben-nghe); change those files first`)
	}
	for _, m := range f.items {
		for _, n := range m.Names {
			if n == to {
				return errors.New("name: tên đã có mục khác dùng / name: another item's name")
			}
		}
	}
	for i, m := range f.items {
		if m.SHA256 != sha {
			continue
		}
		for j, n := range m.Names {
			if n == from {
				f.items[i].Names[j] = to
				return nil
			}
		}
	}
	return errors.New("from: no such name")
}

// Each of an item's names has a labelled field; a free name is renamed, a
// name a program file refers to is refused with the files named, nothing
// changed; without the CSRF token nothing changes.
func TestLibraryRename(t *testing.T) {
	tc := startConsole(t)
	b := browser(t)
	login(t, tc, b, "lan", "mật-khẩu-dài-1")
	ctx := context.Background()
	tc.library.Add(ctx, strings.NewReader("ID3 a"), "dang-dung.mp3", "Đang dùng", "lan")
	tc.library.Add(ctx, strings.NewReader("ID3 b"), "cu.mp3", "Bản tin cũ", "lan")
	inUse, old := tc.library.items[1].SHA256, tc.library.items[0].SHA256
	_, _, page := do(t, b, "GET", tc.srv.URL+"/library", nil, nil)
	for _, want := range []string{`<label for="n-` + old + `-0">Tên tệp (chương trình gọi mục bằng tên này)</label>`,
		`<input id="n-` + old + `-0" name="name" value="cu.mp3"`, `<input type="hidden" name="from" value="cu.mp3">`,
		`value="rename" class="secondary">Đổi tên</button>`} {
		if !strings.Contains(page, want) {
			t.Fatalf("missing %q in\n%s", want, page)
		}
	}
	tok := csrfOf(t, page)
	code, _, page := do(t, b, "POST", tc.srv.URL+"/library/item/"+old, url.Values{"csrf": {tok}, "action": {"rename"}, "from": {"cu.mp3"}, "name": {"ban-tin-2025.mp3"}}, nil)
	if code != 200 || !strings.Contains(page, "Đã đổi tên.") || !strings.Contains(page, `<code>ban-tin-2025.mp3</code>`) {
		t.Fatalf("rename: %d\n%s", code, page)
	}
	code, _, page = do(t, b, "POST", tc.srv.URL+"/library/item/"+inUse, url.Values{"csrf": {tok}, "action": {"rename"}, "from": {"dang-dung.mp3"}, "name": {"x.mp3"}}, nil)
	if code != 400 || !strings.Contains(page, "đang được tệp chương trình dùng, chưa đổi: p1.yaml (ward:phuong-ben-nghe)") ||
		!strings.Contains(page, "used by program files, not renamed") || tc.library.items[1].Names[0] != "dang-dung.mp3" {
		t.Fatalf("rename of a used name: %d\n%s", code, page)
	}
	// Without the CSRF token nothing changes.
	code, _, _ = do(t, b, "POST", tc.srv.URL+"/library/item/"+old, url.Values{"action": {"rename"}, "from": {"ban-tin-2025.mp3"}, "name": {"y.mp3"}}, nil)
	if code != 403 || tc.library.items[0].Names[0] != "ban-tin-2025.mp3" {
		t.Fatalf("rename without the token: %d %v", code, tc.library.items[0].Names)
	}
}
