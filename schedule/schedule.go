package schedule

import (
	"cmp"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Source is a program file and where it came from. Between programs of equal
// priority, the higher Rank wins (city over local).
type Source struct {
	Name string
	Rank int
	File *File
}

// Schedule answers what is on air when. It is immutable and safe for
// concurrent use; day timelines are computed on demand and cached.
type Schedule struct {
	loc     *time.Location
	entries []entry
	// maxLen is the longest occurrence: how far back At must look.
	maxLen time.Duration

	// days caches day timelines by Date.days(). Readers load the map
	// without locking; a writer copies it (it is small), adds a day and
	// swaps it in, under mu.
	mu   sync.Mutex
	days atomic.Pointer[map[int64]*day]
}

// entry is a program ready to be scheduled.
type entry struct {
	prog   *Program
	source string
	rank   int
	src    int
	tm     timing
	loc    *time.Location // the program file's zone
	length time.Duration
	segs   []Segment
}

// day is the cached timeline of one station day.
type day struct {
	occ []Occurrence // sorted by start
}

// dayCacheSize bounds the cache: a daemon asks about today, yesterday and
// tomorrow; a preview may wander, and then the farthest day goes.
const dayCacheSize = 16

// New builds the schedule of a station whose days begin at midnight in loc
// (nil: Asia/Ho_Chi_Minh). Each program keeps its own file's zone. Programs
// Parse found errors in, and programs whose timing does not parse (possible
// only for a Program built by hand), are left out. The files must not be
// changed afterwards.
func New(loc *time.Location, sources ...Source) *Schedule {
	if loc == nil {
		loc = DefaultLocation()
	}
	s := &Schedule{loc: loc}
	s.days.Store(&map[int64]*day{})
	for i, src := range sources {
		if src.File == nil {
			continue
		}
		floc := src.File.Location
		if floc == nil {
			floc = DefaultLocation()
		}
		for _, p := range src.File.Programs {
			if p.invalid {
				continue
			}
			tm, err := compileTiming(p)
			if err != nil {
				continue
			}
			e := entry{prog: p, source: src.Name, rank: src.Rank, src: i, tm: tm, loc: floc,
				length: lengthOf(p), segs: segmentsOf(p)}
			s.entries = append(s.entries, e)
			s.maxLen = max(s.maxLen, e.length)
		}
	}
	return s
}

// Location is the station's zone.
func (s *Schedule) Location() *time.Location { return s.loc }

// Timeline returns the occurrences that start on the station's date d,
// sorted by start (then by precedence). Occurrences that will be cut or
// never air are included; see At and Displaced.
func (s *Schedule) Timeline(d Date) []Occurrence {
	return slices.Clone(s.day(d).occ)
}

// At returns what is on air at t and how far into it t is. Among the
// occurrences with Start ≤ t < End, the highest priority wins, then the
// higher source rank, then the later start. The offset is t − Start, so a
// program cut by a higher one resumes where the wall clock says once the
// higher one ends.
func (s *Schedule) At(t time.Time) (o Occurrence, offset time.Duration, ok bool) {
	var best *Occurrence
	last := DateOf(t.In(s.loc))
	for d := DateOf(t.Add(-s.maxLen).In(s.loc)); !last.Before(d); d = d.next() {
		occ := s.day(d).occ
		// The occurrences that start at or before t.
		n := searchAfter(occ, t)
		for i := n - 1; i >= 0; i-- {
			c := &occ[i]
			if t.Sub(c.Start) >= s.maxLen {
				break // started too long ago to be on air, as are those before
			}
			if t.Before(c.End) && (best == nil || c.beats(best)) {
				best = c
			}
		}
	}
	if best == nil {
		return Occurrence{}, 0, false
	}
	return *best, t.Sub(best.Start), true
}

// searchAfter returns the index of the first occurrence starting after t.
func searchAfter(occ []Occurrence, t time.Time) int {
	lo, hi := 0, len(occ)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if !t.Before(occ[m].Start) {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// Next returns the next n occurrences that start after t, in order of start.
// It looks as far ahead as needed (29 February comes round within 8 years).
func (s *Schedule) Next(t time.Time, n int) []Occurrence {
	if n <= 0 || len(s.entries) == 0 {
		return nil
	}
	after := t.UnixNano()
	h := make(occHeap, 0, len(s.entries))
	zones := make(map[*time.Location]*zoneDays) // files share zones
	for i := range s.entries {
		e := &s.entries[i]
		first := DateOf(t.In(e.loc)).AddDays(-1)
		z := zones[e.loc]
		if z == nil {
			// Remember the days most calls need: a few weeks.
			z = newZoneDays(e.loc, first, first.AddDays(40))
			zones[e.loc] = z
		}
		it := newStartIter(&e.tm, z, first, first.AddDays(9*366))
		for {
			v, ok := it.next()
			if !ok {
				break
			}
			if v > after {
				h = append(h, occHead{start: v, idx: i, it: it})
				break
			}
		}
	}
	h.init()
	out := make([]Occurrence, 0, n)
	for len(h) > 0 && len(out) < n {
		head := &h[0]
		out = append(out, s.occurrence(&s.entries[head.idx], time.Unix(0, head.start)))
		if v, ok := head.it.next(); ok {
			head.start = v
		} else {
			h[0] = h[len(h)-1]
			h = h[:len(h)-1]
		}
		h.down(0)
	}
	return out
}

// Displaced returns the occurrences on date d that never air: for their
// whole length some occurrence that beats them is on air.
func (s *Schedule) Displaced(d Date) []Occurrence {
	today := s.day(d).occ
	if len(today) == 0 {
		return nil
	}
	// Everything that can be on air during the day's occurrences.
	var around []Occurrence
	lastEnd := today[0].End
	for _, o := range today {
		if o.End.After(lastEnd) {
			lastEnd = o.End
		}
	}
	for dd := DateOf(today[0].Start.Add(-s.maxLen).In(s.loc)); !DateOf(lastEnd.In(s.loc)).Before(dd); dd = dd.AddDays(1) {
		around = append(around, s.day(dd).occ...)
	}
	var out []Occurrence
	for i := range today {
		o := &today[i]
		if !o.Start.Before(o.End) {
			continue // never on air, but not because of another program
		}
		covered := o.Start
		// around is sorted by start: extend the covered prefix of o's span
		// with every occurrence that beats o.
		for j := range around {
			w := &around[j]
			if w.Start.After(covered) {
				break
			}
			if w.beats(o) && w.End.After(covered) {
				covered = w.End
			}
		}
		if !covered.Before(o.End) {
			out = append(out, *o)
		}
	}
	return out
}

// day returns the cached timeline of date d, computing it if needed.
func (s *Schedule) day(d Date) *day {
	key := d.days()
	if dy := (*s.days.Load())[key]; dy != nil {
		return dy
	}
	dy := s.build(d)
	s.mu.Lock()
	defer s.mu.Unlock()
	old := *s.days.Load()
	if cached := old[key]; cached != nil {
		return cached
	}
	days := make(map[int64]*day, len(old)+1)
	for k, v := range old {
		days[k] = v
	}
	if len(days) >= dayCacheSize {
		var far int64
		farDist := int64(-1)
		for k := range days {
			dist := k - key
			if dist < 0 {
				dist = -dist
			}
			if dist > farDist {
				far, farDist = k, dist
			}
		}
		delete(days, far)
	}
	days[key] = dy
	s.days.Store(&days)
	return dy
}

// build computes the occurrences starting on the station's date d.
func (s *Schedule) build(d Date) *day {
	from := d.Midnight(s.loc)
	to := d.AddDays(1).Midnight(s.loc)
	lo, hi := from.UnixNano(), to.UnixNano()
	var occ []Occurrence
	var starts []int64
	zones := make(map[*time.Location]*zoneDays) // files share zones
	for i := range s.entries {
		e := &s.entries[i]
		z := zones[e.loc]
		if z == nil {
			z = newZoneDays(e.loc, DateOf(from.In(e.loc)).AddDays(-1), DateOf(to.In(e.loc)))
			zones[e.loc] = z
		}
		// The file's dates that overlap the station's day; one more before,
		// since a time shifted out of a DST gap can cross midnight.
		first := DateOf(from.In(e.loc)).AddDays(-1)
		last := DateOf(to.In(e.loc))
		for fd := first; !last.Before(fd); fd = fd.AddDays(1) {
			starts = e.tm.appendStarts(starts[:0], fd, fd.days(), z)
			for _, v := range starts {
				if v >= lo && v < hi {
					occ = append(occ, s.occurrence(e, time.Unix(0, v)))
				}
			}
		}
	}
	slices.SortFunc(occ, func(a, b Occurrence) int {
		if c := a.Start.Compare(b.Start); c != 0 {
			return c
		}
		if a.beats(&b) {
			return -1
		}
		if b.beats(&a) {
			return 1
		}
		return cmp.Compare(a.Program.Line, b.Program.Line)
	})
	// The same program at the same instant (a DST-shifted time crossing
	// midnight) airs once.
	occ = slices.CompactFunc(occ, func(a, b Occurrence) bool {
		return a.Program == b.Program && a.Start.Equal(b.Start)
	})
	return &day{occ: slices.Clip(occ)}
}

func (s *Schedule) occurrence(e *entry, start time.Time) Occurrence {
	start = start.In(s.loc)
	return Occurrence{Program: e.prog, Source: e.source, Start: start, End: start.Add(e.length), e: e}
}
