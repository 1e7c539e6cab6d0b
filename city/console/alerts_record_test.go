package console

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"regexp"
	"strings"
	"testing"
)

// postCompose sends the compose form as the browser does (multipart,
// the token in the action), with the recording as the "recording" file
// field when rec is not nil.
func postCompose(t *testing.T, c *http.Client, base, tok string, fields map[string][]string, rec []byte, recType string) (int, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, vs := range fields {
		for _, v := range vs {
			mw.WriteField(k, v)
		}
	}
	if rec != nil {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", `form-data; name="recording"; filename="ghi-am.webm"`)
		h.Set("Content-Type", recType)
		w, _ := mw.CreatePart(h)
		w.Write(rec)
	}
	mw.Close()
	req, _ := http.NewRequest("POST", base+"/alerts/new?csrf="+tok, &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// The compose page's recording block: every control labelled, the script
// loaded on this page; a recording sent with the form becomes a library
// item (named for the time and the user) and the confirmation plays that
// item; no recording, or one the library refuses, is a clear error and
// sends nothing.
func TestAlertComposeRecording(t *testing.T) {
	tc, fa := startAlertConsole(t)
	an := browser(t)
	login(t, tc, an, "an", "mật-khẩu-dài-4")
	code, _, page := do(t, an, "GET", tc.srv.URL+"/alerts/new", nil, nil)
	if code != 200 || !strings.Contains(page, `<script src="/static/record.js?v=`) || !strings.Contains(page, `value="record"`) {
		t.Fatalf("compose: %d\n%s", code, page)
	}
	for _, id := range []string{"rec-time", "rec-level", "rec-play", "rec-file"} {
		if !strings.Contains(page, `<label for="`+id+`"`) {
			t.Errorf("no label for #%s", id)
		}
	}
	for _, text := range []string{">Bắt đầu ghi<", ">Dừng<", ">Ghi lại<", "Cần bật JavaScript để ghi âm / Recording needs JavaScript"} {
		if !strings.Contains(page, text) {
			t.Errorf("no %q on the page", text)
		}
	}
	if code, _, other := do(t, an, "GET", tc.srv.URL+"/library", nil, nil); code != 200 || strings.Contains(other, "record.js") {
		t.Errorf("record.js is loaded on another page (%d)", code)
	}
	tok := csrfOf(t, page)
	fields := map[string][]string{"csrf": {tok}, "action": {"preview"}, "kind": {"record"}, "to": {"phuong-2"},
		"priority": {"urgent"}, "status": {"Actual"}, "expires": {"30m"}, "repeat": {"1"}}

	code, page = postCompose(t, an, tc.srv.URL, tok, fields, nil, "")
	if code != http.StatusBadRequest || !strings.Contains(page, "Chưa có bản ghi") {
		t.Fatalf("no recording: %d\n%s", code, page)
	}
	code, page = postCompose(t, an, tc.srv.URL, tok, fields, []byte("not audio"), "audio/webm;codecs=opus")
	if code != http.StatusBadRequest || !regexp.MustCompile(`ghi-am-20\d{6}-\d{6}-an\.webm: không phải tệp âm thanh`).MatchString(page) {
		t.Fatalf("refused recording: %d\n%s", code, page)
	}
	code, page = postCompose(t, an, tc.srv.URL, tok, fields, []byte("ID3 recorded voice"), "audio/ogg;codecs=opus")
	if code != 200 || len(tc.library.items) != 1 {
		t.Fatalf("recording: %d, %d items\n%s", code, len(tc.library.items), page)
	}
	m := tc.library.items[0]
	if len(m.Names) != 1 || !regexp.MustCompile(`^ghi-am-20\d{6}-\d{6}-an\.ogg$`).MatchString(m.Names[0]) || m.AddedBy != "an" || !strings.HasPrefix(m.Title, "Ghi âm ") {
		t.Errorf("library item %+v", m)
	}
	if !strings.Contains(page, `src="/library/audio/`+m.SHA256+`"`) || !strings.Contains(page, `"media":"`+m.SHA256) && !strings.Contains(page, `&#34;media&#34;:&#34;`+m.SHA256) {
		t.Fatalf("the confirmation does not play the recording:\n%s", page)
	}
	if len(fa.submitted) != 0 {
		t.Fatal("the check sent the alert")
	}
}
