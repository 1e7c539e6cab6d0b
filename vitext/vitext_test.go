package vitext

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestNumber(t *testing.T) {
	for _, c := range []struct {
		n     uint64
		north string
		south string
	}{
		{0, "không", ""},
		{5, "năm", ""},
		{10, "mười", ""},
		{11, "mười một", ""},
		{15, "mười lăm", ""},
		{20, "hai mươi", ""},
		{21, "hai mươi mốt", ""},
		{24, "hai mươi tư", ""},
		{25, "hai mươi lăm", ""},
		{101, "một trăm lẻ một", "một trăm linh một"},
		{105, "một trăm lẻ năm", "một trăm linh năm"},
		{110, "một trăm mười", ""},
		{115, "một trăm mười lăm", ""},
		{1000, "một nghìn", "một ngàn"},
		{1005, "một nghìn không trăm lẻ năm", "một ngàn không trăm linh năm"},
		{2026, "hai nghìn không trăm hai mươi sáu", "hai ngàn không trăm hai mươi sáu"},
		{10000, "mười nghìn", "mười ngàn"},
		{1500000, "một triệu năm trăm nghìn", "một triệu năm trăm ngàn"},
		{1000005, "một triệu không trăm lẻ năm", "một triệu không trăm linh năm"},
		{2000000000, "hai tỷ", ""},
		{3000000001, "ba tỷ không trăm lẻ một", "ba tỷ không trăm linh một"},
	} {
		if got := Number(c.n, North); got != c.north {
			t.Errorf("Number(%d) = %q, want %q", c.n, got, c.north)
		}
		want := c.south
		if want == "" {
			want = c.north
		}
		if got := Number(c.n, South); got != want {
			t.Errorf("Number(%d, South) = %q, want %q", c.n, got, want)
		}
	}
}

func TestNormalize(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		// the examples of the issue
		{"14/9", "mười bốn tháng chín"},
		{"5h30", "năm giờ ba mươi"},
		// dates and times
		{"ngày 14/4/2026", "ngày mười bốn tháng tư năm hai nghìn không trăm hai mươi sáu"},
		{"ngày 1.10.2026", "ngày một tháng mười năm hai nghìn không trăm hai mươi sáu"},
		{"từ 14-15/9", "từ mười bốn đến mười lăm tháng chín"},
		{"lúc 17h", "lúc mười bảy giờ"},
		{"lúc 7h05 sáng", "lúc bảy giờ năm phút sáng"},
		{"lúc 19:00", "lúc mười chín giờ"},
		{"lúc 25h30", "lúc 25h30"}, // not a time: kept as written
		// numbers, decimals, units
		{"gió giật cấp 10", "gió giật cấp mười"},
		{"mưa 200mm", "mưa hai trăm mi li mét"},
		{"sức gió 90 km/h", "sức gió chín mươi ki lô mét một giờ"},
		{"vĩ độ 17,5 độ Bắc", "vĩ độ mười bảy phẩy năm độ Bắc"},
		{"17,05", "mười bảy phẩy không năm"},
		{"hỗ trợ 1.500.000 đồng", "hỗ trợ một triệu năm trăm nghìn đồng"},
		{"đạt 30%", "đạt ba mươi phần trăm"},
		{"5ha lúa", "năm héc ta lúa"},
		{"gọi 0989 123 456", "gọi không chín tám chín một hai ba bốn năm sáu"},
		{"gọi 114", "gọi một trăm mười bốn"},
		// abbreviations
		{"UBND P. Bến Nghé thông báo", "Ủy ban nhân dân phường Bến Nghé thông báo"},
		{"Q.1, TP.HCM", "quận một, Thành phố Hồ Chí Minh"},
		{"BCH PCTT và TKCN", "Ban chỉ huy phòng chống thiên tai và tìm kiếm cứu nạn"},
		{"đội PCCC", "đội phòng cháy chữa cháy"},
		{"ông Nguyễn Văn P. cho biết", "ông Nguyễn Văn P. cho biết"},
		// left alone
		{"mạng 3G", "mạng 3G"},
		{"UBNDX", "UBNDX"},
		{"", ""},
	} {
		got, _ := Normalize(c.in, Options{})
		if got != c.want {
			t.Errorf("Normalize(%q)\n got %q\nwant %q", c.in, got, c.want)
		}
	}
}

func TestNormalizeSouthAndTable(t *testing.T) {
	got, exp := Normalize("BCH QS X. An Phú họp lúc 8h, 105 người", Options{
		Dialect:       South,
		Abbreviations: map[string]string{"QS": "quân sự", "X.": ""},
	})
	want := "Ban chỉ huy quân sự X. An Phú họp lúc tám giờ, một trăm linh năm người"
	if got != want {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
	// The editor is shown every expansion, where it was and what it says.
	wantExp := []Expansion{{0, "BCH", "Ban chỉ huy"}, {4, "QS", "quân sự"}, {29, "8h", "tám giờ"}, {33, "105", "một trăm linh năm"}}
	if len(exp) != len(wantExp) {
		t.Fatalf("expansions %+v", exp)
	}
	for i, e := range exp {
		if e != wantExp[i] {
			t.Errorf("expansion %d: %+v, want %+v", i, e, wantExp[i])
		}
	}
}

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"14/9", "5h30", "UBND P. Bến Nghé", "1.500.000,25 đ", "14-15/9/2026", "0989.123.456", "99999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, exp := Normalize(s, Options{})
		if utf8.ValidString(s) && !utf8.ValidString(got) {
			t.Fatalf("invalid UTF-8 out of %q", s)
		}
		last := -1
		for _, e := range exp {
			if e.At <= last || e.At+len(e.From) > len(s) || s[e.At:e.At+len(e.From)] != e.From || !strings.Contains(got, e.To) {
				t.Fatalf("expansion %+v of %q (out %q)", e, s, got)
			}
			last = e.At
		}
	})
}
