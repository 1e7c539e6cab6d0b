package player

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"loa/audio"
	"loa/schedule"
)

// The player's tests run it as the offline renderer does (agent/render.go):
// Step(now), then the engine's Mix of one block, on a virtual clock where
// the sample clock is the only clock. Nothing sleeps; a test of an hour of
// air takes milliseconds.
//
// Media are synthetic and self-describing: frame i of a medium sounds
// base+i·step, so one output sample says which medium is on air and at
// which of its frames, to the sample. Bases are 0.1 apart and the step is
// small enough that no medium reaches the next base.

const (
	testRate  = 8000
	testBlock = testRate / 10 // 100 ms, the daemon's step
	valueStep = 1e-7
)

var ict = time.FixedZone("ICT", 7*3600)

func wallTime(t testing.TB, s string) time.Time {
	t.Helper()
	v, err := time.ParseInLocation("2006-01-02 15:04:05.000", s, ict)
	if err != nil {
		v, err = time.ParseInLocation("2006-01-02 15:04:05", s, ict)
	}
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// medium is a synthetic media item.
type medium struct {
	name   string
	base   float64
	frames int64
}

func (m medium) sample(i int64) float64 { return m.base + float64(i)*valueStep }

// mediaSet is the store of the test: player.Media, the opener of its
// "cache files" and schedule.MediaResolver at once.
type mediaSet struct {
	mu    sync.Mutex
	items map[string]medium // by name (= key = path)
}

func newMedia(durations map[string]time.Duration) *mediaSet {
	ms := &mediaSet{items: map[string]medium{}}
	names := make([]string, 0, len(durations))
	for n := range durations {
		names = append(names, n)
	}
	// Bases by name order, so that a test reads the same on every run.
	sort.Strings(names)
	for i, n := range names {
		ms.items[n] = medium{name: n, base: 0.1 * float64(i+1), frames: audio.DurationToFrames(durations[n], testRate)}
	}
	return ms
}

func (ms *mediaSet) Lookup(key string) (MediaInfo, error) {
	m, ok := ms.items[key]
	if !ok {
		return MediaInfo{}, fmt.Errorf("no medium %q", key)
	}
	return MediaInfo{Path: key, Frames: m.frames}, nil
}

func (ms *mediaSet) Resolve(_, ref string) (schedule.Media, error) {
	m, ok := ms.items[ref]
	if !ok {
		return schedule.Media{}, fmt.Errorf("no medium %q", ref)
	}
	return schedule.Media{Key: ref, Duration: audio.FramesToDuration(m.frames, testRate)}, nil
}

func (ms *mediaSet) open(path string) (audio.FrameReader, error) {
	m, ok := ms.items[path]
	if !ok {
		return nil, fmt.Errorf("no file %q", path)
	}
	return toneReader{m}, nil
}

type toneReader struct{ m medium }

func (r toneReader) ReadFrames(at int64, dst [][2]float64) (int, error) {
	n := 0
	for ; n < len(dst) && at+int64(n) < r.m.frames; n++ {
		v := r.m.sample(at + int64(n))
		dst[n] = [2]float64{v, v}
	}
	return n, nil
}

func (toneReader) Close() error { return nil }

// shiftTime is a virtual time map whose wall clock can jump, as the real
// output's anchor follows a stepped system clock at once: frame f is heard
// at From + Shift + f/rate.
type shiftTime struct {
	From  time.Time
	Shift *time.Duration
}

func (s shiftTime) base() time.Time { return s.From.Add(*s.Shift) }

func (s shiftTime) FrameAt(t time.Time) (int64, bool) {
	return int64(math.Round(t.Sub(s.base()).Seconds() * testRate)), true
}

func (s shiftTime) TimeAt(frame int64) time.Time {
	return s.base().Add(audio.FramesToDuration(frame, testRate))
}

// asrunLog records the as-run entries.
type asrunLog struct{ rows []AsRun }

func (a *asrunLog) Record(e AsRun) { a.rows = append(a.rows, e) }

// rig is a player, its engine and a recording sink on virtual time.
type rig struct {
	t      *testing.T
	media  *mediaSet
	eng    *audio.Engine
	pl     *Player
	tm     shiftTime
	shift  time.Duration
	out    [][2]float64 // every frame mixed, from frame 0
	asrun  *asrunLog
	before func(now time.Time) // called before each step (to inject events)
}

// newRig starts a player whose output frame 0 is heard at from, with the
// programs of yaml (media by name from media) loaded and the clock trusted.
func newRig(t *testing.T, cfg Config, from time.Time, media map[string]time.Duration, yaml string) *rig {
	t.Helper()
	r := &rig{t: t, media: newMedia(media), asrun: &asrunLog{}}
	r.tm = shiftTime{From: from, Shift: &r.shift}
	r.eng = audio.NewEngine(audio.EngineConfig{Rate: testRate})
	cfg.Rate = testRate
	r.pl = New(cfg, r.eng, r.tm, r.media, r.media.open, r.asrun, nil)
	if yaml != "" {
		f, err := schedule.Parse("p.yaml", []byte(strings.TrimLeft(yaml, "\n")))
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Resolve(r.media); err != nil {
			t.Fatal(err)
		}
		for _, p := range f.Programs {
			p.Source = "local"
		}
		r.pl.SetSchedule(schedule.New(ict, schedule.Source{Name: "local", Rank: 1, File: f}))
	}
	r.pl.SetClockTrusted(true)
	return r
}

// pos is the next output frame to be mixed.
func (r *rig) pos() int64 { return int64(len(r.out)) }

// outputLead is how far the output runs ahead of the wall clock: the frames
// mixed so far are heard up to 100 ms from now, as with the daemon's sound
// card buffer (audio.buffer) — so that, as in the daemon, the first frame
// the player can still change is a little after the instant of its step.
const outputLead = 100 * time.Millisecond

// now is the wall clock: the next frame to be mixed is heard outputLead
// later.
func (r *rig) now() time.Time { return r.tm.TimeAt(r.pos()).Add(-outputLead) }

// run steps and mixes for d of output.
func (r *rig) run(d time.Duration) {
	r.t.Helper()
	end := r.pos() + audio.DurationToFrames(d, testRate)
	buf := make([][2]float64, testBlock)
	for r.pos() < end {
		n := min(int64(testBlock), end-r.pos())
		if r.before != nil {
			r.before(r.now())
		}
		r.pl.Step(r.now())
		r.eng.Mix(buf[:n])
		r.out = append(r.out, buf[:n]...)
	}
}

// runUntil runs to the wall-clock instant t (by the clock of now).
func (r *rig) runUntil(t time.Time) {
	r.t.Helper()
	if d := t.Sub(r.now()); d > 0 {
		r.run(d)
	}
}

// jump steps the wall clock by d, as NTP or an operator would, and tells
// the player, as the daemon does when its jump detector fires.
func (r *rig) jump(d time.Duration) {
	r.shift += d
	r.pl.ClockJumped(d)
}

// finish steps once more to collect the last events, and logs what is
// still on air.
func (r *rig) finish() {
	r.pl.Step(r.now())
	r.pl.Flush(r.now(), "end of the test")
}

// frameOf is the output frame heard at t by the current clock.
func (r *rig) frameOf(t time.Time) int64 {
	f, _ := r.tm.FrameAt(t)
	return f
}

func (r *rig) frames(d time.Duration) int64 { return audio.DurationToFrames(d, testRate) }

// decode says which medium, at which of its frames, sounds at v with gain 1.
func (r *rig) decode(v float64) (name string, index int64, ok bool) {
	for _, m := range r.media.items {
		i := math.Round((v - m.base) / valueStep)
		if i < 0 || int64(i) >= m.frames {
			continue
		}
		if math.Abs(m.sample(int64(i))-v) < valueStep/100 {
			return m.name, int64(i), true
		}
	}
	return "", 0, false
}

// run of output where one medium plays at gain 1, frame after frame.
type stretch struct {
	name       string
	frame, idx int64 // first output frame, and the medium's frame there
	n          int64
}

func (s stretch) String() string {
	return fmt.Sprintf("%s[%d:%d]@%d", s.name, s.idx, s.idx+s.n, s.frame)
}

// stretches lists where the media play unaltered, in output order; fades
// and silence separate them. Stretches shorter than 10 frames are left out
// (a faded sample may land on another medium's value by chance).
func (r *rig) stretches() []stretch {
	var out []stretch
	var cur *stretch
	for f, x := range r.out {
		name, idx, ok := r.decode(x[0])
		if ok && x[1] == x[0] && cur != nil && cur.name == name && cur.idx+cur.n == idx && cur.frame+cur.n == int64(f) {
			cur.n++
			continue
		}
		if cur != nil && cur.n >= 10 {
			out = append(out, *cur)
		}
		cur = nil
		if ok {
			cur = &stretch{name: name, frame: int64(f), idx: idx, n: 1}
		}
	}
	if cur != nil && cur.n >= 10 {
		out = append(out, *cur)
	}
	return out
}

// heard is how many frames of the medium were heard unaltered, in total.
func (r *rig) heard(name string) int64 {
	var n int64
	for _, s := range r.stretches() {
		if s.name == name {
			n += s.n
		}
	}
	return n
}

// expectPlays checks that the medium plays unaltered from output frame
// `frame`, at its frame idx, for n frames.
func (r *rig) expectPlays(name string, frame, idx, n int64) {
	r.t.Helper()
	m := r.media.items[name]
	if frame < 0 || frame+n > r.pos() {
		r.t.Fatalf("%s expected at frames [%d, %d), outside the %d frames mixed", name, frame, frame+n, r.pos())
	}
	for k := int64(0); k < n; k++ {
		want := m.sample(idx + k)
		if got := r.out[frame+k][0]; math.Abs(got-want) > valueStep/100 {
			gn, gi, ok := r.decode(got)
			r.t.Fatalf("output frame %d: %v (%s frame %d, decoded %v), want %s frame %d\nstretches: %v",
				frame+k, got, gn, gi, ok, name, idx+k, r.stretches())
		}
	}
}

// expectSilent checks that output frames [from, to) are digital silence.
func (r *rig) expectSilent(from, to int64) {
	r.t.Helper()
	for f := max(from, 0); f < min(to, r.pos()); f++ {
		if r.out[f] != [2]float64{} {
			r.t.Fatalf("output frame %d: %v, want silence\nstretches: %v", f, r.out[f], r.stretches())
		}
	}
}

// gainAt is the gain the medium playing at output frame f was heard at,
// given that it is frame idx of name.
func (r *rig) gainAt(f int64, name string, idx int64) float64 {
	return r.out[f][0] / r.media.items[name].sample(idx)
}

// rows returns the as-run entries of a program (or alert) id.
func (r *rig) rows(id string) []AsRun {
	var out []AsRun
	for _, e := range r.asrun.rows {
		if e.Program == id {
			out = append(out, e)
		}
	}
	return out
}

func (r *rig) logAsRun() {
	for _, e := range r.asrun.rows {
		r.t.Logf("as-run %s %s part %d %s planned %s actual %s end %s note %q", e.Kind, e.Program, e.Part, e.Result,
			e.Planned.In(ict).Format("15:04:05.000"), e.Actual.In(ict).Format("15:04:05.000"), e.End.In(ict).Format("15:04:05.000"), e.Note)
	}
}

// silentLive is a live voice of digital silence, so that the output shows
// the program's level alone.
type silentLive struct{ closed bool }

func (s *silentLive) Stream(dst [][2]float64) (int, bool) {
	clear(dst)
	return len(dst), true
}

func (s *silentLive) Close() error { s.closed = true; return nil }

// failingLive is a live voice whose source fails (silence, and Err) from
// its failAt-th frame on, as a relay does when the city is gone.
type failingLive struct {
	silentLive
	frames, failAt int64
}

func (s *failingLive) Stream(dst [][2]float64) (int, bool) {
	s.frames += int64(len(dst))
	return s.silentLive.Stream(dst)
}

func (s *failingLive) Err() error {
	if s.frames > s.failAt {
		return errors.New("stream: connection refused")
	}
	return nil
}
