package programs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"loa/alert"
	"loa/city/api"
	"loa/internal/cmdkit"
	"loa/mediastore"
	"loa/schedule"
	"loa/sqlite"
)

// Targets: a program file applies to the whole city, a group, or a ward.
const TargetAll = "all"

// parseTarget checks a target: all, group:G or ward:ID.
func parseTarget(s string) (kind, name string, err error) {
	if s == TargetAll {
		return TargetAll, "", nil
	}
	kind, name, ok := strings.Cut(s, ":")
	if !ok || (kind != "group" && kind != "ward") || !alert.ValidName(name) {
		return "", "", cmdkit.BadInput("target %q: want all, group:NAME or ward:ID", s)
	}
	return kind, name, nil
}

// wardTargets lists the targets whose programs ward w plays, in the order
// they are merged: the city's, its groups' (by name), its own.
func wardTargets(w sqlite.Ward) []string {
	t := make([]string, 0, len(w.Groups)+2)
	t = append(t, TargetAll)
	for _, g := range w.Groups {
		t = append(t, "group:"+g)
	}
	return append(t, "ward:"+w.ID)
}

// loadedSet is a target's program file, parsed and resolved.
type loadedSet struct {
	target string
	file   *schedule.File
	body   []byte
	refs   map[string]string
}

// setLoader reads, parses and resolves the stored program files in one
// transaction, each once, and stands in a file being loaded for its target.
type setLoader struct {
	ctx   context.Context
	tx    Tx
	media map[string]sqlite.CityMedia
	sets  map[string]*loadedSet // nil value: the target has none
}

func newSetLoader(ctx context.Context, tx Tx) *setLoader {
	return &setLoader{ctx: ctx, tx: tx, media: map[string]sqlite.CityMedia{}, sets: map[string]*loadedSet{}}
}

func (l *setLoader) mediaInfo(key string) (sqlite.CityMedia, error) {
	if m, ok := l.media[key]; ok {
		return m, nil
	}
	m, err := l.tx.Media(l.ctx, key)
	if err != nil {
		return m, err
	}
	l.media[key] = m
	return m, nil
}

// override makes target's programs ls (nil: none) for this loader.
func (l *setLoader) override(target string, ls *loadedSet) { l.sets[target] = ls }

func (l *setLoader) get(target string) (*loadedSet, error) {
	if ls, ok := l.sets[target]; ok {
		return ls, nil
	}
	sets, err := l.tx.ProgramSets(l.ctx, target)
	if err != nil {
		return nil, err
	}
	if len(sets) == 0 {
		l.sets[target] = nil
		return nil, nil
	}
	s := sets[0]
	f, err := schedule.Parse(s.File, s.Body)
	if err == nil {
		err = f.Resolve(frozenResolver{l: l, refs: s.MediaMap})
	}
	if err != nil {
		return nil, fmt.Errorf("stored programs of %s no longer load: %w", target, err)
	}
	ls := &loadedSet{target: target, file: f, body: s.Body, refs: s.MediaMap}
	l.sets[target] = ls
	return ls, nil
}

// effective returns the program files ward w plays, in merge order.
func (l *setLoader) effective(w sqlite.Ward) ([]*loadedSet, error) {
	var out []*loadedSet
	for _, t := range wardTargets(w) {
		ls, err := l.get(t)
		if err != nil {
			return nil, err
		}
		if ls != nil {
			out = append(out, ls)
		}
	}
	return out, nil
}

// frozenResolver resolves a stored file's references through the map made
// when it was loaded: renaming media later never changes a loaded program.
type frozenResolver struct {
	l    *setLoader
	refs map[string]string
}

func (r frozenResolver) Resolve(_, ref string) (schedule.Media, error) {
	key, ok := r.refs[ref]
	if !ok {
		return schedule.Media{}, errors.New("not in the file's media map")
	}
	m, err := r.l.mediaInfo(key)
	if err != nil {
		return schedule.Media{}, err
	}
	return schedule.Media{Key: key, Duration: m.Duration()}, nil
}

// libraryResolver resolves references in a file being loaded: a sha256
// key, or a media name (the file name it was uploaded as; a path is looked
// up by its last element, so "media/ban-tin.mp3" finds "ban-tin.mp3").
type libraryResolver struct {
	l    *setLoader
	used map[string]string
}

func (r libraryResolver) Resolve(_, ref string) (schedule.Media, error) {
	key, err := r.lookup(ref)
	if err != nil {
		return schedule.Media{}, err
	}
	m, err := r.l.mediaInfo(key)
	if errors.Is(err, sqlite.ErrNotFound) {
		return schedule.Media{}, errors.New("no media with this sha256 in the city's library")
	}
	if err != nil {
		return schedule.Media{}, err
	}
	r.used[ref] = key
	return schedule.Media{Key: key, Duration: m.Duration()}, nil
}

func (r libraryResolver) lookup(ref string) (string, error) {
	if mediastore.ValidKey(ref) {
		return ref, nil
	}
	names := []string{ref}
	if b := path.Base(ref); b != ref {
		names = append(names, b)
	}
	for _, n := range names {
		key, err := r.l.tx.MediaByName(r.l.ctx, n)
		if err == nil {
			return key, nil
		}
		if !errors.Is(err, sqlite.ErrNotFound) {
			return "", err
		}
	}
	return "", fmt.Errorf("not in the city's media library (upload it first: loactl media upload %s)", path.Base(ref))
}

// Load validates a program file for target and, unless checkOnly, makes
// it that target's programs, re-issues the manifests of the wards it
// reaches and notifies them. file names the file in messages. A file with
// any problem changes nothing; the problems come back as a
// schedule.ErrorList, each "FILE:LINE: message".
func (s *Service) Load(ctx context.Context, target, file string, body []byte, by string, checkOnly bool) (api.ProgramLoad, error) {
	res := api.ProgramLoad{Target: target, CheckOnly: checkOnly}
	if file == "" {
		file = "programs.yaml"
	}
	if _, _, err := parseTarget(target); err != nil {
		return res, err
	}
	err := s.Store.Update(ctx, func(tx Tx) error {
		wards, err := s.targetWards(ctx, tx, target)
		if err != nil {
			return err
		}
		l := newSetLoader(ctx, tx)
		ls, errs := s.parseNew(l, file, body)
		if len(errs) == 0 {
			ls.target = target
			l.override(target, ls)
			errs = s.checkWards(l, wards, target, file)
		}
		if len(errs) > 0 {
			return errs
		}
		res.Programs = len(ls.file.Programs)
		for _, w := range wards {
			res.Wards = append(res.Wards, w.ID)
		}
		if checkOnly {
			return nil
		}
		if err := tx.PutProgramSet(ctx, sqlite.ProgramSet{Target: target, File: file, Body: body, MediaMap: ls.refs, LoadedBy: by}); err != nil {
			return err
		}
		res.Changed, err = s.rebuild(l, wards)
		return err
	})
	if err != nil {
		return api.ProgramLoad{Target: target, CheckOnly: checkOnly}, err
	}
	if !checkOnly {
		s.Log.Info("programs loaded", "target", target, "file", file, "by", by, "programs", res.Programs, "wards_changed", len(res.Changed))
		s.notify(res.Target, res.Changed)
	}
	return res, nil
}

// Delete removes target's programs, re-issues the manifests of the wards
// it reached and notifies them.
func (s *Service) Delete(ctx context.Context, target, by string) (api.ProgramLoad, error) {
	res := api.ProgramLoad{Target: target}
	if _, _, err := parseTarget(target); err != nil {
		return res, err
	}
	err := s.Store.Update(ctx, func(tx Tx) error {
		wards, err := s.targetWards(ctx, tx, target)
		if err != nil {
			return err
		}
		ok, err := tx.DeleteProgramSet(ctx, target)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("%s has no programs: %w", target, sqlite.ErrNotFound)
		}
		for _, w := range wards {
			res.Wards = append(res.Wards, w.ID)
		}
		res.Changed, err = s.rebuild(newSetLoader(ctx, tx), wards)
		return err
	})
	if err == nil {
		s.Log.Info("programs removed", "target", target, "by", by, "wards_changed", len(res.Changed))
		s.notify(res.Target, res.Changed)
	}
	return res, err
}

// List lists every target's program file, by target, with the number of
// programs in it.
func (s *Service) List(ctx context.Context) ([]api.ProgramSet, error) {
	sets, err := s.Store.Read().ProgramSets(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]api.ProgramSet, 0, len(sets))
	for _, ps := range sets {
		n := 0
		if f, err := schedule.Parse(ps.File, ps.Body); err == nil {
			n = len(f.Programs)
		}
		out = append(out, api.ProgramSet{Target: ps.Target, File: ps.File, Programs: n, LoadedBy: ps.LoadedBy, LoadedAt: ps.LoadedAt.UTC()})
	}
	return out, nil
}

// Get returns target's program file as it was loaded; ok is false when
// target has none.
func (s *Service) Get(ctx context.Context, target string) (set sqlite.ProgramSet, ok bool, err error) {
	if _, _, err := parseTarget(target); err != nil {
		return set, false, err
	}
	sets, err := s.Store.Read().ProgramSets(ctx, target)
	if err != nil || len(sets) == 0 {
		return set, false, err
	}
	return sets[0], true, nil
}

// CheckWard is run in the transaction that adds ward id to the registry
// (tx sees it with its groups): it refuses the ward if the programs of
// its groups and of the whole city clash, every problem listed, and
// otherwise issues its first manifest.
func (s *Service) CheckWard(ctx context.Context, tx Tx, id string) error {
	w, err := tx.Ward(ctx, id)
	if err != nil {
		return err
	}
	l := newSetLoader(ctx, tx)
	if errs := s.checkWards(l, []sqlite.Ward{w}, "", "ward "+id); len(errs) > 0 {
		return fmt.Errorf("ward %s: the programs of its groups clash:\n%w", id, errs)
	}
	_, err = s.buildManifest(l, w)
	return err
}

// targetWards lists the wards a target reaches.
func (s *Service) targetWards(ctx context.Context, tx Tx, target string) ([]sqlite.Ward, error) {
	kind, name, err := parseTarget(target)
	if err != nil {
		return nil, err
	}
	switch kind {
	case TargetAll:
		return tx.Wards(ctx)
	case "group":
		return tx.WardsInGroup(ctx, name)
	}
	w, err := tx.Ward(ctx, name)
	if errors.Is(err, sqlite.ErrNotFound) {
		return nil, fmt.Errorf("ward %s: %w (add it first: loa-city ward add %s)", name, ErrUnknownWard, name)
	}
	if err != nil {
		return nil, err
	}
	return []sqlite.Ward{w}, nil
}

// parseNew parses, checks and resolves a file being loaded on its own.
func (s *Service) parseNew(l *setLoader, file string, body []byte) (*loadedSet, schedule.ErrorList) {
	ls := &loadedSet{body: body, refs: map[string]string{}}
	f, err := schedule.Load(file, body, libraryResolver{l: l, used: ls.refs}, s.Now(), func(f *schedule.File) schedule.ErrorList {
		if f.Location.String() != s.Location.String() {
			return schedule.ErrorList{s.zoneError(file, body, f)}
		}
		return nil
	})
	if err != nil {
		return nil, asList(file, err)
	}
	ls.file = f
	return ls, nil
}

func asList(file string, err error) schedule.ErrorList {
	var list schedule.ErrorList
	if errors.As(err, &list) {
		return list
	}
	return schedule.ErrorList{{File: file, Msg: err.Error(), Err: err}}
}

func sortErrors(errs schedule.ErrorList) {
	sort.SliceStable(errs, func(i, j int) bool { return errs[i].Line < errs[j].Line })
}

var timezoneLine = regexp.MustCompile(`(?m)^timezone\s*:`)

// zoneError says that a file is not in the city's zone, at its timezone line.
func (s *Service) zoneError(file string, body []byte, f *schedule.File) *schedule.Error {
	if loc := timezoneLine.FindIndex(body); loc != nil {
		line := 1 + bytes.Count(body[:loc[0]], []byte("\n"))
		return &schedule.Error{File: file, Line: line, Msg: fmt.Sprintf(
			"timezone %s: the city's programs are in %s", f.Location, s.Location)}
	}
	return &schedule.Error{File: file, Line: 1, Msg: fmt.Sprintf(
		"no timezone, so %s; the city's programs are in %s: add \"timezone: %s\"", f.Location, s.Location, s.Location)}
}

// sourced is a program and the target it comes from.
type sourced struct {
	set  *loadedSet
	prog *schedule.Program
}

func (s sourced) where() string {
	return fmt.Sprintf("%s (%s line %d)", s.set.target, s.set.file.Path, s.prog.Line)
}

// pairOverlap is schedule's message for two programs that overlap.
var pairOverlap = regexp.MustCompile(`^programs "([a-z0-9-]+)" \(line (\d+)\) and "([a-z0-9-]+)" \(line (\d+)\) overlap on (.+)$`)

// checkWards checks, for every ward, that the programs it would play (its
// effective set, with the loader's overrides) have unique ids and no
// overlaps of equal priority. Problems are reported against newTarget's
// file (file), naming the other target and the first ward concerned.
func (s *Service) checkWards(l *setLoader, wards []sqlite.Ward, newTarget, file string) schedule.ErrorList {
	type finding struct {
		err   *schedule.Error
		wards []string
	}
	var order []string
	found := map[string]*finding{}
	add := func(e *schedule.Error, ward string) {
		k := fmt.Sprintf("%s:%d:%s", e.File, e.Line, e.Msg)
		f := found[k]
		if f == nil {
			f = &finding{err: e}
			found[k] = f
			order = append(order, k)
		}
		f.wards = append(f.wards, ward)
	}
	// Wards with the same targets play the same programs: check once.
	bySig := map[string][]*schedule.Error{}
	for _, w := range wards {
		sets, err := l.effective(w)
		if err != nil {
			add(&schedule.Error{File: file, Msg: err.Error(), Err: err}, w.ID)
			continue
		}
		var sig []string
		for _, s := range sets {
			sig = append(sig, s.target)
		}
		k := strings.Join(sig, ",")
		found, ok := bySig[k]
		if !ok {
			found = s.checkMerged(sets, newTarget, file)
			bySig[k] = found
		}
		for _, e := range found {
			add(e, w.ID)
		}
	}
	var errs schedule.ErrorList
	for _, k := range order {
		f := found[k]
		e := *f.err
		if len(f.wards) == 1 {
			e.Msg += ", in ward " + f.wards[0]
		} else {
			e.Msg += fmt.Sprintf(", in wards %s and %d more", f.wards[0], len(f.wards)-1)
		}
		errs = append(errs, &e)
	}
	sortErrors(errs)
	return errs
}

// checkMerged checks one effective set.
func (s *Service) checkMerged(sets []*loadedSet, newTarget, file string) []*schedule.Error {
	var all []sourced
	for _, s := range sets {
		for _, p := range s.file.Programs {
			all = append(all, sourced{set: s, prog: p})
		}
	}
	isNew := func(s sourced) bool { return s.set.target == newTarget }
	var errs []*schedule.Error
	first := map[string]sourced{}
	for _, s := range all {
		o, dup := first[s.prog.ID]
		if !dup {
			first[s.prog.ID] = s
			continue
		}
		if o.set == s.set {
			continue // reported by its own file's checks
		}
		if !isNew(s) && !isNew(o) {
			errs = append(errs, &schedule.Error{File: file, Msg: fmt.Sprintf(
				"id %q is used by both %s and %s", s.prog.ID, o.where(), s.where())})
			continue
		}
		mine, other := s, o
		if isNew(o) {
			mine, other = o, s
		}
		errs = append(errs, &schedule.Error{File: file, Line: mine.prog.Line, Msg: fmt.Sprintf(
			"id %q is also used by %s", s.prog.ID, other.where())})
	}
	if len(errs) > 0 {
		return errs // overlap messages name programs by id
	}
	if len(sets) < 2 {
		return nil
	}
	// Check the merged set with schedule's own overlap check, on copies
	// numbered 1..n so that the lines in its messages say which is which.
	merged := &schedule.File{Path: "merged", Location: s.Location}
	for i, s := range all {
		p := *s.prog
		p.Line = i + 1
		merged.Programs = append(merged.Programs, &p)
	}
	err := merged.CheckOverlaps(s.Now())
	if err == nil {
		return nil
	}
	for _, e := range asList("merged", err) {
		m := pairOverlap.FindStringSubmatch(e.Msg)
		if m == nil {
			errs = append(errs, &schedule.Error{File: file, Msg: e.Msg})
			continue
		}
		la, _ := strconv.Atoi(m[2])
		lb, _ := strconv.Atoi(m[4])
		if la < 1 || lb < 1 || la > len(all) || lb > len(all) {
			errs = append(errs, &schedule.Error{File: file, Msg: e.Msg})
			continue
		}
		a, b := all[la-1], all[lb-1]
		if a.set == b.set {
			continue // within one file: its own checks report it
		}
		if !isNew(a) && !isNew(b) {
			errs = append(errs, &schedule.Error{File: file, Msg: fmt.Sprintf(
				"programs %q of %s and %q of %s overlap on %s", a.prog.ID, a.where(), b.prog.ID, b.where(), m[5])})
			continue
		}
		mine, other := b, a
		if isNew(a) {
			mine, other = a, b
		}
		errs = append(errs, &schedule.Error{File: file, Line: mine.prog.Line, Msg: fmt.Sprintf(
			"program %q overlaps %q of %s on %s", mine.prog.ID, other.prog.ID, other.where(), m[5])})
	}
	return errs
}
