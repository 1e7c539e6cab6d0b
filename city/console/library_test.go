package console

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"loa/city/api"
)

// fakeLibrary stands in for the city's library service (whose own tests
// transcode with the real ffmpeg): it keeps what was added in memory.
type fakeLibrary struct {
	mu    sync.Mutex
	dir   string
	items []api.Media
}

func (f *fakeLibrary) Media(context.Context) ([]api.Media, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]api.Media(nil), f.items...), nil
}

func (f *fakeLibrary) MediaFile(_ context.Context, sha string) (*os.File, error) {
	return os.Open(filepath.Join(f.dir, sha))
}

func (f *fakeLibrary) Add(_ context.Context, body io.Reader, name, title, by string) (api.Media, bool, error) {
	b, _ := io.ReadAll(body)
	if !bytes.HasPrefix(b, []byte("ID3")) {
		return api.Media{}, false, errors.New("không phải tệp âm thanh / not audio")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if title == "" {
		title = strings.TrimSuffix(name, filepath.Ext(name))
	}
	sha := fmt.Sprintf("%064x", len(f.items)+1)
	os.WriteFile(filepath.Join(f.dir, sha), b, 0o644)
	lufs := -16.24
	m := api.Media{SHA256: sha, Title: title, Names: []string{name}, DurationSeconds: 125.4, LoudnessLUFS: &lufs, AddedBy: by,
		AddedAt: time.Date(2026, 12, 6, 1, 30, 0, 0, time.UTC)}
	f.items = append([]api.Media{m}, f.items...)
	return m, true, nil
}

func multipartUpload(t *testing.T, files map[string]string, title string) (*bytes.Buffer, string) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("title", title)
	for name, body := range files {
		w, _ := mw.CreateFormFile("file", name)
		io.WriteString(w, body)
	}
	mw.Close()
	return &buf, mw.FormDataContentType()
}

func TestLibraryUploadWithoutJavaScriptAndSearch(t *testing.T) {
	tc := startConsole(t)
	b := browser(t)
	login(t, tc, b, "lan", "mật-khẩu-dài-1")
	_, _, page := do(t, b, "GET", tc.srv.URL+"/library", nil, nil)
	if !strings.Contains(page, "Chưa có mục nào.") || !strings.Contains(page, `<label for="file" class="drop">`) {
		t.Fatalf("empty library:\n%s", page)
	}
	tok := csrfOf(t, page)
	body, ctype := multipartUpload(t, map[string]string{"ban-tin-sang.mp3": "ID3 tone", "ghi-chu.txt": "hello"}, "Bản tin sáng")
	// Without the token in the form's action: refused, nothing added.
	req, _ := http.NewRequest("POST", tc.srv.URL+"/library/upload", bytes.NewReader(body.Bytes()))
	req.Header.Set("Content-Type", ctype)
	if resp, _ := b.Do(req); resp.StatusCode != http.StatusForbidden || len(tc.library.items) != 0 {
		t.Fatalf("upload without the CSRF token: %d, %d items", resp.StatusCode, len(tc.library.items))
	}
	req, _ = http.NewRequest("POST", tc.srv.URL+"/library/upload?csrf="+tok, body)
	req.Header.Set("Content-Type", ctype)
	resp, err := b.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	// One file refused with its reason, the other added: the page says
	// both, the error first.
	res := string(out)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(res, "ghi-chu.txt: không phải tệp âm thanh / not audio") ||
		!strings.Contains(res, "ban-tin-sang.mp3: đã thêm — Bản tin sáng") || strings.Index(res, "ghi-chu.txt:") > strings.Index(res, "ban-tin-sang.mp3:") {
		t.Fatalf("upload results: %d\n%s", resp.StatusCode, res)
	}
	// The list: duration, loudness with a decimal comma, time in the city's zone.
	if !strings.Contains(res, "2:05 · -16,2 LUFS") || !strings.Contains(res, "06/12/2026 08:30") {
		t.Fatalf("library row:\n%s", res)
	}
	// Search without tones finds the title with them.
	_, _, found := do(t, b, "GET", tc.srv.URL+"/library?q=ban+tin+SANG", nil, nil)
	_, _, none := do(t, b, "GET", tc.srv.URL+"/library?q=chieu", nil, nil)
	if !strings.Contains(found, "1 / 1 mục") || !strings.Contains(none, "0 / 1 mục") {
		t.Fatalf("search: found %v, none %v", strings.Contains(found, "1 / 1"), strings.Contains(none, "0 / 1"))
	}
	// Listening: the canonical file, with ranges for seeking.
	sha := tc.library.items[0].SHA256
	code, hdr, audio := do(t, b, "GET", tc.srv.URL+"/library/audio/"+sha, nil, map[string]string{"Range": "bytes=0-2"})
	if code != http.StatusPartialContent || audio != "ID3" || hdr.Get("Content-Type") != "audio/mpeg" {
		t.Fatalf("audio: %d %q %v", code, audio, hdr)
	}
	if code, _, _ := do(t, b, "GET", tc.srv.URL+"/library/audio/..%2F..%2Fetc%2Fpasswd", nil, nil); code == http.StatusOK {
		t.Fatal("path escape")
	}
}

func TestLibraryReadOnlyForTechnician(t *testing.T) {
	tc := startConsole(t)
	b := browser(t)
	login(t, tc, b, "ky-thuat", "mật-khẩu-dài-2")
	_, _, page := do(t, b, "GET", tc.srv.URL+"/library", nil, nil)
	if strings.Contains(page, `id="upload"`) {
		t.Fatal("a technician is offered the upload form")
	}
	_, _, home := do(t, b, "GET", tc.srv.URL+"/", nil, nil)
	body, ctype := multipartUpload(t, map[string]string{"x.mp3": "ID3"}, "")
	req, _ := http.NewRequest("POST", tc.srv.URL+"/library/upload?csrf="+csrfOf(t, home), body)
	req.Header.Set("Content-Type", ctype)
	if resp, _ := b.Do(req); resp.StatusCode != http.StatusForbidden || len(tc.library.items) != 0 {
		t.Fatalf("technician upload: %d", resp.StatusCode)
	}
}

func (f *fakeLibrary) Retitle(_ context.Context, sha, title string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.items {
		if f.items[i].SHA256 == sha {
			f.items[i].Title = title
			return nil
		}
	}
	return errors.New("no such item")
}

// Delete refuses an item named "dang-dung.mp3", as the city refuses one a
// program uses.
func (f *fakeLibrary) Delete(_ context.Context, sha string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, m := range f.items {
		if m.SHA256 == sha {
			if m.Names[0] == "dang-dung.mp3" {
				return errors.New("đang được dùng, không xoá được: programs ward:phuong-ben-nghe / in use, not deleted: programs ward:phuong-ben-nghe")
			}
			f.items = append(f.items[:i], f.items[i+1:]...)
			return nil
		}
	}
	return errors.New("no such item")
}

func TestLibraryRetitleAndDelete(t *testing.T) {
	tc := startConsole(t)
	b := browser(t)
	login(t, tc, b, "lan", "mật-khẩu-dài-1")
	ctx := context.Background()
	tc.library.Add(ctx, strings.NewReader("ID3 a"), "dang-dung.mp3", "Đang dùng", "lan")
	tc.library.Add(ctx, strings.NewReader("ID3 b"), "cu.mp3", "Bản tin cũ", "lan")
	inUse, old := tc.library.items[1].SHA256, tc.library.items[0].SHA256
	_, _, page := do(t, b, "GET", tc.srv.URL+"/library", nil, nil)
	tok := csrfOf(t, page)
	code, _, page := do(t, b, "POST", tc.srv.URL+"/library/item/"+old, url.Values{"csrf": {tok}, "action": {"title"}, "title": {"Bản tin thứ Hai"}}, nil)
	if code != 200 || !strings.Contains(page, "Đã đổi tiêu đề.") || !strings.Contains(page, "<strong>Bản tin thứ Hai</strong>") {
		t.Fatalf("retitle: %d\n%s", code, page)
	}
	code, _, page = do(t, b, "POST", tc.srv.URL+"/library/item/"+inUse, url.Values{"csrf": {tok}, "action": {"delete"}}, nil)
	if code != 400 || !strings.Contains(page, "đang được dùng, không xoá được: programs ward:phuong-ben-nghe") || len(tc.library.items) != 2 {
		t.Fatalf("delete in use: %d\n%s", code, page)
	}
	code, _, page = do(t, b, "POST", tc.srv.URL+"/library/item/"+old, url.Values{"csrf": {tok}, "action": {"delete"}}, nil)
	if code != 200 || !strings.Contains(page, "Đã xoá.") || len(tc.library.items) != 1 {
		t.Fatalf("delete: %d\n%s", code, page)
	}
}
