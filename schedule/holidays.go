package schedule

// Holiday is a public holiday of Vietnam, in Vietnamese and English.
type Holiday struct {
	Vi, En string
}

// tet is the first day of the lunar year (Tết Nguyên Đán) in Vietnam's
// calendar (UTC+7), 2025–2040.
var tet = map[int]string{
	2025: "2025-01-29", 2026: "2026-02-17", 2027: "2027-02-06", 2028: "2028-01-26",
	2029: "2029-02-13", 2030: "2030-02-03", 2031: "2031-01-23", 2032: "2032-02-11",
	2033: "2033-01-31", 2034: "2034-02-19", 2035: "2035-02-08", 2036: "2036-01-28",
	2037: "2037-02-15", 2038: "2038-02-04", 2039: "2039-01-24", 2040: "2040-02-12",
}

// fixedHolidays are the solar-calendar public holidays, by MM-DD.
var fixedHolidays = map[string]Holiday{
	"01-01": {"Tết Dương lịch", "New Year's Day"},
	"04-30": {"Ngày Giải phóng miền Nam", "Reunification Day"},
	"05-01": {"Quốc tế Lao động", "International Labour Day"},
	"09-02": {"Quốc khánh", "National Day"},
}

// HolidaysOn returns the public holidays on d: the fixed ones and Tết
// (the eve and its first three days) for the years the table holds.
func HolidaysOn(d Date) []Holiday {
	var out []Holiday
	s := d.String()
	if h, ok := fixedHolidays[s[5:]]; ok {
		out = append(out, h)
	}
	for _, y := range []int{d.Year, d.Year + 1} {
		t, ok := tet[y]
		if !ok {
			continue
		}
		first, _ := ParseDate(t)
		switch s {
		case first.AddDays(-1).String():
			out = append(out, Holiday{"Giao thừa", "Lunar New Year's Eve"})
		case first.String():
			out = append(out, Holiday{"Mùng 1 Tết", "Lunar New Year (Tết), day 1"})
		case first.AddDays(1).String():
			out = append(out, Holiday{"Mùng 2 Tết", "Tết, day 2"})
		case first.AddDays(2).String():
			out = append(out, Holiday{"Mùng 3 Tết", "Tết, day 3"})
		}
	}
	return out
}
