package manifest

import (
	"strconv"
	"time"

	"go.yaml.in/yaml/v3"

	"loa/schedule"
)

// yamlFile and yamlProgram write a program file in the operator's format.
// Keys are the ones schedule.Parse reads; defaults are left out.
type yamlFile struct {
	Timezone string        `yaml:"timezone"`
	Programs []yamlProgram `yaml:"programs"`
}

type yamlProgram struct {
	ID       string   `yaml:"id"`
	Title    string   `yaml:"title,omitempty"`
	Cron     string   `yaml:"cron,omitempty"`
	Date     string   `yaml:"date,omitempty"`
	At       string   `yaml:"at,omitempty"`
	Duration string   `yaml:"duration,omitempty"`
	Relay    string   `yaml:"relay,omitempty"`
	Fallback []string `yaml:"fallback,omitempty"`
	Chime    string   `yaml:"chime,omitempty"`
	Volume   *int     `yaml:"volume,omitempty"`
	Priority string   `yaml:"priority,omitempty"`
	Late     string   `yaml:"late,omitempty"`
	Items    []string `yaml:"items,omitempty"`
}

// EncodePrograms writes programs as one program file in zone loc. Each
// media reference is written as its Key when it has one (resolved), else
// as written. schedule.Parse reads the result back to the same programs.
func EncodePrograms(loc *time.Location, programs []*schedule.Program) ([]byte, error) {
	if loc == nil {
		loc = schedule.DefaultLocation()
	}
	out := yamlFile{Timezone: loc.String(), Programs: make([]yamlProgram, 0, len(programs))}
	for _, p := range programs {
		y := yamlProgram{ID: p.ID, Title: p.Title, Cron: p.Cron, Date: p.Date, At: p.At, Relay: p.Relay}
		if p.Duration > 0 {
			y.Duration = formatDuration(p.Duration)
		}
		for _, r := range p.Fallback {
			y.Fallback = append(y.Fallback, refText(r))
		}
		if p.Chime != nil {
			y.Chime = refText(*p.Chime)
		}
		if p.Volume != 100 {
			v := p.Volume
			y.Volume = &v
		}
		if p.Priority != schedule.PriorityNormal {
			y.Priority = p.Priority.String()
		}
		if p.Late != schedule.LateJoin {
			y.Late = p.Late.String()
		}
		for _, r := range p.Items {
			y.Items = append(y.Items, refText(r))
		}
		out.Programs = append(out.Programs, y)
	}
	return yaml.Marshal(&out)
}

func refText(r schedule.MediaRef) string {
	if r.Key != "" {
		return r.Key
	}
	return r.Ref
}

// formatDuration writes whole seconds, "1800s" style when not round, else
// the shortest of h/m/s that time.ParseDuration reads back exactly.
func formatDuration(d time.Duration) string {
	switch {
	case d%time.Hour == 0:
		return strconv.FormatInt(int64(d/time.Hour), 10) + "h"
	case d%time.Minute == 0:
		return strconv.FormatInt(int64(d/time.Minute), 10) + "m"
	case d%time.Second == 0:
		return strconv.FormatInt(int64(d/time.Second), 10) + "s"
	}
	return d.String()
}
