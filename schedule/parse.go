package schedule

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// maxDuration bounds a program's duration: a program longer than a day is a
// typo (1000h for 1000m), and the bound keeps "what is on air at t" a look at
// the last day or two.
const maxDuration = 24 * time.Hour

// Limits of a program file. A station's day is a few dozen programs of a
// few dozen items; these are far above that and far below what a Pi Zero 2
// W (512 MB) can hold while reading YAML (about 40 bytes of memory per
// byte of file): a 10 MB file of 124,829 programs took 415 MB.
const (
	// MaxFileSize is the largest program file, in bytes (the city's
	// upload limit too).
	MaxFileSize = 1 << 20
	// MaxPrograms is the most programs in a file.
	MaxPrograms = 1000
	// MaxItems is the most media in one program's items (or fallback).
	MaxItems = 1000
	// MaxMediaRefs is the most media references in a file, chimes,
	// items and fallbacks together (aliases count each time they are
	// used).
	MaxMediaRefs = 10000
)

var (
	topKeys     = []string{"timezone", "programs"}
	programKeys = []string{"id", "title", "cron", "date", "at", "duration", "relay", "fallback", "chime", "volume", "priority", "late", "items"}
	idPattern   = regexp.MustCompile(`^[a-z0-9-]+$`)
)

// Parse reads a program file: YAML syntax, keys and field rules. Media is
// not looked at (see Resolve) and overlaps are not checked (see
// CheckOverlaps).
//
// On error it returns an ErrorList with every problem found, sorted by line.
// The File is then still returned when the YAML could be read, holding what
// could be understood, so that LoadFile can report media problems in the
// same pass; it must not be scheduled.
func Parse(path string, data []byte) (*File, error) {
	p := &parser{file: path}
	if len(data) > MaxFileSize {
		p.errorf(1, "%s", tooLargeMsg(int64(len(data))))
		return nil, p.errs.err()
	}
	root := p.decode(data)
	if root == nil {
		return nil, p.errs.err()
	}
	f := p.topLevel(root)
	return f, p.errs.err()
}

type parser struct {
	file string
	errs ErrorList
	// refs counts media references against MaxMediaRefs.
	refs int
}

func tooLargeMsg(size int64) string {
	return fmt.Sprintf("tệp quá lớn / file too large: %d bytes, at most %d (%d MiB); split the programs over several files or targets", size, MaxFileSize, MaxFileSize>>20)
}

func (p *parser) errorf(line int, format string, args ...any) {
	if line < 1 {
		line = 1
	}
	p.errs = append(p.errs, &Error{File: p.file, Line: line, Msg: fmt.Sprintf(format, args...)})
}

// decode parses the YAML into a node tree, or reports why it cannot.
func (p *parser) decode(data []byte) (root *yaml.Node) {
	defer func() {
		// The YAML library has panicked on hostile input in the past; an
		// operator's file must never crash the agent.
		if r := recover(); r != nil {
			root = nil
			p.errorf(1, "invalid YAML: %v", r)
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			p.errorf(1, `file is empty; want a "programs:" list`)
		} else {
			p.yamlError(data, err)
		}
		return nil
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case errors.Is(err, io.EOF):
	case err != nil:
		p.yamlError(data, err)
		return nil
	default:
		p.errorf(extra.Line, "a second YAML document; a program file holds one")
		return nil
	}
	if len(doc.Content) == 0 {
		p.errorf(1, `file is empty; want a "programs:" list`)
		return nil
	}
	return doc.Content[0]
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// yamlError reports a syntax error at the line the YAML library names, or,
// for the errors it gives without one, at the line of the offending text.
func (p *parser) yamlError(data []byte, err error) {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		p.errorf(line, "invalid YAML: %s", m[2])
		return
	}
	msg = strings.TrimPrefix(msg, "yaml: ")
	line := 1
	switch {
	case strings.HasPrefix(msg, "control characters"):
		line = lineOf(data, bytes.IndexFunc(data, func(r rune) bool {
			return r < 0x20 && r != '\t' && r != '\n' && r != '\r' || r == 0x7f
		}))
	case strings.HasPrefix(msg, "invalid leading UTF-8") || strings.HasPrefix(msg, "invalid trailing UTF-8") || strings.HasPrefix(msg, "incomplete UTF-8"):
		line = lineOf(data, firstInvalidUTF8(data))
	case strings.HasPrefix(msg, "unknown anchor '"):
		name, _, _ := strings.Cut(strings.TrimPrefix(msg, "unknown anchor '"), "'")
		line = lineOf(data, bytes.Index(data, []byte("*"+name)))
	}
	p.errorf(line, "invalid YAML: %s", msg)
}

func lineOf(data []byte, off int) int {
	if off < 0 {
		return 1
	}
	return 1 + bytes.Count(data[:off], []byte("\n"))
}

func firstInvalidUTF8(data []byte) int {
	for i := 0; i < len(data); {
		r, n := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return -1
}

// field is one key of a mapping.
type field struct {
	key   *yaml.Node
	value *yaml.Node
}

// fields reads a mapping's keys, reporting unknown and repeated ones. where
// names the mapping in messages ("at top level", `in program "x"`).
func (p *parser) fields(m *yaml.Node, known []string, where func() string) map[string]field {
	out := make(map[string]field, len(m.Content)/2)
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], deref(m.Content[i+1])
		if k.Kind != yaml.ScalarNode {
			p.errorf(k.Line, "a key must be a name, %s", where())
			continue
		}
		name := k.Value
		if name == "<<" && k.Tag == "!!merge" {
			p.errorf(k.Line, "merge keys (<<) are not supported; write the keys out")
			continue
		}
		if !contains(known, name) {
			hint := ""
			if s := closest(name, known); s != "" {
				hint = fmt.Sprintf(" (did you mean %q?)", s)
			}
			p.errorf(k.Line, "unknown key %q %s%s", name, where(), hint)
			continue
		}
		if prev, dup := out[name]; dup {
			p.errorf(k.Line, "key %q repeated (first at line %d)", name, prev.key.Line)
			continue
		}
		out[name] = field{k, v}
	}
	return out
}

// deref follows an alias to the node it names.
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && n.Alias != nil && i < 8; i++ {
		n = n.Alias
	}
	return n
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// closest returns the known key within two edits of s (fewer for short
// names), if there is one.
func closest(s string, known []string) string {
	best, bestDist := "", min(3, (len(s)+1)/2)
	for _, k := range known {
		if d := editDistance(strings.ToLower(s), k); d < bestDist {
			best, bestDist = k, d
		}
	}
	return best
}

// editDistance is the optimal-string-alignment distance: insertions,
// deletions, substitutions and swaps of adjacent letters ("itmes") count one.
func editDistance(a, b string) int {
	if len(a) > 32 || len(b) > 32 {
		return 99
	}
	// d[i][j] is the distance between a[:i] and b[:j].
	var d [33][33]int
	for i := 0; i <= len(a); i++ {
		d[i][0] = i
	}
	for j := 0; j <= len(b); j++ {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}

// text returns a scalar's text; a null scalar (`key:` with nothing after
// it) is "". ok is false, with an error reported, for lists and mappings.
func (p *parser) text(f field) (string, bool) {
	v := f.value
	if v == nil || v.Kind != yaml.ScalarNode {
		p.errorf(f.key.Line, "%s must be a single value, not a %s", f.key.Value, kindName(v))
		return "", false
	}
	if v.Tag == "!!null" {
		return "", true
	}
	return v.Value, true
}

func kindName(n *yaml.Node) string {
	if n == nil {
		return "nothing"
	}
	switch n.Kind {
	case yaml.SequenceNode:
		return "list"
	case yaml.MappingNode:
		return "mapping"
	case yaml.AliasNode:
		return "alias"
	}
	return "value"
}

// topLevel reads the file's mapping: timezone and programs.
func (p *parser) topLevel(root *yaml.Node) *File {
	f := &File{Path: p.file, Location: DefaultLocation()}
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		p.errorf(root.Line, `file is empty; want a "programs:" list`)
		return f
	}
	if root.Kind != yaml.MappingNode {
		p.errorf(root.Line, `the file must be a mapping with a "programs:" list, not a %s`, kindName(root))
		return f
	}
	top := p.fields(root, topKeys, func() string { return "at top level" })
	if tz, ok := top["timezone"]; ok {
		if name, ok := p.text(tz); ok {
			if loc, err := loadLocation(name); err != nil {
				p.errorf(tz.value.Line, "%v", err)
			} else {
				f.Location = loc
			}
		}
	}
	progs, ok := top["programs"]
	if !ok {
		p.errorf(root.Line, `no "programs:" list`)
		return f
	}
	switch v := progs.value; {
	case v.Kind == yaml.ScalarNode && v.Tag == "!!null":
		// "programs:" with nothing: a file that clears the schedule.
	case v.Kind != yaml.SequenceNode:
		p.errorf(progs.key.Line, "programs must be a list, not a %s", kindName(v))
	case len(v.Content) > MaxPrograms:
		p.errorf(v.Content[MaxPrograms].Line, "quá nhiều chương trình / too many programs: %d, at most %d in a file", len(v.Content), MaxPrograms)
	default:
		firstLine := make(map[string]int)
		for i, n := range v.Content {
			if prog := p.program(deref(n), i+1, firstLine); prog != nil {
				f.Programs = append(f.Programs, prog)
			}
		}
	}
	return f
}

// loadLocation loads a zone by its IANA name. "Local" (the machine's zone)
// is refused: a station's schedule must not depend on how its OS is set up.
func loadLocation(name string) (*time.Location, error) {
	if name == "" || name == "Local" {
		return nil, fmt.Errorf("unknown time zone %q (want an IANA name like %s)", name, DefaultTimezone)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("unknown time zone %q", name)
	}
	return loc, nil
}

// program reads one program mapping. n is its 1-based position in the list.
func (p *parser) program(m *yaml.Node, n int, firstLine map[string]int) *Program {
	nerr := len(p.errs)
	if m.Kind != yaml.MappingNode {
		p.errorf(m.Line, "program %d must be a mapping (id:, cron:, items: …), not a %s", n, kindName(m))
		return nil
	}
	prog := &Program{Line: m.Line, Volume: 100}
	// The id names the program in messages about its other keys, so read it
	// first.
	for i := 0; i+1 < len(m.Content); i += 2 {
		if k, v := m.Content[i], deref(m.Content[i+1]); k.Value == "id" && v.Kind == yaml.ScalarNode && prog.ID == "" {
			prog.ID = v.Value
		}
	}
	name := func() string {
		if prog.ID != "" && idPattern.MatchString(prog.ID) {
			return fmt.Sprintf("program %q", prog.ID)
		}
		return fmt.Sprintf("program %d", n)
	}
	fs := p.fields(m, programKeys, func() string { return "in " + name() })

	if f, ok := fs["id"]; !ok {
		p.errorf(m.Line, "%s has no id", name())
	} else if id, ok := p.text(f); ok {
		switch {
		case id == "":
			p.errorf(f.key.Line, "%s has no id", name())
		case !idPattern.MatchString(id):
			p.errorf(f.value.Line, "id %q must be lowercase letters a-z, digits and '-'", id)
		case firstLine[id] != 0:
			p.errorf(f.value.Line, "duplicate id %q (first at line %d)", id, firstLine[id])
		default:
			firstLine[id] = m.Line
		}
	}
	if f, ok := fs["title"]; ok {
		prog.Title, _ = p.text(f)
	}

	// When it starts.
	cronF, hasCron := fs["cron"]
	dateF, hasDate := fs["date"]
	atF, hasAt := fs["at"]
	switch {
	case hasCron && (hasDate || hasAt):
		other := dateF
		if !hasDate {
			other = atF
		}
		p.errorf(other.key.Line, "%s has both cron and %s; use cron, or date with at", name(), other.key.Value)
	case hasCron:
		if s, ok := p.text(cronF); ok {
			prog.Cron = s
			if _, err := parseCron(s); err != nil {
				p.errorf(cronF.value.Line, "bad cron %q: %v", s, err)
			}
		}
	case hasDate && hasAt:
		if s, ok := p.text(dateF); ok {
			prog.Date = s
			if _, err := ParseDate(s); err != nil {
				p.errorf(dateF.value.Line, "%v", err)
			}
		}
		if s, ok := p.text(atF); ok {
			prog.At = s
			if _, _, ok := parseClock(s); !ok {
				p.errorf(atF.value.Line, "at %q is not a time of day (want HH:MM, 00:00 to 23:59)", s)
			}
		}
	case hasDate:
		p.errorf(dateF.key.Line, "%s has a date but no at (HH:MM)", name())
	case hasAt:
		p.errorf(atF.key.Line, "%s has at but no date (YYYY-MM-DD); for every day use cron", name())
	default:
		p.errorf(m.Line, "%s has no cron, nor date with at", name())
	}

	if f, ok := fs["duration"]; ok {
		if s, ok := p.text(f); ok {
			d, err := time.ParseDuration(s)
			switch {
			case err != nil:
				p.errorf(f.value.Line, "duration %q is not a duration (like 30m, 1h30m, 90s)", s)
			case d <= 0:
				p.errorf(f.value.Line, "duration %q must be more than zero", s)
			case d > maxDuration:
				p.errorf(f.value.Line, "duration %q is longer than 24h", s)
			default:
				prog.Duration = d
			}
		}
	}

	// What it plays.
	relayF, hasRelay := fs["relay"]
	itemsF, hasItems := fs["items"]
	fallbackF, hasFallback := fs["fallback"]
	if hasRelay {
		if s, ok := p.text(relayF); ok {
			prog.Relay = s
			if err := checkRelayURL(s); err != nil {
				p.errorf(relayF.value.Line, "%v", err)
			}
		}
		if _, ok := fs["duration"]; !ok {
			p.errorf(relayF.key.Line, "%s has a relay but no duration", name())
		}
		if hasItems {
			p.errorf(itemsF.key.Line, "%s has both relay and items; use one", name())
		}
	} else if !hasItems {
		p.errorf(m.Line, "%s has no items", name())
	}
	if hasItems && !hasRelay {
		var entries int
		prog.Items, entries = p.mediaList(itemsF)
		if entries == 0 {
			p.errorf(itemsF.key.Line, "%s has no items", name())
		}
	}
	if hasFallback {
		if !hasRelay {
			p.errorf(fallbackF.key.Line, "%s has a fallback but no relay", name())
		} else {
			prog.Fallback, _ = p.mediaList(fallbackF)
		}
	}
	if f, ok := fs["chime"]; ok {
		if s, ok := p.text(f); ok {
			if s == "" {
				p.errorf(f.key.Line, "chime is empty")
			} else if p.countRefs(1, f.value.Line) {
				prog.Chime = &MediaRef{Ref: s, Line: f.value.Line}
			}
		}
	}

	// How it plays.
	if f, ok := fs["volume"]; ok {
		if s, ok := p.text(f); ok {
			v, err := strconv.Atoi(s)
			switch {
			case err != nil:
				p.errorf(f.value.Line, "volume %q is not a whole number 0 to 100", s)
			case v < 0 || v > 100:
				p.errorf(f.value.Line, "volume %d is out of range 0 to 100", v)
			default:
				prog.Volume = v
			}
		}
	}
	if f, ok := fs["priority"]; ok {
		if s, ok := p.text(f); ok {
			switch s {
			case "normal":
				prog.Priority = PriorityNormal
			case "urgent":
				prog.Priority = PriorityUrgent
			default:
				p.errorf(f.value.Line, "priority %q is not normal or urgent", s)
			}
		}
	}
	if f, ok := fs["late"]; ok {
		if s, ok := p.text(f); ok {
			switch s {
			case "join":
				prog.Late = LateJoin
			case "restart":
				prog.Late = LateRestart
			case "skip":
				prog.Late = LateSkip
			default:
				p.errorf(f.value.Line, "late %q is not join, restart or skip", s)
			}
		}
	}
	prog.invalid = len(p.errs) > nerr
	return prog
}

// mediaList reads a list of media references. entries counts what the list
// holds, good or bad; it is 0 for an empty list and 1 for a list with errors
// reported but not otherwise usable.
func (p *parser) mediaList(f field) (refs []MediaRef, entries int) {
	v := f.value
	if v.Kind == yaml.ScalarNode && v.Tag == "!!null" {
		return nil, 0
	}
	if v.Kind != yaml.SequenceNode {
		p.errorf(f.key.Line, "%s must be a list of media, like [media/a.mp3], not a %s", f.key.Value, kindName(v))
		return nil, 1
	}
	if len(v.Content) > MaxItems {
		p.errorf(deref(v.Content[MaxItems]).Line, "%s: quá nhiều tệp / too many media: %d, at most %d in a program", f.key.Value, len(v.Content), MaxItems)
		return nil, len(v.Content)
	}
	if !p.countRefs(len(v.Content), f.key.Line) {
		return nil, len(v.Content)
	}
	refs = make([]MediaRef, 0, len(v.Content))
	for i, n := range v.Content {
		n = deref(n)
		switch {
		case n.Kind != yaml.ScalarNode:
			p.errorf(n.Line, "%s %d must be a media path, not a %s", f.key.Value, i+1, kindName(n))
		case n.Tag == "!!null" || n.Value == "":
			p.errorf(n.Line, "%s %d is empty", f.key.Value, i+1)
		default:
			refs = append(refs, MediaRef{Ref: n.Value, Line: n.Line})
		}
	}
	return refs, len(v.Content)
}

// countRefs adds n media references to the file's count; past
// MaxMediaRefs it reports the line once and says no.
func (p *parser) countRefs(n, line int) bool {
	before := p.refs
	p.refs += n
	if p.refs <= MaxMediaRefs {
		return true
	}
	if before <= MaxMediaRefs {
		p.errorf(line, "quá nhiều tệp trong tệp chương trình / too many media references in the file: more than %d", MaxMediaRefs)
	}
	return false
}

func checkRelayURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("relay %q is not an http or https URL", s)
	}
	return nil
}
