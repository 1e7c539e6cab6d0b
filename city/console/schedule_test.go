package console

import (
	"bytes"
	"context"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync"
	"testing"
	"time"

	"loa/city/api"
	"loa/schedule"
)

// fakePrograms stands in for the city's programs service, with the real
// schedule package doing the checks (parse, media, overlaps) and the
// timelines; the city's own tests cover its SQLite and manifests.
type fakePrograms struct {
	mu    sync.Mutex
	loc   *time.Location
	now   func() time.Time
	wards []api.Ward
	files map[string][]byte
	media map[string]time.Duration
}

func (f *fakePrograms) Wards(context.Context) ([]api.Ward, error) { return f.wards, nil }

func (f *fakePrograms) ProgramFile(_ context.Context, target string) (string, []byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, ok := f.files[target]
	if !ok {
		return "", nil, ErrNoProgramFile
	}
	return strings.ReplaceAll(target, ":", "-") + ".yaml", b, nil
}

func (f *fakePrograms) Resolve(_, ref string) (schedule.Media, error) {
	d, ok := f.media[path.Base(ref)]
	if !ok {
		return schedule.Media{}, errors.New("not in the library")
	}
	return schedule.Media{Key: path.Base(ref), Duration: d}, nil
}

func (f *fakePrograms) load(file string, body []byte) (*schedule.File, error) {
	pf, err := schedule.Parse(file, body)
	if err != nil {
		return nil, err
	}
	if err := pf.Resolve(f); err != nil {
		return nil, err
	}
	return pf, pf.CheckOverlaps(f.now())
}

func (f *fakePrograms) PutProgramFile(_ context.Context, target, file string, body []byte, by string) error {
	if _, err := f.load(file, body); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.files[target] = body
	return nil
}

func (f *fakePrograms) Timeline(_ context.Context, ward string, d schedule.Date) (api.Timeline, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var sources []schedule.Source
	for i, target := range []string{"all", "ward:" + ward} {
		if b, ok := f.files[target]; ok {
			pf, err := f.load(target, b)
			if err != nil {
				return api.Timeline{}, err
			}
			sources = append(sources, schedule.Source{Name: target, Rank: i, File: pf})
		}
	}
	tl := api.Timeline{Ward: ward, Date: d.String()}
	for _, o := range schedule.New(f.loc, sources...).Timeline(d) {
		tl.Occurrences = append(tl.Occurrences, api.Occurrence{Program: o.Program.ID, Title: o.Program.Title, Target: o.Source,
			Priority: o.Program.Priority.String(), Start: o.Start, End: o.End})
	}
	return tl, nil
}

func startScheduleConsole(t *testing.T) (*testConsole, *fakePrograms) {
	tc := startConsole(t)
	tc.library.items = []api.Media{{SHA256: strings.Repeat("a", 64), Title: "Bản tin sáng", Names: []string{"ban-tin-sang.mp3"}}}
	return tc, tc.programs
}

func TestScheduleAddProgramByForm(t *testing.T) {
	tc, progs := startScheduleConsole(t)
	b := browser(t)
	login(t, tc, b, "lan", "mật-khẩu-dài-1")
	code, hdr, _ := do(t, b, "GET", tc.srv.URL+"/schedule", nil, nil)
	if code != http.StatusSeeOther || hdr.Get("Location") != "/schedule/phuong-ben-nghe" {
		t.Fatalf("/schedule: %d %v", code, hdr)
	}
	_, _, form := do(t, b, "GET", tc.srv.URL+"/schedule/phuong-ben-nghe/program", nil, nil)
	if !strings.Contains(form, `<label for="at">Giờ bắt đầu</label>`) || !strings.Contains(form, `value="1" checked> Thứ Hai`) ||
		strings.Contains(form, `value="0" checked`) || !strings.Contains(form, `<option value="ban-tin-sang.mp3">`) {
		t.Fatalf("new program form (Mon–Sat ticked, library names offered):\n%s", form)
	}
	tok := csrfOf(t, form)
	monSat := url.Values{"csrf": {tok}, "title": {"Bản tin sáng"}, "target": {"ward:phuong-ben-nghe"}, "kind": {"weekly"},
		"day": {"1", "2", "3", "4", "5", "6"}, "at": {"05:30"}, "items": {"ban-tin-sang.mp3\n"}, "priority": {"normal"}}
	code, hdr, body := do(t, b, "POST", tc.srv.URL+"/schedule/phuong-ben-nghe/program", monSat, nil)
	if code != http.StatusSeeOther {
		t.Fatalf("save: %d\n%s", code, body)
	}
	want := "programs:\n  - id: ban-tin-sang\n    title: Bản tin sáng\n    cron: \"30 5 * * 1-6\"\n    items:\n      - ban-tin-sang.mp3\n"
	if got := string(progs.files["ward:phuong-ben-nghe"]); got != want {
		t.Fatalf("the ward's file:\n%s\nwant\n%s", got, want)
	}
	// The week view shows it Monday to Saturday, not Sunday.
	_, _, week := do(t, b, "GET", tc.srv.URL+hdr.Get("Location"), nil, nil)
	if n := strings.Count(week, `<span class="time">05:30</span> <span class="title">Bản tin sáng</span> <span class="length">2:00</span>`); n != 6 {
		t.Fatalf("%d blocks in the week, want 6:\n%s", n, week)
	}
	if !strings.Contains(week, "T2, T3, T4, T5, T6, T7 05:30") {
		t.Fatalf("program list:\n%s", week)
	}
	// An overlapping program: the Vietnamese error beside the time field,
	// nothing saved.
	clash := url.Values{"csrf": {tok}, "title": {"Thông báo"}, "target": {"ward:phuong-ben-nghe"}, "kind": {"weekly"},
		"day": {"3"}, "at": {"05:31"}, "items": {"thong-bao.mp3"}}
	code, _, body = do(t, b, "POST", tc.srv.URL+"/schedule/phuong-ben-nghe/program", clash, nil)
	if code != http.StatusBadRequest || !strings.Contains(body, `<p id="at-err" class="error field">Trùng giờ với chương trình khác; không lưu gì. /`) ||
		!strings.Contains(body, `value="Thông báo"`) {
		t.Fatalf("overlap: %d\n%s", code, body)
	}
	if got := string(progs.files["ward:phuong-ben-nghe"]); got != want {
		t.Fatalf("a refused program changed the file:\n%s", got)
	}
	// Missing fields: each named beside its field, nothing saved.
	code, _, body = do(t, b, "POST", tc.srv.URL+"/schedule/phuong-ben-nghe/program", url.Values{"csrf": {tok}, "kind": {"weekly"}, "at": {"5h"}, "target": {"ward:phuong-ben-nghe"}}, nil)
	for _, msg := range []string{"Cần tên chương trình.", "Chọn ít nhất một ngày.", "Giờ không hợp lệ", "Cần ít nhất một bản tin"} {
		if !strings.Contains(body, msg) {
			t.Errorf("missing %q", msg)
		}
	}
	if code != http.StatusBadRequest {
		t.Fatalf("bad fields: %d", code)
	}
	// Edit: move to 06:00 on Sunday only; the id stays.
	edit := url.Values{"csrf": {tok}, "id": {"ban-tin-sang"}, "editing": {"1"}, "title": {"Bản tin sáng"}, "target": {"ward:phuong-ben-nghe"},
		"kind": {"weekly"}, "day": {"0"}, "at": {"06:00"}, "items": {"ban-tin-sang.mp3"}}
	if code, _, body := do(t, b, "POST", tc.srv.URL+"/schedule/phuong-ben-nghe/program", edit, nil); code != http.StatusSeeOther {
		t.Fatalf("edit: %d\n%s", code, body)
	}
	if got := string(progs.files["ward:phuong-ben-nghe"]); !strings.Contains(got, `cron: "0 6 * * 0"`) || strings.Count(got, "id:") != 1 {
		t.Fatalf("edited file:\n%s", got)
	}
}

func TestScheduleExportImportRoundTrip(t *testing.T) {
	tc, progs := startScheduleConsole(t)
	b := browser(t)
	login(t, tc, b, "lan", "mật-khẩu-dài-1")
	file := "# tệp của thành phố\nprograms:\n  - id: vov\n    title: Tiếp sóng VOV\n    cron: \"0 6 * * *\"   # mỗi sáng\n    items: [ban-tin-sang.mp3]\n"
	_, _, week := do(t, b, "GET", tc.srv.URL+"/schedule/phuong-ben-nghe", nil, nil)
	tok := csrfOf(t, week)
	upload := func(body string) (int, string) {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		w, _ := mw.CreateFormFile("file", "thanh-pho.yaml")
		io.WriteString(w, body)
		mw.Close()
		req, _ := http.NewRequest("POST", tc.srv.URL+"/schedule/phuong-ben-nghe/import?target=all&csrf="+tok, &buf)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		resp, err := b.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(out)
	}
	if code, page := upload(file); code != 200 || !strings.Contains(page, "Đã nạp: thanh-pho.yaml") {
		t.Fatalf("import: %d\n%s", code, page)
	}
	// Exported exactly as loaded: comments and layout too.
	if code, hdr, got := do(t, b, "GET", tc.srv.URL+"/schedule/export?target=all", nil, nil); code != 200 || got != file || !strings.Contains(hdr.Get("Content-Disposition"), ".yaml") {
		t.Fatalf("export: %d %v\n%q", code, hdr, got)
	}
	// A bad file: every problem listed with its line, nothing changed.
	code, page := upload("programs:\n  - id: x\n    cron: \"61 5 * * *\"\n    items: [khong-co.mp3]\n")
	if code != 400 || !strings.Contains(page, "thanh-pho.yaml:3: bad cron") || string(progs.files["all"]) != file {
		t.Fatalf("bad import: %d\n%s", code, page)
	}
}

func TestScheduleReadOnlyForTechnician(t *testing.T) {
	tc, progs := startScheduleConsole(t)
	progs.files["ward:phuong-ben-nghe"] = []byte("programs:\n  - id: a\n    title: A\n    cron: \"0 7 * * *\"\n    items: [ban-tin-sang.mp3]\n")
	b := browser(t)
	login(t, tc, b, "ky-thuat", "mật-khẩu-dài-2")
	_, _, week := do(t, b, "GET", tc.srv.URL+"/schedule/phuong-ben-nghe", nil, nil)
	if strings.Contains(week, "Thêm chương trình") || strings.Contains(week, "program/delete") || !strings.Contains(week, "Hằng ngày 07:00") {
		t.Fatalf("technician's week:\n%s", week)
	}
	del := url.Values{"csrf": {csrfOf(t, week)}, "target": {"ward:phuong-ben-nghe"}, "id": {"a"}}
	if code, _, _ := do(t, b, "POST", tc.srv.URL+"/schedule/phuong-ben-nghe/program/delete", del, nil); code != 403 || !strings.Contains(string(progs.files["ward:phuong-ben-nghe"]), "id: a") {
		t.Fatalf("technician delete: %d", code)
	}
}
