package schedule

import (
	"errors"
	"slices"
	"time"
)

// ErrMoveCron: a program written as a cron line the form cannot say is
// not moved by dragging; its cron is edited instead.
var ErrMoveCron = errors.New("this program is a cron line: change it in the form's advanced field")

// MoveSpec moves the occurrence of s on day from to day to at HH:MM: a
// one-off program takes the new date; a weekly one the new time, and the
// day it left is replaced by the day it lands on. The result goes through
// SetProgram and the file's checks like any edit.
func MoveSpec(s ProgramSpec, from, to Date, at string) (ProgramSpec, error) {
	if _, _, err := hourMinute(at); err != nil {
		return s, err
	}
	switch {
	case s.Date != "":
		s.Date = to.String()
	case len(s.Days) > 0:
		days := slices.DeleteFunc(slices.Clone(s.Days), func(d time.Weekday) bool { return d == from.Weekday() })
		if !slices.Contains(days, to.Weekday()) {
			days = append(days, to.Weekday())
		}
		slices.Sort(days)
		s.Days = days
	default:
		return s, ErrMoveCron
	}
	s.At = at
	return s, nil
}
