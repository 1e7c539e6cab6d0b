package schedule

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// mapResolver knows media by name: its duration, or an error to return.
type mapResolver map[string]time.Duration

var errNoMedia = errors.New("no such file")

func (r mapResolver) Resolve(_, ref string) (Media, error) {
	d, ok := r[ref]
	if !ok {
		return Media{}, errNoMedia
	}
	return Media{Key: "sha256-" + ref, Duration: d}, nil
}

// mustLoad parses and resolves src (named path) and fails the test on any
// error; overlaps are not checked.
func mustLoad(t testing.TB, path, src string, r MediaResolver) *File {
	t.Helper()
	f, err := Parse(path, []byte(src))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if err := f.Resolve(r); err != nil {
		t.Fatalf("Resolve: %v", err)
	}
	return f
}

func mustZone(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func mustDate(t testing.TB, s string) Date {
	t.Helper()
	d, err := ParseDate(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// at builds a wall time in loc from "2006-01-02 15:04:05".
func at(t testing.TB, loc *time.Location, s string) time.Time {
	t.Helper()
	v, err := time.ParseInLocation("2006-01-02 15:04:05", s, loc)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// describe renders occurrences as "id HH:MM-HH:MM" lines in loc, the way an
// operator reads a timeline.
func describe(occ []Occurrence, loc *time.Location) string {
	var b strings.Builder
	for _, o := range occ {
		fmt.Fprintf(&b, "%s %s-%s\n", o.Program.ID, o.Start.In(loc).Format("2006-01-02 15:04"), o.End.In(loc).Format("15:04:05"))
	}
	return b.String()
}

// errorLines returns the lines of an ErrorList's text, failing if err is not
// an ErrorList.
func errorLines(t testing.TB, err error) []string {
	t.Helper()
	var list ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("error %v (%T) is not an ErrorList", err, err)
	}
	return strings.Split(list.Error(), "\n")
}
