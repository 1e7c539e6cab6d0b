package schedule

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// Resolve asks r for every media reference of the file (each distinct
// reference once) and fills in Key and Duration. Failures are returned as an
// ErrorList: "FILE:LINE: media REF: <resolver's error>".
func (f *File) Resolve(r MediaResolver) error {
	type result struct {
		m   Media
		err error
	}
	base := filepath.Dir(f.Path)
	seen := make(map[string]result)
	var errs ErrorList
	for _, p := range f.Programs {
		p.mediaRefs(func(ref *MediaRef) {
			res, ok := seen[ref.Ref]
			if !ok {
				res.m, res.err = r.Resolve(base, ref.Ref)
				if res.err == nil && res.m.Key == "" {
					res.err = errors.New("the resolver gave no key")
				}
				seen[ref.Ref] = res
			}
			if res.err != nil {
				errs = append(errs, &Error{File: f.Path, Line: ref.Line, Msg: fmt.Sprintf("media %s: %v", ref.Ref, res.err), Err: res.err})
				return
			}
			ref.Key, ref.Duration = res.m.Key, res.m.Duration
		})
	}
	return errs.err()
}

// OverlapWindow is how far ahead CheckOverlaps looks.
const OverlapWindow = 366 * 24 * time.Hour

// CheckOverlaps reports every pair of programs of equal priority whose
// occurrences overlap in [from, from+366 days), at its first clash (the
// first start, in that window, of an occurrence while another is on air),
// at the line of the later program in the file. A program that overlaps its own
// next occurrence is reported too. Programs of different priorities may
// overlap: the higher cuts the lower.
//
// It needs the media durations (Resolve first); programs whose length is
// not known, or that Parse found errors in, are left out.
func (f *File) CheckOverlaps(from time.Time) error {
	loc := f.Location
	if loc == nil {
		loc = DefaultLocation()
	}
	type cand struct {
		p      *Program
		tm     timing
		length int64
	}
	var cands []*cand
	var maxLen int64
	for _, p := range f.Programs {
		if p.invalid || !measured(p) {
			continue
		}
		tm, err := compileTiming(p)
		if err != nil {
			continue
		}
		c := &cand{p: p, tm: tm, length: int64(lengthOf(p))}
		if c.length <= 0 {
			continue // never on air, cannot clash
		}
		cands = append(cands, c)
		maxLen = max(maxLen, c.length)
	}
	if len(cands) == 0 {
		return nil
	}

	// Occurrences starting before from may still be on air at from.
	lo := from.UnixNano() - maxLen
	hi := from.Add(OverlapWindow).UnixNano()
	first := DateOf(time.Unix(0, lo).In(loc)).AddDays(-1)
	last := DateOf(time.Unix(0, hi).In(loc))

	// Merge every program's starts in time order.
	h := make(occHeap, 0, len(cands))
	z := newZoneDays(loc, first, last)
	for i, c := range cands {
		it := newStartIter(&c.tm, z, first, last)
		for {
			s, ok := it.next()
			if !ok {
				break
			}
			if s >= lo {
				h = append(h, occHead{start: s, idx: i, it: it})
				break
			}
		}
	}
	h.init()

	// Per priority, the occurrence that ends last so far: any later start
	// before that end is a clash.
	type running struct {
		prio Priority
		end  int64
		c    *cand
	}
	var latest []*running // one per priority seen; there are few
	type pair struct{ a, b *Program }
	reported := make(map[pair]bool)
	var errs ErrorList
	for len(h) > 0 {
		head := &h[0]
		c := cands[head.idx]
		start, end := head.start, head.start+c.length
		if start >= hi {
			break
		}
		var r *running
		for _, l := range latest {
			if l.prio == c.p.Priority {
				r = l
				break
			}
		}
		if r == nil {
			r = &running{prio: c.p.Priority}
			latest = append(latest, r)
		}
		if r.c != nil && start < r.end && start >= from.UnixNano() {
			a, b := r.c.p, c.p
			if b.Line < a.Line {
				a, b = b, a
			}
			if !reported[pair{a, b}] {
				reported[pair{a, b}] = true
				clash := clashText(time.Unix(0, start).In(loc), time.Unix(0, min(r.end, end)).In(loc), loc)
				if a == b {
					errs = append(errs, &Error{File: f.Path, Line: a.Line, Msg: fmt.Sprintf(
						"program %q (line %d) overlaps its own next occurrence on %s", a.ID, a.Line, clash)})
				} else {
					errs = append(errs, &Error{File: f.Path, Line: b.Line, Msg: fmt.Sprintf(
						"programs %q (line %d) and %q (line %d) overlap on %s", a.ID, a.Line, b.ID, b.Line, clash)})
				}
			}
		}
		if end > r.end || r.c == nil {
			r.end, r.c = end, c
		}
		if s, ok := head.it.next(); ok {
			head.start = s
		} else {
			h[0] = h[len(h)-1]
			h = h[:len(h)-1]
		}
		h.down(0)
	}
	return errs.err()
}

// clashText formats a clash as "2026-12-01 05:30–05:45 (Asia/Ho_Chi_Minh)".
func clashText(from, to time.Time, loc *time.Location) string {
	s := from.Format("2006-01-02 ") + clock(from) + "–"
	if DateOf(to) != DateOf(from) {
		s += to.Format("2006-01-02 ")
	}
	return s + clock(to) + " (" + loc.String() + ")"
}

// clock formats HH:MM, with seconds only when there are some.
func clock(t time.Time) string {
	if t.Second() != 0 {
		return t.Format("15:04:05")
	}
	return t.Format("15:04")
}

type occHead struct {
	start int64
	idx   int
	it    *startIter
}

// occHeap is a min-heap of program iterators by next start (then by
// program order, so that results are deterministic).
type occHeap []occHead

func (h occHeap) less(i, j int) bool {
	if h[i].start != h[j].start {
		return h[i].start < h[j].start
	}
	return h[i].idx < h[j].idx
}

func (h occHeap) init() {
	for i := len(h)/2 - 1; i >= 0; i-- {
		h.down(i)
	}
}

// down restores the heap order below i after h[i] grew.
func (h occHeap) down(i int) {
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		m := l
		if r := l + 1; r < len(h) && h.less(r, l) {
			m = r
		}
		if !h.less(m, i) {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}

// Prefetcher is a MediaResolver that can fetch a file's media all at once
// before they are resolved one by one (the agent ingests them on all
// cores). An error from Prefetch stops the load as it is (the load was
// interrupted, say): no File, that error.
type Prefetcher interface {
	Prefetch(baseDir string, refs []string) error
}

// LoadFile reads, parses, resolves and checks a program file, reporting all
// problems together where it can: field errors, media errors and overlaps
// (from now on). Any problem means no File. The file is read once; the
// bytes checked are in File.Body, so that what is stored is what was
// checked.
//
// It is the one way a program file is loaded at a ward: `loa-agent program
// load`, its --check and render all go through it; the city loads the
// files it is sent through Load, the same steps on bytes in hand.
func LoadFile(path string, r MediaResolver, now time.Time) (*File, error) {
	data, err := ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Load(path, data, r, now)
}

// Load parses, resolves and checks the program file data (named path in
// messages): every problem together, sorted by line, and no File if there
// is any. checks are more rules of the caller's (the city's time zone),
// run on the file as parsed, their problems among the others.
func Load(path string, data []byte, r MediaResolver, now time.Time, checks ...func(*File) ErrorList) (*File, error) {
	f, err := Parse(path, data)
	var errs ErrorList
	if err != nil {
		var list ErrorList
		if !errors.As(err, &list) || f == nil {
			return nil, err
		}
		errs = append(errs, list...)
	}
	for _, check := range checks {
		errs = append(errs, check(f)...)
	}
	if pf, ok := r.(Prefetcher); ok {
		if err := pf.Prefetch(filepath.Dir(path), f.mediaRefList()); err != nil {
			return nil, err
		}
	}
	if err := f.Resolve(r); err != nil {
		errs = append(errs, err.(ErrorList)...)
	}
	if err := f.CheckOverlaps(now); err != nil {
		errs = append(errs, err.(ErrorList)...)
	}
	if len(errs) > 0 {
		return nil, errs.err()
	}
	f.Body = data
	return f, nil
}

// mediaRefList lists the distinct media references of the file, in file
// order.
func (f *File) mediaRefList() []string {
	var refs []string
	seen := map[string]bool{}
	for _, p := range f.Programs {
		p.mediaRefs(func(ref *MediaRef) {
			if !seen[ref.Ref] {
				seen[ref.Ref] = true
				refs = append(refs, ref.Ref)
			}
		})
	}
	return refs
}

// ReadFile reads a program file, reading no more than MaxFileSize (and a
// byte) of it: a huge file is refused before it fills the memory. Errors
// are an ErrorList naming the file.
func ReadFile(path string) ([]byte, error) {
	fail := func(err error) ([]byte, error) {
		msg := err.Error()
		var pe *fs.PathError
		if errors.As(err, &pe) {
			msg = pe.Err.Error()
		}
		return nil, ErrorList{{File: path, Msg: "cannot read: " + msg, Err: err}}
	}
	f, err := os.Open(path)
	if err != nil {
		return fail(err)
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() && st.Size() > MaxFileSize {
		return nil, ErrorList{{File: path, Line: 1, Msg: tooLargeMsg(st.Size())}}
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return fail(err)
	}
	if len(data) > MaxFileSize {
		return nil, ErrorList{{File: path, Line: 1, Msg: tooLargeMsg(int64(len(data)))}}
	}
	return data, nil
}
