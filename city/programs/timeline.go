package programs

import (
	"context"

	"loa/city/api"
	"loa/schedule"
	"loa/sqlite"
)

// Timeline computes ward's effective timeline for date d, with the
// schedule package, as the ward will play it.
func (s *Service) Timeline(ctx context.Context, ward string, d schedule.Date) (api.Timeline, error) {
	out := api.Timeline{Ward: ward, Date: d.String(), Timezone: s.Location.String(), Occurrences: []api.Occurrence{}}
	tx := s.Store.Read()
	w, err := tx.Ward(ctx, ward)
	if err != nil {
		return out, err
	}
	if _, v, err := tx.ManifestETag(ctx, ward); err == nil {
		out.Version = v
	}
	l := newSetLoader(ctx, tx)
	sets, err := l.effective(w)
	if err != nil {
		return out, err
	}
	var sources []schedule.Source
	for _, s := range sets {
		sources = append(sources, schedule.Source{Name: s.target, File: s.file})
	}
	sch := schedule.New(s.Location, sources...)
	type occKey struct {
		p     *schedule.Program
		start int64
	}
	displaced := map[occKey]bool{}
	for _, o := range sch.Displaced(d) {
		displaced[occKey{o.Program, o.Start.UnixNano()}] = true
	}
	for _, o := range sch.Timeline(d) {
		ao := api.Occurrence{Program: o.Program.ID, Title: o.Program.Title, Target: o.Source,
			Priority: o.Program.Priority.String(), Start: o.Start, End: o.End,
			Displaced: displaced[occKey{o.Program, o.Start.UnixNano()}], Segments: []api.Segment{}}
		for _, sg := range o.Segments() {
			as := api.Segment{Kind: sg.Kind.String(), URL: sg.URL, OffsetSeconds: sg.Offset.Seconds(), DurationSeconds: sg.Duration.Seconds()}
			if sg.Media != nil {
				as.SHA256 = sg.Media.Key
				if m, err := l.mediaInfo(sg.Media.Key); err == nil {
					as.Name = mediaName(m)
				}
			}
			ao.Segments = append(ao.Segments, as)
		}
		out.Occurrences = append(out.Occurrences, ao)
	}
	return out, nil
}

func mediaName(m sqlite.CityMedia) string {
	if len(m.Names) > 0 {
		return m.Names[0]
	}
	return m.OriginalName
}

// Today is the current date in the city's zone.
func (s *Service) Today() schedule.Date { return schedule.DateOf(s.Now().In(s.Location)) }
