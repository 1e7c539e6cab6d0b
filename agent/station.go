package agent

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"loa/mediastore"
	"loa/player"
	"loa/schedule"
	"loa/sqlite"
)

// Station is a ward's state on disk: its database and its media store.
type Station struct {
	Dir   string
	DB    *sqlite.AgentDB
	Store *mediastore.Store
	Rate  int
	Now   func() time.Time
	// Warn, if set, is told of media files that load with a problem that
	// does not stop them from playing (see Ingest.Warn).
	Warn func(path, warning string)
}

// OpenStation opens (creating) the station under dir.
func OpenStation(ctx context.Context, dir string, rate int, now func() time.Time) (*Station, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("data folder: %w", err)
	}
	store, err := mediastore.New(dir)
	if err != nil {
		return nil, err
	}
	db, err := sqlite.OpenAgent(ctx, filepath.Join(dir, "loa.db"))
	if err != nil {
		return nil, err
	}
	db.Now = now
	return &Station{Dir: dir, DB: db, Store: store, Rate: rate, Now: now}, nil
}

// Close closes the database.
func (s *Station) Close() error { return s.DB.Close() }

// Source names and ranks: on equal priority the city's program wins over
// the ward's own.
const (
	SourceLocal = "local"
	SourceCity  = "city"
)

func sourceRank(name string) int {
	if name == SourceCity {
		return 2
	}
	return 1
}

// storedResolver resolves the media references of a stored program file
// through the map recorded when it was loaded.
type storedResolver struct {
	ctx   context.Context
	db    *sqlite.AgentDB
	store *mediastore.Store
	rate  int
	refs  map[string]string
}

func (r storedResolver) Resolve(_, ref string) (schedule.Media, error) {
	key, ok := r.refs[ref]
	if !ok {
		if mediastore.ValidKey(ref) {
			key = ref
		} else {
			return schedule.Media{}, fmt.Errorf("not in the media store")
		}
	}
	m, err := r.db.Media(r.ctx, key)
	if err != nil {
		return schedule.Media{}, fmt.Errorf("not in the media store")
	}
	if m.CacheRate != r.rate {
		return schedule.Media{}, fmt.Errorf("decoded at %d Hz, the station plays at %d Hz: load the program again", m.CacheRate, r.rate)
	}
	return schedule.Media{Key: key, Duration: m.Duration()}, nil
}

// Schedule builds the station's schedule from the stored program sources.
// A source that no longer resolves (its media were removed by hand) is
// left out and reported, the others still play.
func (s *Station) Schedule(ctx context.Context) (*schedule.Schedule, []error) {
	srcs, err := s.DB.ProgramSources(ctx)
	if err != nil {
		return nil, []error{err}
	}
	var errs []error
	var sources []schedule.Source
	loc := schedule.DefaultLocation()
	sort.Slice(srcs, func(i, j int) bool { return sourceRank(srcs[i].Name) > sourceRank(srcs[j].Name) })
	for i, src := range srcs {
		f, err := schedule.Parse(src.Path, src.Body)
		if err == nil {
			err = f.Resolve(storedResolver{ctx: ctx, db: s.DB, store: s.Store, rate: s.Rate, refs: src.MediaMap})
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s programs: %w", src.Name, err))
			continue
		}
		for _, p := range f.Programs {
			p.Source = src.Name
		}
		if i == 0 {
			loc = f.Location
		}
		sources = append(sources, schedule.Source{Name: src.Name, Rank: sourceRank(src.Name), File: f})
	}
	return schedule.New(loc, sources...), errs
}

// Lookup implements player.Media over the database and the store.
func (s *Station) Lookup(key string) (player.MediaInfo, error) {
	m, err := s.DB.Media(context.Background(), key)
	if err != nil {
		return player.MediaInfo{}, err
	}
	return player.MediaInfo{Path: s.Store.CachePath(key, s.Rate), Frames: m.Frames, LoudnessLUFS: m.LoudnessLUFS, HasLoudness: m.HasLoudness}, nil
}

// LoadProgram validates a program file and, unless checkOnly, makes it the
// station's local program: its media are copied into the store and it
// replaces the previous local program in one transaction. A file with any
// error changes nothing.
func (s *Station) LoadProgram(ctx context.Context, path string, checkOnly bool) (*schedule.File, error) {
	in := NewIngest(ctx, s.Store, s.DB, s.Rate, s.Now)
	in.Warn = s.Warn
	defer in.Discard()
	f, err := loadFile(ctx, path, in, s.Now())
	if err != nil {
		return nil, err
	}
	if checkOnly {
		return f, nil
	}
	refs := map[string]string{}
	for _, p := range f.Programs {
		for _, m := range programMedia(p) {
			refs[m.Ref] = m.Key
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, errInterrupted
	}
	if err := in.Commit(); err != nil {
		return nil, fmt.Errorf("store media: %w", err)
	}
	abs, _ := filepath.Abs(path)
	src := sqlite.ProgramSource{Name: SourceLocal, Path: abs, Body: f.Body, MediaMap: refs, Version: fmt.Sprint(s.Now().UnixNano())}
	if err := s.DB.ReplaceProgramSource(ctx, src, in.Staged()); err != nil {
		return nil, fmt.Errorf("save program: %w", err)
	}
	return f, nil
}

// loadFile loads a program file with schedule.LoadFile — every problem
// reported at once — ingesting its media on all cores first.
func loadFile(ctx context.Context, path string, in *Ingest, now time.Time) (*schedule.File, error) {
	return schedule.LoadFile(path, ingestResolver{ctx: ctx, in: in}, now)
}

// ingestResolver resolves media through the ingest (copied into the
// store, decoded for the engine), prefetching a file's media in parallel.
type ingestResolver struct {
	ctx context.Context
	in  *Ingest
}

func (r ingestResolver) Resolve(baseDir, ref string) (schedule.Media, error) {
	return r.in.Resolve(baseDir, ref)
}

func (r ingestResolver) Prefetch(baseDir string, refs []string) error {
	paths := make([]string, len(refs))
	for i, ref := range refs {
		paths[i] = ref
		if !filepath.IsAbs(ref) {
			paths[i] = filepath.Join(baseDir, ref)
		}
	}
	r.in.Prefetch(paths, 2)
	if r.ctx.Err() != nil {
		// Stopped (a signal): nothing was applied; the caller's Discard
		// removes what was staged.
		return errInterrupted
	}
	return nil
}

// programMedia lists every media reference of a program.
func programMedia(p *schedule.Program) []*schedule.MediaRef {
	var out []*schedule.MediaRef
	if p.Chime != nil {
		out = append(out, p.Chime)
	}
	for i := range p.Items {
		out = append(out, &p.Items[i])
	}
	for i := range p.Fallback {
		out = append(out, &p.Fallback[i])
	}
	return out
}
