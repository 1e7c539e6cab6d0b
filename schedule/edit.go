package schedule

import (
	"bytes"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// ProgramSpec is one program as a form edits it: days of the week and a
// time, or a date and a time, instead of cron (which stays available as
// Cron for what a form cannot say). SetProgram writes it into a program
// file, so that the file stays the one truth: what the console shows is
// what `loactl program load` would load, and the file exported is the
// file stored.
type ProgramSpec struct {
	ID    string
	Title string
	// Days and At: weekly at HH:MM on these days (Sunday = 0).
	Days []time.Weekday
	At   string
	// Date (YYYY-MM-DD) and At: once.
	Date string
	// Cron, when Days and Date are empty, is written as it is.
	Cron     string
	Items    []string
	Fallback []string
	Chime    string
	Volume   int    // 0: the station's volume (not written)
	Priority string // "" or "normal": not written
	Relay    string
	Duration string // e.g. "30m"; with Relay, required
}

// When says the spec's schedule as the file will: the cron line, or the
// date and time.
func (s ProgramSpec) cron() (string, error) {
	if len(s.Days) == 0 {
		return s.Cron, nil
	}
	h, m, err := hourMinute(s.At)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%d %d * * %s", m, h, dayField(s.Days)), nil
}

func hourMinute(at string) (int, int, error) {
	t, err := time.Parse("15:04", at)
	if err != nil {
		return 0, 0, fmt.Errorf("at %q: want HH:MM (05:30)", at)
	}
	return t.Hour(), t.Minute(), nil
}

// dayField writes days as cron's day-of-week: "*" for every day, a range
// where the days run on ("1-6"), else a list ("1,3,5").
func dayField(days []time.Weekday) string {
	set := map[int]bool{}
	for _, d := range days {
		set[int(d)%7] = true
	}
	if len(set) == 7 {
		return "*"
	}
	var ds []int
	for d := range set {
		ds = append(ds, d)
	}
	sort.Ints(ds)
	if len(ds) > 2 && ds[len(ds)-1]-ds[0] == len(ds)-1 {
		return fmt.Sprintf("%d-%d", ds[0], ds[len(ds)-1])
	}
	parts := make([]string, len(ds))
	for i, d := range ds {
		parts[i] = strconv.Itoa(d)
	}
	return strings.Join(parts, ",")
}

// SetProgram returns data with the program spec.ID replaced where it
// stands, or added at the end. The rest of the file (comments, order,
// other programs) is kept. The result is not validated: load it as any
// program file (Parse, Resolve, CheckOverlaps).
func SetProgram(data []byte, spec ProgramSpec) ([]byte, error) {
	doc, progs, err := programsNode(data)
	if err != nil {
		return nil, err
	}
	m, err := specNode(spec)
	if err != nil {
		return nil, err
	}
	if i := programIndex(progs, spec.ID); i >= 0 {
		m.HeadComment = progs.Content[i].HeadComment
		progs.Content[i] = m
	} else {
		progs.Content = append(progs.Content, m)
	}
	return encode(doc)
}

// RemoveProgram returns data without the program id.
func RemoveProgram(data []byte, id string) ([]byte, error) {
	doc, progs, err := programsNode(data)
	if err != nil {
		return nil, err
	}
	i := programIndex(progs, id)
	if i < 0 {
		return nil, fmt.Errorf("no program %q in the file", id)
	}
	progs.Content = append(progs.Content[:i], progs.Content[i+1:]...)
	return encode(doc)
}

// SpecOf reads program id of a file back into a spec, for a form. A cron
// line a form can say ("M H * * days") becomes Days and At; any other stays
// in Cron.
func SpecOf(data []byte, id string) (ProgramSpec, error) {
	_, progs, err := programsNode(data)
	if err != nil {
		return ProgramSpec{}, err
	}
	i := programIndex(progs, id)
	if i < 0 {
		return ProgramSpec{}, fmt.Errorf("no program %q in the file", id)
	}
	var raw struct {
		ID       string   `yaml:"id"`
		Title    string   `yaml:"title"`
		Cron     string   `yaml:"cron"`
		Date     string   `yaml:"date"`
		At       string   `yaml:"at"`
		Duration string   `yaml:"duration"`
		Relay    string   `yaml:"relay"`
		Fallback []string `yaml:"fallback"`
		Chime    string   `yaml:"chime"`
		Volume   int      `yaml:"volume"`
		Priority string   `yaml:"priority"`
		Items    []string `yaml:"items"`
	}
	if err := progs.Content[i].Decode(&raw); err != nil {
		return ProgramSpec{}, err
	}
	s := ProgramSpec{ID: raw.ID, Title: raw.Title, Date: raw.Date, At: raw.At, Cron: raw.Cron, Items: raw.Items,
		Fallback: raw.Fallback, Chime: raw.Chime, Volume: raw.Volume, Priority: raw.Priority, Relay: raw.Relay, Duration: raw.Duration}
	if days, at, ok := weeklyCron(raw.Cron); ok {
		s.Days, s.At, s.Cron = days, at, ""
	}
	return s, nil
}

// weeklyCron reads "M H * * DAYS" with plain numbers.
func weeklyCron(c string) ([]time.Weekday, string, bool) {
	f := strings.Fields(c)
	if len(f) != 5 || f[2] != "*" || f[3] != "*" {
		return nil, "", false
	}
	m, err1 := strconv.Atoi(f[0])
	h, err2 := strconv.Atoi(f[1])
	if err1 != nil || err2 != nil || m < 0 || m > 59 || h < 0 || h > 23 {
		return nil, "", false
	}
	var days []time.Weekday
	if f[4] == "*" {
		for d := time.Sunday; d <= time.Saturday; d++ {
			days = append(days, d)
		}
	} else {
		for _, part := range strings.Split(f[4], ",") {
			lo, hi, isRange := strings.Cut(part, "-")
			a, err := strconv.Atoi(lo)
			if err != nil || a < 0 || a > 6 {
				return nil, "", false
			}
			b := a
			if isRange {
				if b, err = strconv.Atoi(hi); err != nil || b < a || b > 6 {
					return nil, "", false
				}
			}
			for d := a; d <= b; d++ {
				days = append(days, time.Weekday(d))
			}
		}
	}
	return days, fmt.Sprintf("%02d:%02d", h, m), true
}

// programsNode decodes data and finds its programs sequence (made if the
// file is empty).
func programsNode(data []byte) (*yaml.Node, *yaml.Node, error) {
	var doc yaml.Node
	if len(bytes.TrimSpace(data)) > 0 {
		if err := yaml.Unmarshal(data, &doc); err != nil {
			return nil, nil, fmt.Errorf("the program file is not YAML: %v", err)
		}
	}
	if doc.Kind == 0 {
		doc = yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{{Kind: yaml.MappingNode}}}
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, nil, fmt.Errorf("the program file is not a mapping with programs:")
	}
	top := doc.Content[0]
	for i := 0; i+1 < len(top.Content); i += 2 {
		if top.Content[i].Value == "programs" {
			seq := top.Content[i+1]
			if seq.Kind == yaml.ScalarNode && (seq.Tag == "!!null" || seq.Value == "") {
				*seq = yaml.Node{Kind: yaml.SequenceNode}
			}
			if seq.Kind != yaml.SequenceNode {
				return nil, nil, fmt.Errorf("programs: want a list")
			}
			seq.Style = 0
			return &doc, seq, nil
		}
	}
	seq := &yaml.Node{Kind: yaml.SequenceNode}
	top.Content = append(top.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: "programs"}, seq)
	return &doc, seq, nil
}

func programIndex(progs *yaml.Node, id string) int {
	for i, p := range progs.Content {
		if p.Kind != yaml.MappingNode {
			continue
		}
		for j := 0; j+1 < len(p.Content); j += 2 {
			if p.Content[j].Value == "id" && p.Content[j+1].Value == id {
				return i
			}
		}
	}
	return -1
}

// specNode writes a spec in the order of DESIGN.md §4.
func specNode(s ProgramSpec) (*yaml.Node, error) {
	m := &yaml.Node{Kind: yaml.MappingNode}
	str := func(k, v string) {
		if v != "" {
			m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: k}, &yaml.Node{Kind: yaml.ScalarNode, Value: v})
		}
	}
	quoted := func(k, v string) {
		if v != "" {
			m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: k}, &yaml.Node{Kind: yaml.ScalarNode, Value: v, Style: yaml.DoubleQuotedStyle})
		}
	}
	list := func(k string, vs []string) {
		if len(vs) == 0 {
			return
		}
		seq := &yaml.Node{Kind: yaml.SequenceNode}
		for _, v := range vs {
			seq.Content = append(seq.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: v})
		}
		m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: k}, seq)
	}
	cron, err := s.cron()
	if err != nil {
		return nil, err
	}
	str("id", s.ID)
	str("title", s.Title)
	if s.Date != "" && len(s.Days) == 0 {
		str("date", s.Date)
		quoted("at", s.At)
	} else {
		quoted("cron", cron)
	}
	str("duration", s.Duration)
	str("relay", s.Relay)
	str("chime", s.Chime)
	if s.Volume > 0 {
		str("volume", strconv.Itoa(s.Volume))
	}
	if s.Priority != "" && s.Priority != "normal" {
		str("priority", s.Priority)
	}
	list("items", s.Items)
	list("fallback", s.Fallback)
	return m, nil
}

func encode(doc *yaml.Node) ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	enc.Close()
	return buf.Bytes(), nil
}
