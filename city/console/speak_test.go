package console

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"

	"loa/vitext"
)

// fakeSpeaker stands in for espeak-ng (the city's own tests run the real
// one): it returns a WAV-looking byte string naming what it was asked.
type fakeSpeaker struct {
	mu   sync.Mutex
	last string
}

func (f *fakeSpeaker) Normalize(text, voice string) (string, []vitext.Expansion) {
	d := vitext.North
	if voice == "vi-vn-x-south" {
		d = vitext.South
	}
	return vitext.Normalize(text, vitext.Options{Dialect: d})
}

func (f *fakeSpeaker) Speak(_ context.Context, text, voice string, speed int) ([]byte, error) {
	f.mu.Lock()
	f.last = fmt.Sprintf("%s|%s|%d", text, voice, speed)
	f.mu.Unlock()
	return []byte("ID3" + f.last), nil
}

func TestSpeakPreviewShowsExpansionsThenSaves(t *testing.T) {
	tc := startConsole(t)
	b := browser(t)
	login(t, tc, b, "lan", "mật-khẩu-dài-1")
	_, _, page := do(t, b, "GET", tc.srv.URL+"/library/speak", nil, nil)
	if !strings.Contains(page, `<label for="voice">Giọng đọc</label>`) || !strings.Contains(page, `aria-current="page">Đọc văn bản`) {
		t.Fatalf("speak page:\n%s", page)
	}
	tok := csrfOf(t, page)
	text := "UBND P. Bến Nghé họp lúc 5h30 ngày 14/9"
	code, _, page := do(t, b, "POST", tc.srv.URL+"/library/speak", url.Values{"csrf": {tok}, "text": {text}, "voice": {"vi-vn-x-south"}, "speed": {"130"}, "action": {"preview"}}, nil)
	spoken := "Ủy ban nhân dân phường Bến Nghé họp lúc năm giờ ba mươi ngày mười bốn tháng chín"
	if code != 200 || !strings.Contains(page, "<p>"+spoken+"</p>") || !strings.Contains(page, "<code>14/9</code> → mười bốn tháng chín") {
		t.Fatalf("preview: %d\n%s", code, page)
	}
	if tc.speaker.last != spoken+"|vi-vn-x-south|130" {
		t.Fatalf("espeak-ng was asked %q", tc.speaker.last)
	}
	// The preview plays from the page; the text stays in the form.
	_, rest, _ := strings.Cut(page, `src="/library/speak/`)
	id, _, _ := strings.Cut(rest, `"`)
	if code, _, wav := do(t, b, "GET", tc.srv.URL+"/library/speak/"+id, nil, nil); code != 200 || !strings.HasPrefix(wav, "ID3"+spoken) {
		t.Fatalf("preview audio: %d %q", code, wav)
	}
	if !strings.Contains(page, ">"+text+"</textarea>") {
		t.Fatal("the text was lost from the form")
	}
	// Save without a title: refused, nothing added; with one: in the library.
	code, _, page = do(t, b, "POST", tc.srv.URL+"/library/speak", url.Values{"csrf": {tok}, "text": {text}, "voice": {"vi"}, "speed": {"150"}, "action": {"save"}}, nil)
	if code != 400 || !strings.Contains(page, "Cần tiêu đề") || len(tc.library.items) != 0 {
		t.Fatalf("save without a title: %d", code)
	}
	code, _, page = do(t, b, "POST", tc.srv.URL+"/library/speak", url.Values{"csrf": {tok}, "text": {text}, "voice": {"vi"}, "speed": {"150"}, "action": {"save"}, "title": {"Thông báo họp 14/9"}}, nil)
	if code != 200 || len(tc.library.items) != 1 || tc.library.items[0].Names[0] != "thong-bao-hop-14-9.wav" || !strings.Contains(page, "thong-bao-hop-14-9.wav: đã thêm — Thông báo họp 14/9") {
		t.Fatalf("save: %d %+v\n%s", code, tc.library.items, page)
	}
}

func TestSpeakRefusesBadInput(t *testing.T) {
	tc := startConsole(t)
	b := browser(t)
	login(t, tc, b, "ky-thuat", "mật-khẩu-dài-2")
	_, _, page := do(t, b, "GET", tc.srv.URL+"/library/speak", nil, nil)
	tok := csrfOf(t, page)
	for _, c := range []struct {
		form url.Values
		want string
	}{
		{url.Values{"text": {"  "}}, "Chưa có văn bản."},
		{url.Values{"text": {"a"}, "voice": {"en"}}, "Giọng đọc không hợp lệ."},
		{url.Values{"text": {"a"}, "speed": {"400"}}, "Tốc độ không hợp lệ."},
		{url.Values{"text": {strings.Repeat("á", maxSpeakText+1)}}, "Văn bản quá dài"},
	} {
		c.form.Set("csrf", tok)
		c.form.Set("action", "preview")
		if code, _, page := do(t, b, "POST", tc.srv.URL+"/library/speak", c.form, nil); code != 400 || !strings.Contains(page, c.want) {
			t.Errorf("%v: %d, want %q", c.form, code, c.want)
		}
	}
	if tc.speaker.last != "" {
		t.Fatal("espeak-ng ran on bad input")
	}
	// A technician may preview but not save.
	if code, _, _ := do(t, b, "POST", tc.srv.URL+"/library/speak", url.Values{"csrf": {tok}, "text": {"a"}, "title": {"x"}, "action": {"save"}}, nil); code != 403 || len(tc.library.items) != 0 {
		t.Fatalf("technician save: %d", code)
	}
	if code, _, _ := do(t, b, "GET", tc.srv.URL+"/library/speak/nothing.wav", nil, nil); code != 404 {
		t.Fatalf("unknown preview: %d", code)
	}
}

func TestSlug(t *testing.T) {
	for in, want := range map[string]string{"Bản tin sáng 14/9": "ban-tin-sang-14-9", "  Đường Lê Lợi!! ": "duong-le-loi", "…": "doc-van-ban"} {
		if got := slug(in); got != want {
			t.Errorf("slug(%q) = %q, want %q", in, got, want)
		}
	}
}
