package httpapi

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"loa/city/reports"
)

// fakeReports answers an empty report and keeps the query; a ward named
// "elsewhere" is outside every scope.
type fakeReports struct{ asked reports.Query }

func (f *fakeReports) Station() string { return "Đài" }

func (f *fakeReports) Make(_ context.Context, q reports.Query) (reports.Report, error) {
	f.asked = q
	if q.Ward == "elsewhere" {
		return reports.Report{}, reports.ErrOutOfScope
	}
	return reports.Report{From: q.From.String(), To: q.To.String(), Wards: []reports.Ward{}}, nil
}

func TestReportRequests(t *testing.T) {
	d, _ := testDeps(t)
	fr := d.Reports.(*fakeReports)
	h := New(d).Handler()
	w := do(t, h, "GET", "/api/v1/reports?group=quan-1&to=2026-04-30", "operator", "")
	if w.Code != 200 || fr.asked.Group != "quan-1" || fr.asked.From.String() != "2026-04-01" || fr.asked.To.String() != "2026-04-30" {
		t.Errorf("%d %s, asked %+v", w.Code, w.Body, fr.asked)
	}
	w = do(t, h, "GET", "/api/v1/reports?format=csv", "technician", "")
	if w.Code != 200 || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/csv") || !strings.HasPrefix(w.Body.String(), "Phường / Ward,") {
		t.Errorf("csv: %d %v %s", w.Code, w.Header(), w.Body)
	}
	w = do(t, h, "GET", "/api/v1/reports?format=xlsx", "admin", "")
	if w.Code != 200 || !strings.HasPrefix(w.Body.String(), "PK") || !strings.Contains(w.Header().Get("Content-Disposition"), "bao-cao-2026-05-01-2026-05-01.xlsx") {
		t.Errorf("xlsx: %d %v", w.Code, w.Header())
	}
	for q, want := range map[string]int{
		"ward=elsewhere":                http.StatusForbidden,
		"from=2026-02-30":               http.StatusBadRequest,
		"format=pdf":                    http.StatusBadRequest,
		"ward=a&group=b":                http.StatusBadRequest,
		"from=2026-05-02&to=2026-05-01": http.StatusBadRequest,
	} {
		if w := do(t, h, "GET", "/api/v1/reports?"+q, "operator", ""); w.Code != want || !strings.Contains(w.Body.String(), " / ") {
			t.Errorf("%s: %d %s, want %d in both languages", q, w.Code, w.Body, want)
		}
	}
}
