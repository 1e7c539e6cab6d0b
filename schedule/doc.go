// Package schedule reads program files and answers, for a station, what is on
// air at any instant.
//
// It is pure: no clock, no storage, no audio. Callers pass "now" in, and a
// MediaResolver tells it how long each media file lasts. Everything is
// computed from the wall clock in the program file's time zone, so that the
// answer to "what plays at t" never depends on when the process started or on
// how the machine's clock jumped (a Pi without RTC jumps at boot).
//
// Cron specs are parsed by github.com/robfig/cron/v3 (5 fields; the
// crontab(5) descriptors @daily … are read here), and the day fields are
// then marked as Vixie cron marks them: "*/2" is a star, so "0 8 */2 * 1" is
// odd days that are Mondays, not odd days or Mondays (robfig's reading).
// Day of week 7 is refused ("Thứ 7" is Saturday). Occurrences are then
// enumerated day by day from the parsed fields rather than by chaining
// SpecSchedule.Next, for two reasons:
//
//   - DST: Next skips a wall time that falls in a spring-forward gap and fires
//     twice in a fall-back hour. Here a wall time in a gap is shifted forward
//     by the jump (what time.Date does), and a repeated wall time fires once,
//     at its first instant. Vietnam has no DST; stations elsewhere might.
//   - Speed: checking a year of overlaps for a "* * * * *" program is half a
//     million occurrences; day-wise enumeration costs a few nanoseconds each.
//
// Away from DST transitions the enumeration equals chaining Next (a test
// checks this against robfig's own Next on the Vixie-marked fields,
// day-of-month/day-of-week rules included).
package schedule

import (
	"sync"
	"time"

	// The embedded zone database: a Pi image without tzdata still knows
	// Asia/Ho_Chi_Minh.
	_ "time/tzdata"
)

// DefaultTimezone is the zone of a program file that names none.
const DefaultTimezone = "Asia/Ho_Chi_Minh"

var defaultLocation = sync.OnceValue(func() *time.Location {
	loc, err := time.LoadLocation(DefaultTimezone)
	if err != nil {
		// Cannot happen with time/tzdata linked in.
		panic("schedule: " + err.Error())
	}
	return loc
})

// DefaultLocation returns the Asia/Ho_Chi_Minh zone. It never returns the
// machine's local zone.
func DefaultLocation() *time.Location { return defaultLocation() }
