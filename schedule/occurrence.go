package schedule

import (
	"fmt"
	"time"
)

// SegmentKind says what a segment of an occurrence plays.
type SegmentKind int

const (
	SegmentChime SegmentKind = iota
	SegmentItem
	SegmentRelay
)

func (k SegmentKind) String() string {
	switch k {
	case SegmentChime:
		return "chime"
	case SegmentItem:
		return "item"
	case SegmentRelay:
		return "relay"
	}
	return fmt.Sprintf("SegmentKind(%d)", int(k))
}

// Segment is one piece of an occurrence: the chime, an item, or the relay.
// Offset is from the start of the occurrence. Duration may be shorter than
// the media's when the program's duration cuts it.
type Segment struct {
	Kind     SegmentKind
	Media    *MediaRef // chime or item; nil for a relay
	URL      string    // relay
	Offset   time.Duration
	Duration time.Duration
}

// Occurrence is one airing of a program.
type Occurrence struct {
	Program *Program
	// Source is the name of the Source the program came from.
	Source     string
	Start, End time.Time

	// e is the schedule's entry for the program (rank, segments); nil for
	// an Occurrence built by hand. A pointer keeps Occurrence comparable.
	e *entry
}

// segments returns the program's segment layout, shared and read only.
func (o *Occurrence) segments() []Segment {
	if o.e != nil {
		return o.e.segs
	}
	if o.Program != nil {
		return segmentsOf(o.Program)
	}
	return nil
}

func (o *Occurrence) rank() int {
	if o.e != nil {
		return o.e.rank
	}
	return 0
}

func (o *Occurrence) src() int {
	if o.e != nil {
		return o.e.src
	}
	return 0
}

// Segments returns what the occurrence plays, in order: the chime, then the
// items back to back, the last one shortened (and later ones dropped) where
// the program's duration ends it. A relay is one segment lasting the
// duration, after the chime if there is one.
func (o Occurrence) Segments() []Segment {
	return append([]Segment(nil), o.segments()...)
}

// Locate finds the segment playing at offset from the start: its index in
// Segments and how far into it. ok is false outside the occurrence.
func (o Occurrence) Locate(offset time.Duration) (index int, within time.Duration, ok bool) {
	segs := o.segments()
	if offset < 0 {
		return 0, 0, false
	}
	// Few segments: a linear scan beats a binary search.
	for i, s := range segs {
		if offset < s.Offset+s.Duration {
			if offset < s.Offset {
				return 0, 0, false
			}
			return i, offset - s.Offset, true
		}
	}
	return 0, 0, false
}

// Length is how long the occurrence is on air if nothing cuts it.
func (o Occurrence) Length() time.Duration { return o.End.Sub(o.Start) }

// segmentsOf lays out a program's chime and items, or its relay.
func segmentsOf(p *Program) []Segment {
	var segs []Segment
	var off time.Duration
	limit := p.Duration // 0: no cap
	add := func(kind SegmentKind, m *MediaRef) {
		if limit > 0 && off >= limit {
			return
		}
		d := m.Duration
		if limit > 0 && off+d > limit {
			d = limit - off
		}
		segs = append(segs, Segment{Kind: kind, Media: m, Offset: off, Duration: d})
		off += d
	}
	if p.Chime != nil {
		add(SegmentChime, p.Chime)
	}
	if p.Relay != "" {
		if off < limit {
			segs = append(segs, Segment{Kind: SegmentRelay, URL: p.Relay, Offset: off, Duration: limit - off})
		}
		return segs
	}
	for i := range p.Items {
		add(SegmentItem, &p.Items[i])
	}
	return segs
}

// lengthOf is how long the program's occurrences last.
func lengthOf(p *Program) time.Duration {
	if p.Relay != "" {
		return p.Duration
	}
	var sum time.Duration
	if p.Chime != nil {
		sum += p.Chime.Duration
	}
	for _, m := range p.Items {
		sum += m.Duration
	}
	if p.Duration > 0 && sum > p.Duration {
		return p.Duration
	}
	return sum
}

// measured reports whether the program's length is known: a relay lasts its
// duration; items need their durations from the resolver.
func measured(p *Program) bool {
	if p.Relay != "" {
		return true
	}
	if p.Chime != nil && p.Chime.Key == "" {
		return false
	}
	for _, m := range p.Items {
		if m.Key == "" {
			return false
		}
	}
	return true
}

// beats reports whether o is preferred to x when both are on air: higher
// priority, then higher source rank, then the later start; then, for
// determinism, the earlier source and the earlier line.
func (o *Occurrence) beats(x *Occurrence) bool {
	if o.Program.Priority != x.Program.Priority {
		return o.Program.Priority > x.Program.Priority
	}
	if o.rank() != x.rank() {
		return o.rank() > x.rank()
	}
	if c := o.Start.Compare(x.Start); c != 0 {
		return c > 0
	}
	if o.src() != x.src() {
		return o.src() < x.src()
	}
	return o.Program.Line < x.Program.Line
}
