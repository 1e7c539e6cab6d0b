package console

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"loa/city/accounts"
	"loa/city/reports"
	"loa/sqlite"
)

// fakeReports answers with a fixed report and keeps the query it was
// asked (reports.Service's own tests cover the rules).
type fakeReports struct {
	asked reports.Query
}

func (f *fakeReports) Station() string { return "Đài phường Bến Nghé" }

func (f *fakeReports) Make(_ context.Context, q reports.Query) (reports.Report, error) {
	f.asked = q
	switch {
	case q.Ward == "vo-thi-sau":
		return reports.Report{}, reports.ErrOutOfScope
	case q.Ward == "khong-co":
		return reports.Report{}, fmt.Errorf("phường / ward %s: %w", q.Ward, sqlite.ErrNotFound)
	}
	at := time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC)
	c := reports.Counts{Planned: 2, Played: 1, Missed: 1, OnAirSeconds: 3725}
	return reports.Report{From: q.From.String(), To: q.To.String(), Totals: c, Wards: []reports.Ward{{
		Ward: "phuong-ben-nghe", Totals: c, Days: []reports.Day{{Date: "2026-12-01", Counts: c}},
		Lines: []reports.Line{
			{Ward: "phuong-ben-nghe", Date: "2026-12-01", Program: "tin-sang", Title: "Tin sáng", Planned: at, Actual: &at, Status: reports.Played, OnAirS: 3725},
			{Ward: "phuong-ben-nghe", Date: "2026-12-01", Program: "tin-chieu", Title: "Tin chiều", Planned: at.Add(10 * time.Hour), Status: reports.Missed, Reason: "không có nhật ký phát sóng / no as-run row"},
		}}}}, nil
}

func startReportsConsole(t *testing.T) (*testConsole, *fakeReports) {
	tc := startConsole(t)
	fr := &fakeReports{}
	c, err := New(Deps{Accounts: tc.accounts, Sessions: tc.sessions, Station: "Phường Bến Nghé",
		Library: tc.library, Speaker: tc.speaker, Schedules: tc.programs, Reports: fr, Location: tc.programs.loc,
		Now: func() time.Time { tc.mu.Lock(); defer tc.mu.Unlock(); return tc.now }})
	if err != nil {
		t.Fatal(err)
	}
	tc.srv.Close()
	tc.srv = httptest.NewServer(c.Handler())
	t.Cleanup(tc.srv.Close)
	return tc, fr
}

func TestReportsPage(t *testing.T) {
	tc, fr := startReportsConsole(t)
	tc.accounts.scopes = map[string]accounts.Scope{"lan": {Groups: []string{"quan-1"}}}
	b := browser(t)
	login(t, tc, b, "lan", "mật-khẩu-dài-1")
	code, _, page := do(t, b, "GET", tc.srv.URL+"/reports", nil, nil)
	if code != http.StatusOK {
		t.Fatalf("/reports: %d\n%s", code, page)
	}
	// Default range: this month so far (the console's clock: 6 December).
	if fr.asked.From.String() != "2026-12-01" || fr.asked.To.String() != "2026-12-06" || len(fr.asked.Scope.Groups) != 1 {
		t.Errorf("asked %+v: want this month, with lan's scope", fr.asked)
	}
	for _, want := range []string{`<label for="r-from">Từ ngày</label>`, `<label for="r-to">Đến ngày</label>`, `<label for="r-ward">Phường/xã</label>`,
		`<label for="r-group">Nhóm</label>`, "Tin chiều", "Bỏ lỡ", "1:02:05", `class="st-played"`, `class="st-missed"`,
		`href="/reports/export?format=xlsx&amp;from=2026-12-01&amp;to=2026-12-06"`, `href="/reports/print?from=2026-12-01&amp;to=2026-12-06"`, ">In</a>"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	code, _, page = do(t, b, "GET", tc.srv.URL+"/reports/print?from=2026-12-01&to=2026-12-06", nil, nil)
	if code != http.StatusOK || !strings.Contains(page, "Báo cáo kết quả phát sóng") || !strings.Contains(page, "01/12/2026 – 06/12/2026") ||
		!strings.Contains(page, "Phường Bến Nghé") || !strings.Contains(page, `id="print-now"`) {
		t.Errorf("print page %d:\n%s", code, page)
	}
	code, hdr, csv := do(t, b, "GET", tc.srv.URL+"/reports/export?format=csv&from=2026-12-01&to=2026-12-06", nil, nil)
	if code != http.StatusOK || !strings.HasPrefix(hdr.Get("Content-Type"), "text/csv") || !strings.Contains(csv, "phuong-ben-nghe,2026-12-01,tin-chieu,Tin chiều,") {
		t.Errorf("csv %d %v\n%s", code, hdr, csv)
	}
	code, hdr, _ = do(t, b, "GET", tc.srv.URL+"/reports/export?format=xlsx", nil, nil)
	if code != http.StatusOK || !strings.Contains(hdr.Get("Content-Disposition"), ".xlsx") {
		t.Errorf("xlsx %d %v", code, hdr)
	}
	for _, c := range []struct {
		path string
		code int
		want string
	}{
		{"/reports?ward=vo-thi-sau", http.StatusForbidden, "ngoài phạm vi"},
		{"/reports/export?format=csv&ward=vo-thi-sau", http.StatusForbidden, "ngoài phạm vi"},
		{"/reports?from=1/12/2026", http.StatusBadRequest, "từ ngày / from"},
		{"/reports?from=2026-12-06&to=2026-12-01", http.StatusBadRequest, "đến ngày / to"},
		{"/reports?ward=khong-co", http.StatusNotFound, "khong-co"},
		{"/reports/export?format=pdf", http.StatusBadRequest, "định dạng / format"},
	} {
		code, _, page := do(t, b, "GET", tc.srv.URL+c.path, nil, nil)
		if code != c.code || !strings.Contains(strings.ToLower(page), strings.ToLower(c.want)) {
			t.Errorf("%s: %d, want %d with %q", c.path, code, c.code, c.want)
		}
	}
}
