package schedule

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
)

// Error is one problem in a program file, located by line (1-based; 0 when
// the problem concerns the whole file, such as an unreadable file).
type Error struct {
	File string
	Line int
	Msg  string
	// Err is the underlying error, if any (a resolver's or the file
	// system's), so that callers can use errors.Is.
	Err error
}

// Error formats the problem as FILE:LINE: message.
func (e *Error) Error() string {
	if e.Line <= 0 {
		return e.File + ": " + e.Msg
	}
	return e.File + ":" + strconv.Itoa(e.Line) + ": " + e.Msg
}

func (e *Error) Unwrap() error { return e.Err }

// ErrorList is every problem found in a file, sorted by line.
type ErrorList []*Error

// Error joins the problems, one a line.
func (l ErrorList) Error() string {
	var b strings.Builder
	for i, e := range l {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Unwrap lets errors.Is and errors.As look at every problem.
func (l ErrorList) Unwrap() []error {
	errs := make([]error, len(l))
	for i, e := range l {
		errs[i] = e
	}
	return errs
}

// sort orders the list by line, keeping the order of discovery within a line.
func (l ErrorList) sort() {
	slices.SortStableFunc(l, func(a, b *Error) int { return cmp.Compare(a.Line, b.Line) })
}

// err returns the list as an error, or nil when it is empty.
func (l ErrorList) err() error {
	if len(l) == 0 {
		return nil
	}
	l.sort()
	return l
}
