package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/xuri/excelize/v2"

	"loa/city/reports"
)

// Proof of play end to end: a real loa-city with its NATS, a real ward
// agent playing into a WAV file, a second ward that never runs. The
// program the agent played shows up as played in the report (from the
// as-run row the agent shipped), the one it could not play (over before
// it started) and the silent ward's as missed, in the JSON API, the XLSX
// export (opened with excelize), `loactl report` and the console's
// /reports page, its chart and its printable view (screenshots).
func TestReportsEndToEnd(t *testing.T) {
	t.Parallel()
	c := newAlertCity(t, "", "phuong-1:quan-1", "phuong-2:quan-1")
	tone(t, filepath.Join(c.dir, "ban-tin.wav"), 600, 2)
	run(t, c.adminCtl, "loactl", "media", "upload", filepath.Join(c.dir, "ban-tin.wav"))
	// The program's minute is the system clock's current one, already
	// begun: the city, on the system clock, counts it as due (a ward that
	// never runs has missed it), while the agent runs on a station clock
	// set back to 12 s before it (--clock-offset), so that it plays it
	// without the test waiting for a whole minute.
	start, offset := startedMinute(12 * time.Second)
	onAir := start.Add(-offset)
	past := start.Add(-2 * time.Minute)
	if past.Day() != start.Day() {
		t.Skip("too close to midnight for a program earlier today")
	}
	day := start.Format("2006-01-02")
	prog := filepath.Join(c.dir, "quan-1.yaml")
	os.WriteFile(prog, []byte(fmt.Sprintf("programs:\n"+
		"  - id: da-qua\n    title: Bản tin đã qua\n    date: %s\n    at: \"%s\"\n    items: [ban-tin.wav]\n"+
		"  - id: ban-tin\n    title: Bản tin phường\n    date: %s\n    at: \"%s\"\n    items: [ban-tin.wav]\n",
		day, past.Format("15:04"), day, start.Format("15:04"))), 0o644)
	run(t, c.adminCtl, "loactl", "program", "load", prog, "--group", "quan-1")
	c.startWard("phuong-1", "wav:"+filepath.Join(c.dir, "phuong-1.wav"), clockOffset(offset))

	get := func(path string) (int, []byte) {
		t.Helper()
		tok := strings.TrimPrefix(c.adminCtl[1], "LOA_TOKEN=")
		req, _ := http.NewRequest("GET", "http://"+c.addr+path, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	q := "from=" + day + "&to=" + day
	var rep reports.Report
	waitUntil(t, "the played program in the report", time.Until(onAir)+40*time.Second, func() bool {
		code, b := get("/api/v1/reports?" + q)
		rep = reports.Report{}
		return code == 200 && json.Unmarshal(b, &rep) == nil && rep.Totals.Played == 1
	})
	status := map[string]reports.Line{}
	for _, w := range rep.Wards {
		for _, l := range w.Lines {
			status[w.Ward+"/"+l.Program] = l
		}
	}
	t.Logf("report totals %+v", rep.Totals)
	if l := status["phuong-1/ban-tin"]; l.Status != reports.Played || l.Actual == nil || l.OnAirS < 1.9 {
		t.Errorf("phuong-1 ban-tin: %+v", l)
	}
	if l := status["phuong-1/da-qua"]; l.Status != reports.Missed || l.Reason == "" {
		t.Errorf("phuong-1 da-qua (over before the agent started): %+v", l)
	}
	if l := status["phuong-2/ban-tin"]; l.Status != reports.Missed || !strings.Contains(l.Reason, "no as-run row") {
		t.Errorf("phuong-2 ban-tin (no agent): %+v", l)
	}
	if rep.Totals.Planned != 4 || rep.Totals.Missed != 3 {
		t.Errorf("totals %+v, want 4 planned, 1 played, 3 missed", rep.Totals)
	}

	code, b := get("/api/v1/reports?ward=phuong-1&format=xlsx&" + q)
	f, err := excelize.OpenReader(bytes.NewReader(b))
	if code != 200 || err != nil {
		t.Fatalf("xlsx: %d %v", code, err)
	}
	lines, _ := f.GetRows(reports.SheetLines)
	if len(lines) != 3 || lines[1][2] != "da-qua" || lines[1][9] != "Bỏ lỡ / Missed" || lines[2][2] != "ban-tin" || lines[2][9] != "Đã phát / Played" {
		t.Errorf("xlsx lines %q", lines)
	}
	sum, _ := f.GetRows(reports.SheetSummary)
	if len(sum) < 4 || sum[3][0] != "phuong-1" || sum[3][2] != "2" || sum[3][3] != "1" || sum[3][6] != "1" {
		t.Errorf("xlsx summary %q", sum)
	}

	out := run(t, c.adminCtl, "loactl", "report", "--group", "quan-1", "--from", day, "--to", day)
	if !strings.Contains(out, "phuong-1,"+day+",ban-tin,Bản tin phường,"+start.Format("15:04:05")) || !strings.Contains(out, "phuong-2,"+day+",ban-tin") || !strings.Contains(out, "Bỏ lỡ / Missed") {
		t.Errorf("loactl report:\n%s", out)
	}

	// The console: an operator's report page, its chart and print view.
	ctx := consoleBrowser(t)
	o := run(t, nil, "loa-city", "user", "add", "bao-cao", "--role", "operator", "--json", "--config", c.config)
	var u struct {
		Password string `json:"password"`
	}
	json.Unmarshal([]byte(o), &u)
	base := "http://" + c.addr
	consoleLogin(t, ctx, base, "bao-cao", u.Password)
	changeOneTimePassword(t, ctx, u.Password, "báo cáo hằng tháng")
	browse(t, ctx, "the reports page",
		chromedp.Navigate(base+"/reports"),
		chromedp.WaitVisible(chromedp.CSS("#r-from")),
		chromedp.SetValue(chromedp.CSS("#r-from"), day),
		chromedp.SetValue(chromedp.CSS("#r-to"), day),
		chromedp.SetValue(chromedp.CSS("#r-group"), "quan-1"),
		chromedp.Submit(chromedp.CSS("#r-to")),
		chromedp.WaitVisible(chromedp.CSS("svg rect.st-played")))
	for _, label := range []string{"r-ward", "r-group", "r-from", "r-to"} {
		if !eval[bool](t, ctx, fmt.Sprintf(`!!document.querySelector('label[for=%q]').textContent.trim()`, label)) {
			t.Errorf("%s has no label", label)
		}
	}
	text := pageText(t, ctx, "main")
	for _, want := range []string{"Báo cáo phát sóng", "Kế hoạch", "Đã phát", "Bỏ lỡ", "Bản tin phường", "không có nhật ký phát sóng", "Tải CSV", "Tải Excel (XLSX)", "In"} {
		if !strings.Contains(text, want) {
			t.Errorf("page lacks %q:\n%s", want, text)
		}
	}
	if n := eval[int](t, ctx, `document.querySelectorAll('svg rect.st-missed').length`); n != 2 {
		t.Errorf("%d missed bars, want one per ward", n)
	}
	kb := eval[float64](t, ctx, `(() => { let n = performance.getEntriesByType('navigation')[0].encodedBodySize;
		for (const r of performance.getEntriesByType('resource')) n += r.encodedBodySize; return n / 1000; })()`)
	t.Logf("/reports with two wards: %.1f KB (page, style sheets, no script)", kb)
	if kb > 150 {
		t.Errorf("/reports: %.1f KB, want ≤ 150", kb)
	}
	screenshots(t, ctx, "reports")
	// The XLSX button downloads a workbook with the session's cookie.
	xlsx := eval[string](t, ctx, `(async () => {
		const r = await fetch(document.querySelector('a[href^="/reports/export?format=xlsx"]').href);
		const b = new Uint8Array(await r.arrayBuffer());
		return r.status + " " + r.headers.get("content-type") + " " + String.fromCharCode(b[0], b[1]); })()`, chromedp.EvalAwaitPromise)
	if !strings.Contains(eval[string](t, ctx, `document.querySelector('a[href^="/reports/export?format=csv"]').href`), "group=quan-1") {
		t.Error("the CSV button does not carry the filter")
	}
	if xlsx != "200 application/vnd.openxmlformats-officedocument.spreadsheetml.sheet PK" {
		t.Errorf("console XLSX download: %q", xlsx)
	}
	browse(t, ctx, "the printable page",
		chromedp.Click(chromedp.CSS(`a[href^="/reports/print"]`)),
		chromedp.WaitVisible(chromedp.CSS(".print-head")))
	if h := pageText(t, ctx, ".print-head"); !strings.Contains(strings.ToUpper(h), "BÁO CÁO KẾT QUẢ PHÁT SÓNG") || !strings.Contains(h, start.Format("02/01/2006")+" – "+start.Format("02/01/2006")) || !strings.Contains(h, "quan-1") {
		t.Errorf("print heading %q", h)
	}
	screenshots(t, ctx, "reports-print")
	// As printed: the print style sheet hides the console's header, the
	// filters and the buttons.
	if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: "print"}); err != nil {
		t.Fatal(err)
	}
	if eval[bool](t, ctx, `document.querySelector('header.top').getClientRects().length > 0 || document.getElementById('print-now').getClientRects().length > 0`) {
		t.Error("the printed page shows the console's header or the print button")
	}
	// As on A4 paper (794 CSS pixels wide).
	browse(t, ctx, "A4 width", chromedp.EmulateViewport(794, 1123))
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(artifactDir(t), "console-reports-printed-a4.png"), png, 0o644)
	pdf, err := chromedp.Run(ctx, chromedp.PrintToPDF(chromedp.PDFPaper(chromedp.PaperA4), chromedp.PDFPrintBackground()))
	if err != nil || len(pdf) < 1000 {
		t.Fatalf("print to PDF: %v", err)
	}
	os.WriteFile(filepath.Join(artifactDir(t), "console-reports-print.pdf"), pdf, 0o644)
}
