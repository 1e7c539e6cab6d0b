// Package vitext turns a written Vietnamese bulletin into the words a
// speech synthesiser should say: numbers, dates, times, percentages, units
// and the abbreviations of administrative writing ("UBND", "TP.", "P.",
// "PCCC"). espeak-ng reads "14/9" digit by digit and "UBND" letter by
// letter; a loudspeaker audience hears nonsense where the date of a storm
// should be. Normalize rewrites the text and lists each expansion, so the
// editor sees what will be spoken before it goes on air.
//
// The package is pure: no I/O, no clock. Regional readings (nghìn/ngàn,
// lẻ/linh) follow the voice chosen.
package vitext

import "strings"

// Dialect picks the regional readings of numbers.
type Dialect int

const (
	// North: "nghìn", "lẻ" (Hà Nội, the default of VOV).
	North Dialect = iota
	// South: "ngàn", "linh".
	South
)

var digits = [10]string{"không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín"}

// Number reads a non-negative integer the way a Vietnamese announcer
// does: 21 "hai mươi mốt", 105 "một trăm lẻ năm", 2026 "hai nghìn không
// trăm hai mươi sáu", 1 500 000 "một triệu năm trăm nghìn".
func Number(n uint64, d Dialect) string {
	if n == 0 {
		return digits[0]
	}
	return strings.Join(readNumber(n, d, false), " ")
}

// readNumber reads n > 0; inner is true when a higher group was spoken, so
// a group's zero hundreds are said ("một nghìn không trăm lẻ năm").
func readNumber(n uint64, d Dialect, inner bool) []string {
	const billion = 1_000_000_000
	var w []string
	if n >= billion {
		w = append(w, readNumber(n/billion, d, inner)...)
		w = append(w, "tỷ")
		n %= billion
		inner = true
		if n == 0 {
			return w
		}
	}
	groups := [3]uint64{n / 1_000_000, n / 1000 % 1000, n % 1000}
	names := [3]string{"triệu", thousand(d), ""}
	for i, g := range groups {
		if g == 0 {
			continue
		}
		w = append(w, readTriple(int(g), d, inner)...)
		if names[i] != "" {
			w = append(w, names[i])
		}
		inner = true
	}
	return w
}

func thousand(d Dialect) string {
	if d == South {
		return "ngàn"
	}
	return "nghìn"
}

// readTriple reads 1..999. full: the hundreds are said even when zero.
func readTriple(g int, d Dialect, full bool) []string {
	h, t, u := g/100, g/10%10, g%10
	var w []string
	if h > 0 || full {
		w = append(w, digits[h], "trăm")
	}
	switch {
	case t == 0 && u == 0:
	case t == 0:
		if len(w) > 0 {
			if d == South {
				w = append(w, "linh")
			} else {
				w = append(w, "lẻ")
			}
		}
		w = append(w, digits[u])
	case t == 1:
		w = append(w, "mười")
		if u == 5 {
			w = append(w, "lăm")
		} else if u > 0 {
			w = append(w, digits[u])
		}
	default:
		w = append(w, digits[t], "mươi")
		switch u {
		case 0:
		case 1:
			w = append(w, "mốt")
		case 4:
			w = append(w, "tư")
		case 5:
			w = append(w, "lăm")
		default:
			w = append(w, digits[u])
		}
	}
	return w
}

// Digits reads a string of digits one by one: telephone numbers and codes.
func Digits(s string) string {
	w := make([]string, 0, len(s))
	for _, r := range s {
		if r >= '0' && r <= '9' {
			w = append(w, digits[r-'0'])
		}
	}
	return strings.Join(w, " ")
}

// month reads a month number: April is "tư", never "bốn".
func month(m int, d Dialect) string {
	if m == 4 {
		return "tư"
	}
	return Number(uint64(m), d)
}
