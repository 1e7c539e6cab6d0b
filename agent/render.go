package agent

import (
	"context"
	"encoding/csv"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"loa/audio"
	"loa/player"
	"loa/priority"
	"loa/schedule"
	"loa/sqlite"
)

// RenderOptions is what `loa-agent render` renders.
type RenderOptions struct {
	Program  string
	From     string // "YYYY-MM-DD HH:MM:SS", local to the program's time zone
	Duration time.Duration
	Out      string
	Alerts   []string // FILE@+MM:SS
	Rate     int
	Channels int
	AsRunCSV string
	// Cache is a folder kept between renders for decoded media (optional;
	// default: a temporary folder removed afterwards).
	Cache       string
	CeilingDBTP float64
	TargetLUFS  float64
}

// alertAt is a local alert file injected at an offset into a render.
type alertAt struct {
	path   string
	offset time.Duration
	file   *AlertFile
}

// AlertFile is the local alert file of design.md §5 (unsigned).
type AlertFile struct {
	Priority string   `yaml:"priority"`
	Media    string   `yaml:"media"`
	Text     string   `yaml:"text"`
	Voice    string   `yaml:"voice"`
	Stream   string   `yaml:"stream"`
	Duration Duration `yaml:"duration"`
	Repeat   int      `yaml:"repeat"`
	Gap      Duration `yaml:"gap"`
	Chime    *bool    `yaml:"chime"`
	ChimeRef string   `yaml:"chime_media"`
	Volume   int      `yaml:"volume"`
	Title    string   `yaml:"title"`
}

func parseAlertArg(arg string) (alertAt, error) {
	i := strings.LastIndex(arg, "@+")
	if i < 0 {
		return alertAt{}, fmt.Errorf("--alert %q: want FILE@+MM:SS", arg)
	}
	off, err := parseOffset(arg[i+2:])
	if err != nil {
		return alertAt{}, fmt.Errorf("--alert %q: %v", arg, err)
	}
	return alertAt{path: arg[:i], offset: off}, nil
}

// parseOffset reads MM:SS, HH:MM:SS or a Go duration.
func parseOffset(s string) (time.Duration, error) {
	if d, err := time.ParseDuration(s); err == nil {
		return d, nil
	}
	parts := strings.Split(s, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return 0, fmt.Errorf("offset %q: want MM:SS or HH:MM:SS", s)
	}
	var d time.Duration
	for _, p := range parts {
		n, err := strconv.ParseFloat(p, 64)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("offset %q: want MM:SS or HH:MM:SS", s)
		}
		d = d*60 + time.Duration(n*float64(time.Second))
	}
	return d, nil
}

func loadAlertFile(path string) (*AlertFile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var a AlertFile
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	if err := dec.Decode(&a); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	if _, err := priority.ParseAlert(a.Priority); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	if a.Media == "" && a.Text == "" && a.Stream == "" {
		return nil, fmt.Errorf("%s: give the alert's content: media, text or stream", path)
	}
	if a.Repeat < 0 || a.Volume < 0 || a.Volume > 100 {
		return nil, fmt.Errorf("%s: repeat must be ≥ 1 and volume 0-100", path)
	}
	return &a, nil
}

// asrunCSV collects as-run entries for render's --asrun.
type asrunCSV struct{ rows []player.AsRun }

func (a *asrunCSV) Record(e player.AsRun) { a.rows = append(a.rows, e) }

// Render renders exactly what the station would send to its speakers over
// a window, with the daemon's engine and player on a virtual clock: the
// same inputs give the same bytes.
func Render(ctx context.Context, o RenderOptions, log *slog.Logger) error {
	if o.Rate == 0 {
		o.Rate = 44100
	}
	if o.Channels == 0 {
		o.Channels = 2
	}
	if o.CeilingDBTP == 0 {
		o.CeilingDBTP = -1
	}
	if o.Duration <= 0 {
		return usageErr("--duration must be positive")
	}
	var alerts []alertAt
	for _, a := range o.Alerts {
		at, err := parseAlertArg(a)
		if err != nil {
			return usageErr(err.Error())
		}
		if at.file, err = loadAlertFile(at.path); err != nil {
			return inputErr(err)
		}
		alerts = append(alerts, at)
	}

	cacheDir := o.Cache
	if cacheDir == "" {
		tmp, err := os.MkdirTemp("", "loa-render-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		cacheDir = tmp
	}
	st, err := OpenStation(ctx, cacheDir, o.Rate, time.Now)
	if err != nil {
		return err
	}
	defer st.Close()

	in := NewIngest(ctx, st.Store, st.DB, o.Rate, time.Now)
	defer in.Discard()
	f, err := loadFile(ctx, o.Program, in, time.Now())
	if err != nil {
		return inputErr(err)
	}
	from, err := time.ParseInLocation("2006-01-02 15:04:05", o.From, f.Location)
	if err != nil {
		return usageErr(fmt.Sprintf("--from %q: want \"YYYY-MM-DD HH:MM:SS\"", o.From))
	}
	// Alert media go through the same ingest.
	type alertMedia struct{ content, chime string }
	var am []alertMedia
	for _, a := range alerts {
		if a.file.Media == "" {
			return inputErr(fmt.Errorf("%s: only `media` content renders for now (text and stream alerts come with the alerts issue)", a.path))
		}
		m, err := in.Resolve(filepath.Dir(a.path), a.file.Media)
		if err != nil {
			return inputErr(fmt.Errorf("%s: media %s: %v", a.path, a.file.Media, err))
		}
		x := alertMedia{content: m.Key}
		if a.file.ChimeRef != "" && (a.file.Chime == nil || *a.file.Chime) {
			c, err := in.Resolve(filepath.Dir(a.path), a.file.ChimeRef)
			if err != nil {
				return inputErr(fmt.Errorf("%s: chime_media %s: %v", a.path, a.file.ChimeRef, err))
			}
			x.chime = c.Key
		}
		am = append(am, x)
	}
	if err := in.Commit(); err != nil {
		return err
	}
	if err := st.DB.ReplaceProgramSource(ctx, storedSource(f), in.Staged()); err != nil {
		return err
	}
	for _, p := range f.Programs {
		p.Source = SourceLocal
	}
	sched := schedule.New(f.Location, schedule.Source{Name: SourceLocal, Rank: 1, File: f})

	w, err := audio.CreateWAV(o.Out, o.Rate, o.Channels)
	if err != nil {
		return err
	}
	eng := NewEngine(o.Rate, o.CeilingDBTP, -50)
	rec := &asrunCSV{}
	// The engine's first frames are its limiter's delay: the virtual clock
	// starts that much before `from`, and those frames are not written, so
	// that output frame 0 is `from` and a program at `from` starts on it.
	lead := int64(eng.Latency())
	tm := player.VirtualTime{From: from.Add(-audio.FramesToDuration(lead, o.Rate)), Rate: o.Rate}
	pl := player.New(player.Config{Rate: o.Rate, TargetLUFS: o.TargetLUFS}, eng, tm, st, openPCM, rec, log)
	pl.SetSchedule(sched)
	pl.SetClockTrusted(true)

	sort.SliceStable(alerts, func(i, j int) bool { return alerts[i].offset < alerts[j].offset })
	total := audio.DurationToFrames(o.Duration, o.Rate) + lead
	const block = 4410 // 100 ms, the daemon's step
	buf := make([][2]float64, block)
	next := 0
	for pos := int64(0); pos < total; {
		now := tm.TimeAt(pos)
		n := min(int64(block), total-pos)
		// Alerts are handed over a block ahead, as if they had arrived just
		// before their instant, so they start on their exact frame.
		ahead := tm.TimeAt(pos + n + block)
		for next < len(alerts) && from.Add(alerts[next].offset).Before(ahead) {
			a := alerts[next]
			pl.PlayAlert(alertFromFile(fmt.Sprintf("render-%d", next+1), a.file, am[next].content, am[next].chime, from.Add(a.offset)))
			next++
		}
		if pos == 0 && lead > 0 {
			n = min(n, lead) // the limiter's delay: mixed, not written
		}
		pl.Step(now)
		eng.Mix(buf[:n])
		if pos >= lead {
			if err := w.Write(buf[:n]); err != nil {
				w.Close()
				return err
			}
		}
		pos += n
		if ctx.Err() != nil {
			w.Close()
			return ctx.Err()
		}
	}
	// One last step collects the events of the final block; what is still
	// on air is logged as it stands.
	pl.Step(tm.TimeAt(total))
	pl.Flush(tm.TimeAt(total), "still on air at the end of the render")
	if err := w.Close(); err != nil {
		return err
	}
	if o.AsRunCSV != "" {
		if err := writeAsRunCSV(o.AsRunCSV, rec.rows, f.Location); err != nil {
			return err
		}
	}
	return nil
}

func alertFromFile(id string, a *AlertFile, content, chime string, at time.Time) player.Alert {
	// The file was checked (loadAlertFile): the one mapping, with its
	// default for a file that names no priority.
	pr, _ := priority.ParseAlert(a.Priority)
	return player.Alert{ID: id, Title: a.Title, Priority: pr, Content: content, Chime: chime, Repeat: a.Repeat, Gap: a.Gap.D(), Volume: a.Volume, At: at}
}

func storedSource(f *schedule.File) sqlite.ProgramSource {
	refs := map[string]string{}
	for _, p := range f.Programs {
		for _, m := range programMedia(p) {
			refs[m.Ref] = m.Key
		}
	}
	// The bytes that were checked, not the file read again.
	return sqlite.ProgramSource{Name: SourceLocal, Path: f.Path, Body: f.Body, MediaMap: refs}
}

func openPCM(path string) (audio.FrameReader, error) {
	f, err := audio.OpenPCM(path)
	if err != nil {
		return nil, err // not a typed nil in the interface
	}
	return f, nil
}

// writeAsRunCSV writes the as-run entries, times local to loc.
func writeAsRunCSV(path string, rows []player.AsRun, loc *time.Location) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	w.Write(asrunHeader)
	for _, e := range rows {
		w.Write(asrunRecord(e, loc))
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

var asrunHeader = []string{"kind", "program", "part", "item", "planned", "actual", "end", "result", "missed_s", "note"}

func asrunRecord(e player.AsRun, loc *time.Location) []string {
	ts := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.In(loc).Format("2006-01-02 15:04:05.000")
	}
	return []string{e.Kind, e.Program, strconv.Itoa(e.Part), e.Item, ts(e.Planned), ts(e.Actual), ts(e.End), e.Result,
		strconv.FormatFloat(e.Missed.Seconds(), 'f', 3, 64), e.Note}
}
