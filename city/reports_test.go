package city_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"loa/city/citytest"
	"loa/city/reports"
	"loa/fleet"
	"loa/schedule"
)

// TestReportOverAPI: a real city (SQLite file, HTTP on loopback) plans a
// daily program on two wards; one ward logged it played, the other sent
// nothing. The report says so, in JSON, CSV and XLSX, and a user scoped
// to one ward sees only hers.
func TestReportOverAPI(t *testing.T) {
	c := citytest.New(t)
	ctx := context.Background()
	c.AddWard(t, "phuong-1", "quan-1")
	c.AddWard(t, "phuong-2", "quan-2")
	dir := t.TempDir()
	c.Upload(t, citytest.Tone(t, dir, "a.wav", 1, 440), "a.wav")
	c.MustLoad(t, "all", "programs:\n  - id: tin-sang\n    title: Tin sáng\n    cron: \"0 5 * * *\"\n    items: [a.wav]\n")
	loc := c.City.Location()
	day := time.Now().In(loc).AddDate(0, 0, -1)
	start := time.Date(day.Year(), day.Month(), day.Day(), 5, 0, 0, 0, loc)
	date := start.Format("2006-01-02")
	if _, err := c.StoreAsRun(ctx, []fleet.AsRunEntry{{Ward: "phuong-1", ID: 1, Program: "tin-sang", Kind: "program", Occurrence: start.UnixMilli(),
		Item: "a.wav", Planned: start.UnixMilli(), Actual: start.UnixMilli() + 100, End: start.UnixMilli() + 1100, Result: "completed"}}); err != nil {
		t.Fatal(err)
	}

	status, body, _ := c.Do(t, "GET", "/api/v1/reports?from="+date+"&to="+date, c.Operator, nil)
	if status != 200 {
		t.Fatalf("%d %s", status, body)
	}
	var rep reports.Report
	if err := json.Unmarshal(body, &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Wards) != 2 || rep.Totals.Planned != 2 || rep.Totals.Played != 1 || rep.Totals.Missed != 1 {
		t.Fatalf("report %s", body)
	}
	if w := rep.Wards[1]; w.Ward != "phuong-2" || w.Lines[0].Status != reports.Missed || w.Lines[0].Title != "Tin sáng" {
		t.Errorf("phuong-2 %+v", w)
	}

	status, body, h := c.Do(t, "GET", "/api/v1/reports?group=quan-1&from="+date+"&to="+date+"&format=csv", c.Technician, nil)
	if status != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/csv") || !strings.Contains(string(body), "phuong-1,"+date+",tin-sang,Tin sáng,05:00:00") || strings.Contains(string(body), "phuong-2") {
		t.Errorf("csv %d %s", status, body)
	}

	status, body, _ = c.Do(t, "GET", "/api/v1/reports?from="+date+"&to="+date+"&format=xlsx", c.Admin, nil)
	f, err := excelize.OpenReader(bytes.NewReader(body))
	if status != 200 || err != nil {
		t.Fatalf("xlsx %d %v", status, err)
	}
	rows, _ := f.GetRows(reports.SheetLines)
	if len(rows) != 3 || rows[1][0] != "phuong-1" || rows[1][9] != "Đã phát / Played" || rows[2][9] != "Bỏ lỡ / Missed" {
		t.Errorf("xlsx lines %q", rows)
	}

	tok, err := c.AddUser(ctx, "lan", "operator")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Accounts.SetScope(ctx, "lan", []string{"phuong-2"}, nil, false); err != nil {
		t.Fatal(err)
	}
	_, body, _ = c.Do(t, "GET", "/api/v1/reports?from="+date+"&to="+date, tok, nil)
	json.Unmarshal(body, &rep)
	if len(rep.Wards) != 1 || rep.Wards[0].Ward != "phuong-2" {
		t.Errorf("scoped report %s", body)
	}
	for q, want := range map[string]int{
		"ward=phuong-1":                 403,
		"group=quan-1":                  403,
		"from=2026-13-01":               400,
		"format=pdf":                    400,
		"ward=phuong-2&group=quan-2":    400,
		"from=2020-01-01&to=2020-12-31": 400,
	} {
		if status, b, _ := c.Do(t, "GET", "/api/v1/reports?"+q, tok, nil); status != want || !strings.Contains(string(b), " / ") {
			t.Errorf("%s: %d %s, want %d in both languages", q, status, b, want)
		}
	}
	if status, _, _ := c.Do(t, "GET", "/api/v1/reports", c.Alerter, nil); status != 403 {
		t.Errorf("alerter: %d", status)
	}
}

// BenchmarkReportMonth: a month's report for 20 wards, each with three
// programs a day from the city's file, no as-run rows (every occurrence
// a timeline computation and a database read: the worst case).
func BenchmarkReportMonth(b *testing.B) {
	c := citytest.New(b)
	for i := range 20 {
		c.AddWard(b, fmt.Sprintf("phuong-%02d", i), "quan-1")
	}
	c.Upload(b, citytest.Tone(b, b.TempDir(), "a.wav", 1, 440), "a.wav")
	c.MustLoad(b, "all", "programs:\n  - id: sang\n    cron: \"0 6 * * *\"\n    items: [a.wav]\n"+
		"  - id: trua\n    cron: \"0 11 * * *\"\n    items: [a.wav]\n  - id: chieu\n    cron: \"0 17 * * *\"\n    items: [a.wav]\n")
	q := reports.Query{From: schedule.Date{Year: 2026, Month: 11, Day: 1}, To: schedule.Date{Year: 2026, Month: 11, Day: 30}}
	b.ResetTimer()
	for b.Loop() {
		rep, err := c.Reports.Make(context.Background(), q)
		if err != nil || rep.Totals.Planned != 20*30*3 {
			b.Fatalf("%v %+v", err, rep.Totals)
		}
	}
}
