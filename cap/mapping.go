package cap

import (
	"math"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// Mapping of a CAP message onto loa's alert (docs/cap.md has the table).

// Rule maps a CAP area to loa targets: by a geocode (ValueName and Value,
// e.g. SAME 006109, or the province's own code) or by the exact areaDesc
// (case-insensitive). To is loa's form: ward ids and group:NAME, or all.
type Rule struct {
	ValueName, Value string
	AreaDesc         string
	To               string
}

// WardPlace is a ward with its station's location, if known.
type WardPlace struct {
	ID       string
	Lat, Lon *float64
}

// AreaConfig is how areas become wards.
type AreaConfig struct {
	Rules []Rule
	// Wards are the registered wards; those with a location are matched
	// against the areas' polygons and circles.
	Wards []WardPlace
}

// Plan is what a CAP message asks of loa.
type Plan struct {
	// MsgType is Alert, Update or Cancel; Refs what an Update or Cancel
	// concerns.
	MsgType string
	Refs    []Reference
	// To is loa's targets (empty for a Cancel).
	To string
	// Priority is emergency or urgent (table in docs/cap.md).
	Priority string
	// Expires is the info's expires (zero: the city's default life).
	Expires time.Time
	// Audio is the first audio resource, if any; Text is what the city's
	// TTS speaks otherwise (headline, description, instruction).
	Audio *Resource
	Text  string
	// The chosen info's fields, clipped to loa's limits.
	Language, Event, Headline, Urgency, Severity, Certainty, Area, Description, Instruction string
}

// Built-in geocode names: a ward or a group of this city by its id (the
// city's own CAP feed writes them, so a loa city reads another's feed).
const (
	GeocodeWard  = "loa-ward"
	GeocodeGroup = "loa-group"
)

// Priority maps urgency, severity and certainty to loa's priority:
// emergency (cuts everything) for Extreme severity that is Immediate or
// Expected, or Severe, Immediate and Observed or Likely; urgent (after
// the current item) for everything else that plays.
func Priority(urgency, severity, certainty string) string {
	switch {
	case severity == "Extreme" && (urgency == "Immediate" || urgency == "Expected"):
		return "emergency"
	case severity == "Severe" && urgency == "Immediate" && (certainty == "Observed" || certainty == "Likely"):
		return "emergency"
	}
	return "urgent"
}

// ChooseInfo picks the info to broadcast: the first in Vietnamese (vi,
// vi-VN), else the first.
func ChooseInfo(infos []Info) *Info {
	for i := range infos {
		l := strings.ToLower(infos[i].Language)
		if l == "vi" || strings.HasPrefix(l, "vi-") {
			return &infos[i]
		}
	}
	if len(infos) == 0 {
		return nil
	}
	return &infos[0]
}

// Map turns an admitted message into a Plan at now: an *Error when it
// cannot be broadcast (expired, no info, an area that is no ward here).
func Map(a *Alert, ac AreaConfig, now time.Time) (Plan, error) {
	p := Plan{MsgType: a.MsgType}
	refs, _ := ParseReferences(a.References)
	p.Refs = refs
	if a.MsgType == "Cancel" {
		return p, nil
	}
	in := ChooseInfo(a.Info)
	if in == nil {
		return p, errf("alert/info", "không có <info>: không có gì để phát", "no <info>: nothing to broadcast")
	}
	if in.Expires != "" {
		exp, _ := ParseTime(in.Expires)
		if !exp.After(now) {
			return p, errf("info/expires", "đã hết hạn lúc %s", "expired at %s", in.Expires)
		}
		p.Expires = exp
	}
	to, err := ac.targets(in.Area)
	if err != nil {
		return p, err
	}
	p.To = to
	p.Priority = Priority(in.Urgency, in.Severity, in.Certainty)
	p.Language, p.Urgency, p.Severity, p.Certainty = clip(in.Language, 35), in.Urgency, in.Severity, in.Certainty
	p.Event, p.Headline = clip(in.Event, 256), clip(in.Headline, 256)
	p.Description, p.Instruction = clip(clean(in.Description), 4000), clip(clean(in.Instruction), 4000)
	var descs []string
	for _, ar := range in.Area {
		descs = append(descs, strings.Join(strings.Fields(ar.AreaDesc), " "))
	}
	p.Area = clip(strings.Join(descs, "; "), 1024)
	for i := range in.Resource {
		r := &in.Resource[i]
		if strings.HasPrefix(strings.ToLower(r.MimeType), "audio/") && (strings.TrimSpace(r.DerefURI) != "" || strings.TrimSpace(r.URI) != "") {
			p.Audio = r
			break
		}
	}
	var parts []string
	for _, s := range []string{clean(in.Headline), clean(in.Description), clean(in.Instruction)} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	p.Text = clip(strings.Join(parts, ". "), 4000)
	if p.Audio == nil && p.Text == "" {
		return p, errf("info/description", "không có âm thanh, tiêu đề, mô tả hay hướng dẫn để đọc", "no audio, headline, description or instruction to speak")
	}
	return p, nil
}

// targets resolves areas to loa's targets.
func (ac AreaConfig) targets(areas []Area) (string, error) {
	set := map[string]bool{}
	for _, ar := range areas {
		for _, g := range ar.Geocode {
			name, val := strings.TrimSpace(g.ValueName), strings.TrimSpace(g.Value)
			switch name {
			case GeocodeWard:
				set[val] = true
			case GeocodeGroup:
				set["group:"+val] = true
			}
			for _, r := range ac.Rules {
				if r.ValueName != "" && r.ValueName == name && r.Value == val {
					set[r.To] = true
				}
			}
		}
		desc := strings.Join(strings.Fields(ar.AreaDesc), " ")
		for _, r := range ac.Rules {
			if r.AreaDesc != "" && strings.EqualFold(r.AreaDesc, desc) {
				set[r.To] = true
			}
		}
		var polys [][]Point
		var circles []Circle
		for _, s := range ar.Polygon {
			if pts, err := ParsePolygon(s); err == nil {
				polys = append(polys, pts)
			}
		}
		for _, s := range ar.Circle {
			if c, err := ParseCircle(s); err == nil {
				circles = append(circles, c)
			}
		}
		for _, w := range ac.Wards {
			if w.Lat == nil || w.Lon == nil {
				continue
			}
			pt := Point{*w.Lat, *w.Lon}
			for _, poly := range polys {
				if InPolygon(pt, poly) {
					set[w.ID] = true
				}
			}
			for _, c := range circles {
				if DistanceKM(pt, c.Centre) <= c.RadiusKM {
					set[w.ID] = true
				}
			}
		}
	}
	if set["all"] {
		return "all", nil
	}
	var to []string
	for t := range set {
		to = append(to, t)
	}
	sort.Strings(to)
	if len(to) == 0 {
		return "", errf("info/area", "vùng cảnh báo không trùng phường nào của thành phố (mã vùng, đa giác, đường tròn)",
			"the alert's area matches no ward of this city (geocodes, polygons, circles)")
	}
	return strings.Join(to, ","), nil
}

// InPolygon reports whether p is inside the closed polygon (even-odd).
func InPolygon(p Point, poly []Point) bool {
	in := false
	for i, j := 0, len(poly)-1; i < len(poly); j, i = i, i+1 {
		a, b := poly[i], poly[j]
		if (a.Lat > p.Lat) != (b.Lat > p.Lat) &&
			p.Lon < (b.Lon-a.Lon)*(p.Lat-a.Lat)/(b.Lat-a.Lat)+a.Lon {
			in = !in
		}
	}
	return in
}

// DistanceKM is the great-circle distance (haversine, mean Earth radius).
func DistanceKM(a, b Point) float64 {
	const r = 6371.0088
	rad := math.Pi / 180
	dLat, dLon := (b.Lat-a.Lat)*rad, (b.Lon-a.Lon)*rad
	h := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(a.Lat*rad)*math.Cos(b.Lat*rad)*math.Sin(dLon/2)*math.Sin(dLon/2)
	return 2 * r * math.Asin(math.Sqrt(h))
}

// clean folds whitespace and drops control characters.
func clean(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\u2028' || r == '\u2029' || r == '\ufeff' || r == utf8.RuneError {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

// clip cuts s to at most n characters.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
