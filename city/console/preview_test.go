package console

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"loa/city/api"
)

// fakePreview answers one window and refuses any other as too long.
type fakePreview struct{ loc *time.Location }

func (f fakePreview) Preview(_ context.Context, ward, date, from, to string) (api.Preview, error) {
	if to != "05:32" {
		return api.Preview{}, &api.PreviewWindowError{Field: "to", Vi: "Khoảng nghe thử dài nhất 2 giờ", En: "a preview is at most 2 hours long"}
	}
	start := time.Date(2026, 12, 7, 5, 29, 0, 0, f.loc)
	return api.Preview{Ward: ward, From: start, To: start.Add(3 * time.Minute), Rate: 16000, WAV: []byte("RIFF-fake"), MP3: []byte("ID3-fake"),
		Peaks: []float64{0, 0, 0.5, 0}, Items: []api.PreviewItem{{Program: "sang", Title: "Bản tin sáng", Item: "ban-tin.wav", Start: start.Add(time.Minute)}}}, nil
}

func TestSchedulePreviewPage(t *testing.T) {
	tc := startConsole(t)
	ict := time.FixedZone("ICT", 7*3600)
	c, err := New(Deps{Accounts: tc.accounts, Sessions: tc.sessions, Station: "Phường Bến Nghé", Library: tc.library, Speaker: tc.speaker,
		Schedules: tc.programs, Preview: fakePreview{ict}, Location: ict, Now: func() time.Time { return tc.now }})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(c.Handler())
	defer srv.Close()
	tc.srv = srv
	b := browser(t)
	login(t, tc, b, "lan", "mật-khẩu-dài-1")
	// The form, tomorrow 05:25–06:05 offered.
	_, _, page := do(t, b, "GET", srv.URL+"/schedule/phuong-ben-nghe/preview", nil, nil)
	if !strings.Contains(page, `name="date" value="2026-12-07"`) || !strings.Contains(page, `name="from" value="05:25"`) {
		t.Fatalf("form:\n%s", page)
	}
	code, _, page := do(t, b, "GET", srv.URL+"/schedule/phuong-ben-nghe/preview?date=2026-12-07&from=05:00&to=07:30", nil, nil)
	if code != http.StatusBadRequest || !strings.Contains(page, `<span id="err" class="error" role="alert">Khoảng nghe thử dài nhất 2 giờ · a preview is at most 2 hours long</span>`) ||
		!strings.Contains(page, `name="to" value="07:30" required aria-invalid="true"`) {
		t.Fatalf("too long: %d\n%s", code, page)
	}
	code, _, page = do(t, b, "GET", srv.URL+"/schedule/phuong-ben-nghe/preview?date=2026-12-07&from=05:29&to=05:32", nil, nil)
	for _, want := range []string{`<span class="time">05:30:00</span> <span class="title">Bản tin sáng</span>`, `<svg class="wave"`,
		`<path class="mark" d="M1.3 0V100"/>`, `src="/schedule/phuong-ben-nghe/preview.mp3?date=2026-12-07&amp;from=05%3A29&amp;to=05%3A32"`} {
		if !strings.Contains(page, want) {
			t.Errorf("missing %q", want)
		}
	}
	if code != http.StatusOK || t.Failed() {
		t.Fatalf("%d\n%s", code, page)
	}
	// The page plays the MP3; the WAV stays to download.
	code, hdr, body := do(t, b, "GET", srv.URL+"/schedule/phuong-ben-nghe/preview.mp3?date=2026-12-07&from=05:29&to=05:32", nil, nil)
	if code != http.StatusOK || hdr.Get("Content-Type") != "audio/mpeg" || body != "ID3-fake" {
		t.Fatalf("mp3: %d %v %q", code, hdr, body)
	}
	code, hdr, body = do(t, b, "GET", srv.URL+"/schedule/phuong-ben-nghe/preview.wav?date=2026-12-07&from=05:29&to=05:32", nil, nil)
	if code != http.StatusOK || hdr.Get("Content-Type") != "audio/wav" || body != "RIFF-fake" {
		t.Fatalf("wav: %d %v %q", code, hdr, body)
	}
}
