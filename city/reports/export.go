package reports

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/xuri/excelize/v2"
)

// Exports: the report's lines as CSV (one row per planned occurrence,
// for spreadsheets and scripts) and as an XLSX workbook with a summary
// sheet per ward and day and a sheet of lines, the file communes attach
// to their monthly report. Headings are Vietnamese with the English
// beside, like every page of the console.

// SummaryHeader is the summary's columns.
var SummaryHeader = []string{
	"Phường / Ward", "Ngày / Date", "Kế hoạch / Planned", "Đã phát / Played", "Muộn / Late",
	"Bị ngắt / Interrupted", "Bỏ lỡ / Missed", "Lỗi / Failed", "Ngoài lịch / Unplanned", "Giờ phát sóng / Hours on air",
}

// LineHeader is the lines' columns.
var LineHeader = []string{
	"Phường / Ward", "Ngày / Date", "Chương trình / Program", "Tiêu đề / Title", "Giờ kế hoạch / Planned",
	"Bắt đầu / Started", "Kết thúc / Ended", "Muộn (giây) / Late (s)", "Phát (phút) / On air (min)", "Kết quả / Status", "Lý do / Reason",
}

// SummaryRows are the summary's rows: each ward's days, then the ward's
// total, then the report's total.
func (r Report) SummaryRows() [][]string {
	var out [][]string
	row := func(ward, date string, c Counts) []string {
		return []string{ward, date, itoa(c.Planned), itoa(c.Played), itoa(c.Late), itoa(c.Interrupted), itoa(c.Missed),
			itoa(c.Failed), itoa(c.Unplanned), strconv.FormatFloat(c.OnAirSeconds/3600, 'f', 2, 64)}
	}
	for _, w := range r.Wards {
		for _, d := range w.Days {
			out = append(out, row(w.Ward, d.Date, d.Counts))
		}
		out = append(out, row(w.Ward, "Cộng / Total", w.Totals))
	}
	out = append(out, row("Tổng / All", r.From+" – "+r.To, r.Totals))
	return out
}

// LineRows are the lines' rows, times in loc.
func (r Report) LineRows(loc *time.Location) [][]string {
	var out [][]string
	tm := func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return t.In(loc).Format("15:04:05")
	}
	for _, w := range r.Wards {
		for _, l := range w.Lines {
			late := ""
			if l.LateS > 0 {
				late = strconv.FormatFloat(l.LateS, 'f', 1, 64)
			}
			p := l.Planned
			out = append(out, []string{l.Ward, l.Date, l.Program, l.Title, tm(&p), tm(l.Actual), tm(l.End), late,
				strconv.FormatFloat(l.OnAirS/60, 'f', 1, 64), StatusLabel(l.Status), l.Reason})
		}
	}
	return out
}

// StatusLabel is a status in Vietnamese and English.
func StatusLabel(s Status) string {
	switch s {
	case Played:
		return "Đã phát / Played"
	case Late:
		return "Muộn / Late"
	case Interrupted:
		return "Bị ngắt / Interrupted"
	case Missed:
		return "Bỏ lỡ / Missed"
	case Failed:
		return "Lỗi / Failed"
	case Upcoming:
		return "Chưa đến giờ / Upcoming"
	case Unplanned:
		return "Ngoài lịch / Unplanned"
	}
	return string(s)
}

func itoa(n int) string { return strconv.Itoa(n) }

// WriteCSV writes the lines of r as CSV (UTF-8, header first), times in
// loc.
func (r Report) WriteCSV(w io.Writer, loc *time.Location) error {
	cw := csv.NewWriter(w)
	cw.Write(LineHeader)
	cw.WriteAll(r.LineRows(loc))
	cw.Flush()
	return cw.Error()
}

// Sheet names of the workbook.
const (
	SheetSummary = "Tổng hợp"
	SheetLines   = "Chi tiết"
)

// WriteXLSX writes r as a workbook: title, the summary sheet and the
// lines sheet (numbers as numbers).
func (r Report) WriteXLSX(w io.Writer, loc *time.Location, station string) error {
	f := excelize.NewFile()
	defer f.Close()
	if err := f.SetSheetName("Sheet1", SheetSummary); err != nil {
		return fmt.Errorf("xlsx: %w", err)
	}
	if _, err := f.NewSheet(SheetLines); err != nil {
		return fmt.Errorf("xlsx: %w", err)
	}
	bold, _ := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}})
	title := "Báo cáo phát sóng / Proof of play " + r.From + " – " + r.To
	if station != "" {
		title = station + " — " + title
	}
	f.SetCellStr(SheetSummary, "A1", title)
	f.SetCellStyle(SheetSummary, "A1", "A1", bold)
	put := func(sheet string, first int, header []string, rows [][]string, numeric func(col int) bool) error {
		for i, h := range header {
			cell, _ := excelize.CoordinatesToCellName(i+1, first)
			f.SetCellStr(sheet, cell, h)
			f.SetCellStyle(sheet, cell, cell, bold)
		}
		for ri, row := range rows {
			for ci, v := range row {
				cell, _ := excelize.CoordinatesToCellName(ci+1, first+1+ri)
				var err error
				if n, perr := strconv.ParseFloat(v, 64); perr == nil && numeric(ci) {
					err = f.SetCellFloat(sheet, cell, n, -1, 64)
				} else {
					err = f.SetCellStr(sheet, cell, v)
				}
				if err != nil {
					return fmt.Errorf("xlsx: %s %s: %w", sheet, cell, err)
				}
			}
		}
		last, _ := excelize.ColumnNumberToName(len(header))
		return f.SetColWidth(sheet, "A", last, 16)
	}
	if err := put(SheetSummary, 3, SummaryHeader, r.SummaryRows(), func(c int) bool { return c >= 2 }); err != nil {
		return err
	}
	if err := put(SheetLines, 1, LineHeader, r.LineRows(loc), func(c int) bool { return c == 7 || c == 8 }); err != nil {
		return err
	}
	if err := f.Write(w); err != nil {
		return fmt.Errorf("xlsx: %w", err)
	}
	return nil
}
