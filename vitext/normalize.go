package vitext

import (
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Expansion is one piece of the text that Normalize rewrote.
type Expansion struct {
	At   int    `json:"at"`   // byte offset in the original text
	From string `json:"from"` // as written
	To   string `json:"to"`   // as it will be spoken
}

// Options of Normalize.
type Options struct {
	Dialect Dialect
	// Abbreviations adds to (or, with an empty value, removes from) the
	// default table; the city keeps its own words here.
	Abbreviations map[string]string
}

// DefaultAbbreviations is the table of abbreviations common in the
// bulletins of wards and communes. A one-letter abbreviation with a dot
// ("P.", "Q.", "X.") is expanded only before a capital letter or a digit
// ("P. Bến Nghé", "Q.1"), so that "Nguyễn Văn P." stays a name.
func DefaultAbbreviations() map[string]string {
	return map[string]string{
		"UBND":    "Ủy ban nhân dân",
		"HĐND":    "Hội đồng nhân dân",
		"UBMTTQ":  "Ủy ban Mặt trận Tổ quốc",
		"MTTQ":    "Mặt trận Tổ quốc",
		"CHXHCN":  "Cộng hòa xã hội chủ nghĩa",
		"TP.HCM":  "Thành phố Hồ Chí Minh",
		"TP. HCM": "Thành phố Hồ Chí Minh",
		"TPHCM":   "Thành phố Hồ Chí Minh",
		"TP.":     "thành phố",
		"Tp.":     "thành phố",
		"TP":      "thành phố",
		"P.":      "phường",
		"Q.":      "quận",
		"X.":      "xã",
		"TDP":     "tổ dân phố",
		"KP":      "khu phố",
		"BCH":     "Ban chỉ huy",
		"BTV":     "Ban thường vụ",
		"PCCC":    "phòng cháy chữa cháy",
		"PCTT":    "phòng chống thiên tai",
		"TKCN":    "tìm kiếm cứu nạn",
		"CNCH":    "cứu nạn cứu hộ",
		"KTTV":    "khí tượng thủy văn",
		"ATNĐ":    "áp thấp nhiệt đới",
		"ATGT":    "an toàn giao thông",
		"CSGT":    "cảnh sát giao thông",
		"CAND":    "công an nhân dân",
		"QĐND":    "quân đội nhân dân",
		"BHYT":    "bảo hiểm y tế",
		"BHXH":    "bảo hiểm xã hội",
		"CCCD":    "căn cước công dân",
		"SĐT":     "số điện thoại",
		"THCS":    "trung học cơ sở",
		"THPT":    "trung học phổ thông",
		"VN":      "Việt Nam",
	}
}

// units are read only right after a number ("200mm", "90 km/h").
var units = map[string]string{
	"km/h": "ki lô mét một giờ",
	"m/s":  "mét một giây",
	"km":   "ki lô mét",
	"cm":   "xen ti mét",
	"mm":   "mi li mét",
	"m":    "mét",
	"m3":   "mét khối",
	"m³":   "mét khối",
	"m2":   "mét vuông",
	"m²":   "mét vuông",
	"kg":   "ki lô gam",
	"ha":   "héc ta",
	"°C":   "độ C",
	"%":    "phần trăm",
	"đ":    "đồng",
	"VNĐ":  "đồng",
}

var unitKeys = sortedKeys(units)

var (
	reDateDMY = regexp.MustCompile(`^(\d{1,2})([/.-])(\d{1,2})([/.-])(\d{4})`)
	reDateDM  = regexp.MustCompile(`^(\d{1,2})/(\d{1,2})`)
	reTime    = regexp.MustCompile(`^(\d{1,2})(?:[hH](\d{2})?|:(\d{2}))`)
	reNumber  = regexp.MustCompile(`^(?:\d{1,3}(?:\.\d{3})+|\d+)(?:,\d+)?`)
	// A telephone number as written in Vietnam: 0989 123 456, 0236.3822.111.
	rePhone = regexp.MustCompile(`^0\d{2,3}[ .-]?\d{3,4}[ .-]?\d{3,4}`)
)

// Normalize returns text as it should be spoken, and each expansion it
// made, in order. Text it does not recognise is kept as written.
func Normalize(text string, opt Options) (string, []Expansion) {
	table := DefaultAbbreviations()
	for k, v := range opt.Abbreviations {
		if v == "" {
			delete(table, k)
		} else {
			table[k] = v
		}
	}
	abbrevs := sortedKeys(table)
	var out strings.Builder
	var exp []Expansion
	lastNumber := -1 // end offset of the last number spoken, for ranges
	for i := 0; i < len(text); {
		r, size := utf8.DecodeRuneInString(text[i:])
		if wordStart(text, i) {
			if span, said, ok := numeric(text, i, opt.Dialect); ok {
				out.WriteString(said)
				exp = append(exp, Expansion{At: i, From: text[i : i+span], To: said})
				i += span
				lastNumber = i
				continue
			}
			if span, said, ok := abbreviation(text, i, abbrevs, table); ok {
				out.WriteString(said)
				if !endsWord(text, i+span) {
					out.WriteByte(' ') // "Q.1" is "quận một"
				}
				exp = append(exp, Expansion{At: i, From: text[i : i+span], To: said})
				i += span
				continue
			}
		}
		// "14-15/9": a dash between two numbers is a range.
		if (r == '-' || r == '–') && lastNumber == i && i+size < len(text) && isDigit(text[i+size]) {
			out.WriteString(" đến ")
			exp = append(exp, Expansion{At: i, From: text[i : i+size], To: "đến"})
			i += size
			continue
		}
		out.WriteString(text[i : i+size])
		i += size
	}
	return out.String(), exp
}

// numeric reads a date, a time or a number (with its unit) at text[i:].
func numeric(text string, i int, d Dialect) (int, string, bool) {
	s := text[i:]
	if len(s) == 0 || !isDigit(s[0]) {
		return 0, "", false
	}
	if m := rePhone.FindString(s); m != "" && endsWord(text, i+len(m)) {
		return len(m), Digits(m), true
	}
	if m := reDateDMY.FindStringSubmatch(s); m != nil && m[2] == m[4] && endsWord(text, i+len(m[0])) {
		day, mon, year := atoi(m[1]), atoi(m[3]), atoi(m[5])
		if validDate(day, mon) {
			return len(m[0]), Number(uint64(day), d) + " tháng " + month(mon, d) + " năm " + Number(uint64(year), d), true
		}
	}
	if m := reDateDM.FindStringSubmatch(s); m != nil && endsWord(text, i+len(m[0])) {
		day, mon := atoi(m[1]), atoi(m[2])
		if validDate(day, mon) {
			return len(m[0]), Number(uint64(day), d) + " tháng " + month(mon, d), true
		}
	}
	if m := reTime.FindStringSubmatch(s); m != nil && endsWord(text, i+len(m[0])) {
		h, min := atoi(m[1]), m[2]+m[3]
		if h <= 24 && (min == "" || atoi(min) < 60) {
			said := Number(uint64(h), d) + " giờ"
			switch mm := atoi(min); {
			case min == "" || mm == 0:
			case mm < 10:
				said += " " + Number(uint64(mm), d) + " phút"
			default:
				said += " " + Number(uint64(mm), d)
			}
			return len(m[0]), said, true
		}
	}
	m := reNumber.FindString(s)
	if m == "" {
		return 0, "", false
	}
	intPart, frac, hasFrac := strings.Cut(m, ",")
	plain := strings.ReplaceAll(intPart, ".", "")
	var said string
	switch {
	case !hasFrac && intPart == plain && len(plain) > 1 && plain[0] == '0',
		len(plain) > 15:
		// A telephone number or a code: digit by digit.
		said = Digits(plain)
	default:
		n, _ := strconv.ParseUint(plain, 10, 64)
		said = Number(n, d)
		if hasFrac {
			f := strings.TrimLeft(frac, "0")
			said += " phẩy " + strings.Repeat("không ", len(frac)-len(f))
			if f != "" {
				if len(f) > 3 {
					said += Digits(f)
				} else {
					fn, _ := strconv.ParseUint(f, 10, 64)
					said += Number(fn, d)
				}
			}
			said = strings.TrimSpace(said)
		}
	}
	span := len(m)
	// A unit right after the number, or after one space.
	rest := s[span:]
	gap := 0
	if strings.HasPrefix(rest, " ") {
		gap = 1
	}
	for _, u := range unitKeys {
		if strings.HasPrefix(rest[gap:], u) && endsWord(text, i+span+gap+len(u)) {
			return span + gap + len(u), said + " " + units[u], true
		}
	}
	if !endsWord(text, i+span) {
		return 0, "", false // "3G", "A4": not a number to read
	}
	return span, said, true
}

// abbreviation matches the longest abbreviation of the table at text[i:].
func abbreviation(text string, i int, keys []string, table map[string]string) (int, string, bool) {
	s := text[i:]
	for _, k := range keys {
		if !strings.HasPrefix(s, k) {
			continue
		}
		end := i + len(k)
		if strings.HasSuffix(k, ".") {
			// "P. Bến Nghé", "Q.1", "TP.Huế": what follows must begin a
			// name or a number.
			if utf8.RuneCountInString(k) == 2 && !beforeName(text[end:]) {
				continue
			}
		} else if !endsWord(text, end) {
			continue
		}
		return len(k), table[k], true
	}
	return 0, "", false
}

// beforeName: the text (after optional spaces) starts with a capital letter
// or a digit.
func beforeName(s string) bool {
	s = strings.TrimLeft(s, " ")
	r, _ := utf8.DecodeRuneInString(s)
	return unicode.IsUpper(r) || unicode.IsDigit(r)
}

func wordStart(text string, i int) bool {
	if i == 0 {
		return true
	}
	r, _ := utf8.DecodeLastRuneInString(text[:i])
	return !unicode.IsLetter(r) && !unicode.IsDigit(r)
}

func endsWord(text string, i int) bool {
	if i >= len(text) {
		return true
	}
	r, _ := utf8.DecodeRuneInString(text[i:])
	return !unicode.IsLetter(r) && !unicode.IsDigit(r)
}

func validDate(day, mon int) bool { return day >= 1 && day <= 31 && mon >= 1 && mon <= 12 }

func isDigit(b byte) bool { return b >= '0' && b <= '9' }

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }

// sortedKeys: longest first, so "TP.HCM" wins over "TP." and "km/h" over "km".
func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(a, b int) bool {
		if len(keys[a]) != len(keys[b]) {
			return len(keys[a]) > len(keys[b])
		}
		return keys[a] < keys[b]
	})
	return keys
}
