package schedule

import (
	"errors"
	"fmt"
	"math/bits"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// cronParser accepts exactly the five classic fields and no seconds.
// Descriptors are read by parseCron itself (the Vixie ones only).
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow)

// starBit is robfig's marker for a day field written as "*": when the
// day-of-month or day-of-week field is a star, a day must match both;
// otherwise it must match either (classic cron's OR rule). parseCron sets
// it the way Vixie cron does (see vixieStars); robfig's own marking differs.
const starBit = 1 << 63

// descriptors are the crontab(5) shorthands of Vixie cron, as 5 fields.
var descriptors = map[string]string{
	"@yearly":   "0 0 1 1 *",
	"@annually": "0 0 1 1 *",
	"@monthly":  "0 0 1 * *",
	"@weekly":   "0 0 * * 0",
	"@daily":    "0 0 * * *",
	"@midnight": "0 0 * * *",
	"@hourly":   "0 * * * *",
}

// Messages for what cron as people know it has and loa refuses.
const (
	rebootMsg = "@reboot không dùng được: đài phát theo giờ, không theo lúc khởi động; " +
		"khi khởi động lại, chương trình đang giờ phát được phát tiếp (xem late) / " +
		"@reboot is refused: a station plays by the clock, not by when it started; " +
		"after a restart the program the clock says is on air plays (see late)"
	everyMsg = "@every không phải cú pháp cron: nó đếm từ lúc chương trình chạy, không theo giờ; " +
		"viết 5 trường, ví dụ \"*/15 * * * *\" / " +
		"@every is not cron (it counts from when the process started, not by the clock); " +
		"write 5 fields, like \"*/15 * * * *\""
	unknownDescriptorMsg = "không biết %s; dùng @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly hoặc 5 trường / " +
		"unknown %s; use @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly or 5 fields"
	sundaySevenMsg = "thứ trong tuần 7 không dùng được: Chủ nhật = 0, Thứ 2 = 1, …, Thứ 7 = 6 / " +
		"day of week 7 is refused (in cron 7 is Sunday, but \"Thứ 7\" is Saturday): " +
		"write Sunday (Chủ nhật) as 0 and Saturday (Thứ 7) as 6"
)

// timing is when a program starts: either a parsed cron spec or a one-off.
type timing struct {
	spec *cron.SpecSchedule // nil for a one-off
	// One-off: the date and the wall time.
	date         Date
	hour, minute int
}

// parseCron parses a 5-field cron spec or a Vixie descriptor (@daily …).
// The day fields follow Vixie cron: see vixieStars. The error text is
// shown after `cron "SPEC"`.
func parseCron(spec string) (*cron.SpecSchedule, error) {
	s := strings.TrimSpace(spec)
	// robfig reads a TZ= prefix itself (and panics on "TZ=x" alone); the
	// zone belongs to the file.
	if strings.HasPrefix(s, "TZ=") || strings.HasPrefix(s, "CRON_TZ=") {
		return nil, errors.New("must not name a time zone; use the file's timezone")
	}
	if s == "" {
		return nil, errors.New("is empty")
	}
	if strings.HasPrefix(s, "@") {
		name := strings.ToLower(s)
		if i := strings.IndexAny(name, " \t"); i >= 0 {
			name = name[:i]
		}
		fields, ok := descriptors[name]
		switch {
		case name == "@reboot":
			return nil, errors.New(rebootMsg)
		case name == "@every":
			return nil, errors.New(everyMsg)
		case !ok:
			return nil, fmt.Errorf(unknownDescriptorMsg, name, name)
		case name != strings.ToLower(s):
			return nil, fmt.Errorf("%s không nhận gì thêm / %s takes nothing after it", name, name)
		}
		s = fields
	}
	fields := strings.Fields(s)
	if len(fields) == 5 && hasSeven(fields[4]) {
		return nil, errors.New(sundaySevenMsg)
	}
	sched, err := cronParser.Parse(s)
	if err != nil {
		return nil, err
	}
	ss, ok := sched.(*cron.SpecSchedule)
	if !ok {
		return nil, fmt.Errorf("is not a 5-field spec")
	}
	vixieStars(ss, fields[2], fields[4])
	if !firesSometime(ss) {
		return nil, errors.New("never fires")
	}
	return ss, nil
}

// vixieStars marks the day fields the way Vixie cron (and crontab(5))
// does: a field is a star when its text begins with "*" ("*", "*/2",
// "*,5"; robfig's "?" counts as "*"). A day then matches when both fields
// match if either is a star, and when either matches if neither is.
//
// robfig marks only "*" and "*/1": for it "*/2" is a restricted field, so
// "0 8 */2 * 1" fires on odd days OR Mondays (13 days in 21), where cron
// fires on odd Mondays (1 day in 21). Conversely "1,*" is a star to robfig
// and not to Vixie. Setting the marker here makes the day-wise enumeration,
// the overlap check and robfig's own Next agree with cron.
func vixieStars(s *cron.SpecSchedule, dom, dow string) {
	star := func(field string) bool {
		return strings.HasPrefix(field, "*") || strings.HasPrefix(field, "?")
	}
	s.Dom &^= starBit
	s.Dow &^= starBit
	if star(dom) {
		s.Dom |= starBit
	}
	if star(dow) {
		s.Dow |= starBit
	}
}

// hasSeven reports whether a day-of-week field names day 7, alone or as
// an end of a range ("7", "5-7", "1,7"; not a step like "*/7").
func hasSeven(field string) bool {
	for _, part := range strings.Split(field, ",") {
		rng, _, _ := strings.Cut(part, "/")
		for _, v := range strings.Split(rng, "-") {
			if v != "" && strings.TrimLeft(v, "0") == "7" {
				return true
			}
		}
	}
	return false
}

// firesSometime reports whether some real day matches. Only a restricted
// day-of-month with a star day-of-week can miss every day (0 0 30 2 *).
func firesSometime(s *cron.SpecSchedule) bool {
	if s.Dom&starBit != 0 || s.Dow&starBit == 0 {
		return true
	}
	for m := time.January; m <= time.December; m++ {
		if s.Month&(1<<uint(m)) == 0 {
			continue
		}
		for d := 1; d <= daysIn(2000, m); d++ { // 2000 is leap: Feb has 29
			if s.Dom&(1<<uint(d)) != 0 {
				return true
			}
		}
	}
	return false
}

// parseClock reads HH:MM (or H:MM), 00:00 to 23:59.
func parseClock(s string) (hour, minute int, ok bool) {
	h, m, found := strings.Cut(s, ":")
	if !found || len(h) < 1 || len(h) > 2 || len(m) != 2 {
		return 0, 0, false
	}
	hour, ok1 := digits(h)
	minute, ok2 := digits(m)
	if !ok1 || !ok2 || hour > 23 || minute > 59 {
		return 0, 0, false
	}
	return hour, minute, true
}

// compileTiming reads the program's Cron or Date/At.
func compileTiming(p *Program) (timing, error) {
	if p.Cron != "" {
		spec, err := parseCron(p.Cron)
		if err != nil {
			return timing{}, fmt.Errorf("cron %q: %w", p.Cron, err)
		}
		return timing{spec: spec}, nil
	}
	d, err := ParseDate(p.Date)
	if err != nil {
		return timing{}, err
	}
	h, m, ok := parseClock(p.At)
	if !ok {
		return timing{}, fmt.Errorf("at %q is not a time of day (want HH:MM)", p.At)
	}
	return timing{date: d, hour: h, minute: m}, nil
}

// matches reports whether the program may start on the local date d, whose
// day number (Date.days) is dn.
func (tm *timing) matches(d Date, dn int64) bool {
	if tm.spec == nil {
		return d == tm.date
	}
	s := tm.spec
	if s.Month&(1<<uint(d.Month)) == 0 {
		return false
	}
	domMatch := s.Dom&(1<<uint(d.Day)) != 0
	dowMatch := s.Dow&(1<<uint(weekday(dn))) != 0
	if s.Dom&starBit != 0 || s.Dow&starBit != 0 {
		return domMatch && dowMatch
	}
	return domMatch || dowMatch
}

// appendStarts appends the program's start instants on the local date d
// (day number dn) in z's zone, in increasing order, as Unix nanoseconds.
//
// On a day with a DST transition, a wall time in a spring-forward gap is
// shifted forward by the jump (02:30 becomes 03:30 in Europe/Berlin, as
// time.Date normalizes it), and a wall time that happens twice in a
// fall-back hour starts once, at the first instant. Starts that fall on the
// same instant are kept once.
func (tm *timing) appendStarts(dst []int64, d Date, dn int64, z *zoneDays) []int64 {
	if !tm.matches(d, dn) {
		return dst
	}
	loc := z.loc
	if tm.spec == nil {
		return append(dst, wallInstant(d, tm.hour, tm.minute, loc).UnixNano())
	}
	hours := tm.spec.Hour &^ starBit
	minutes := tm.spec.Minute &^ starBit
	start := len(dst)
	if base, ok := z.uniform(d, dn); ok {
		for h := hours; h != 0; h &= h - 1 {
			hour := int64(bits.TrailingZeros64(h))
			for m := minutes; m != 0; m &= m - 1 {
				minute := int64(bits.TrailingZeros64(m))
				dst = append(dst, base+(hour*60+minute)*int64(time.Minute))
			}
		}
		return dst
	}
	for h := hours; h != 0; h &= h - 1 {
		hour := bits.TrailingZeros64(h)
		for m := minutes; m != 0; m &= m - 1 {
			dst = append(dst, wallInstant(d, hour, bits.TrailingZeros64(m), loc).UnixNano())
		}
	}
	// A shifted gap time can land after, or on, a later wall time.
	day := dst[start:]
	sortInt64(day)
	n := 0
	for i, v := range day {
		if i == 0 || v != day[n-1] {
			day[n] = v
			n++
		}
	}
	return dst[:start+n]
}

func sortInt64(s []int64) {
	// Insertion sort: the slice is already sorted except for a few shifted
	// gap times on a DST day.
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// zoneDays answers, per local date in one zone, whether the whole day has
// one UTC offset (so that wall time h:m is midnight + h:m) and when its
// midnight is. Every program of a file asks this of the same days; a
// zoneDays made for a range of dates remembers the answers. It is not safe
// for concurrent use.
type zoneDays struct {
	loc  *time.Location
	base int64 // days() of the first remembered date
	info []dayInfo
}

type dayInfo struct {
	midnight int64 // Unix nanoseconds
	state    uint8 // 0 not yet known, 1 one offset all day, 2 a transition
}

// newZoneDays remembers the days from first to last; outside them it
// computes each time.
func newZoneDays(loc *time.Location, first, last Date) *zoneDays {
	n := max(0, last.days()-first.days()+1)
	return &zoneDays{loc: loc, base: first.days(), info: make([]dayInfo, n)}
}

func (z *zoneDays) uniform(d Date, dn int64) (midnight int64, ok bool) {
	i := dn - z.base
	if i < 0 || i >= int64(len(z.info)) {
		return uniformDay(d, z.loc)
	}
	if z.info[i].state == 0 {
		m, ok := uniformDay(d, z.loc)
		z.info[i].midnight, z.info[i].state = m, 2
		if ok {
			z.info[i].state = 1
		}
	}
	return z.info[i].midnight, z.info[i].state == 1
}

// uniformDay returns the local midnight of d when the whole day has one UTC
// offset.
func uniformDay(d Date, loc *time.Location) (int64, bool) {
	midnight := d.Midnight(loc)
	if midnight.Hour() != 0 || midnight.Minute() != 0 {
		return 0, false // midnight fell in a gap
	}
	_, end := midnight.ZoneBounds()
	if end.IsZero() || !end.Before(midnight.Add(24*time.Hour)) {
		return midnight.UnixNano(), true
	}
	return 0, false
}

// wallInstant returns the instant the clock in loc shows h:m on d: a time in
// a gap is shifted forward by the jump; a repeated time gives its first
// instant.
func wallInstant(d Date, h, m int, loc *time.Location) time.Time {
	t := time.Date(d.Year, d.Month, d.Day, h, m, 0, 0, loc)
	if t.Hour() != h || t.Minute() != m {
		return t // in a gap: time.Date shifted it forward
	}
	// If the clock went back shortly before t, the same wall time may have
	// happened earlier, under the previous offset.
	start, _ := t.ZoneBounds()
	if start.IsZero() {
		return t
	}
	_, off := t.Zone()
	_, prevOff := start.Add(-time.Nanosecond).Zone()
	if prevOff <= off {
		return t
	}
	earlier := t.Add(-time.Duration(prevOff-off) * time.Second)
	if earlier.Before(start) {
		y, mo, dd := earlier.Date()
		if y == d.Year && mo == d.Month && dd == d.Day && earlier.Hour() == h && earlier.Minute() == m {
			return earlier
		}
	}
	return t
}

// startIter yields a program's starts in increasing order, day by day, from
// a first local date up to a last one.
type startIter struct {
	tm    *timing
	z     *zoneDays
	day   Date  // next date to expand
	dn    int64 // its day number
	lastN int64 // day number of the last date to expand
	buf   []int64
	i     int
	prev  int64 // last start yielded; starts never repeat or go back
	any   bool
}

func newStartIter(tm *timing, z *zoneDays, first, last Date) *startIter {
	it := &startIter{tm: tm, z: z, day: first, dn: first.days(), lastN: last.days()}
	if tm.spec == nil {
		// A one-off: expand its single day directly.
		it.day, it.dn = tm.date, tm.date.days()
		if tm.date.Before(first) || last.Before(tm.date) {
			it.lastN = it.dn - 1
		} else {
			it.lastN = it.dn
		}
	}
	return it
}

// next returns the next start, or false when the range is exhausted.
func (it *startIter) next() (int64, bool) {
	for {
		for it.i < len(it.buf) {
			v := it.buf[it.i]
			it.i++
			if it.any && v <= it.prev {
				continue
			}
			it.prev, it.any = v, true
			return v, true
		}
		if it.dn > it.lastN {
			return 0, false
		}
		it.buf = it.tm.appendStarts(it.buf[:0], it.day, it.dn, it.z)
		it.i = 0
		it.advance()
	}
}

// advance moves to the next date, skipping whole months the spec excludes.
func (it *startIter) advance() {
	d := it.day
	next := d.next()
	if s := it.tm.spec; s != nil && next.Month != d.Month && s.Month&(1<<uint(next.Month)) == 0 {
		for n := 0; n < 12 && s.Month&(1<<uint(next.Month)) == 0; n++ {
			next = Date{next.Year, next.Month, daysIn(next.Year, next.Month)}.next()
		}
		it.day, it.dn = next, next.days()
		return
	}
	it.day, it.dn = next, it.dn+1
}
