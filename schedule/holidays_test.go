package schedule

import "testing"

func TestHolidaysOn(t *testing.T) {
	for date, want := range map[string]string{
		"2027-02-05": "Giao thừa", "2027-02-06": "Mùng 1 Tết", "2027-02-08": "Mùng 3 Tết",
		"2026-09-02": "Quốc khánh", "2026-04-30": "Ngày Giải phóng miền Nam", "2027-01-01": "Tết Dương lịch",
	} {
		d, _ := ParseDate(date)
		h := HolidaysOn(d)
		if len(h) != 1 || h[0].Vi != want || h[0].En == "" {
			t.Errorf("%s: %v, want %s", date, h, want)
		}
	}
	d, _ := ParseDate("2027-02-09")
	if h := HolidaysOn(d); len(h) != 0 {
		t.Errorf("2027-02-09: %v", h)
	}
}
