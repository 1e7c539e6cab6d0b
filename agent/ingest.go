package agent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"sync"
	"time"

	"loa/audio"
	"loa/audio/loudness"
	"loa/mediastore"
	"loa/schedule"
	"loa/sqlite"
)

// Ingest brings media files into a station: it hashes each file, checks it
// is audio, decodes it once to the PCM cache at the station rate and
// measures its loudness on that decode. Everything is staged in the store's
// temporary folder; nothing is in the store until Commit, so a program file
// with any error changes nothing.
//
// Ingest is a schedule.MediaResolver: program loading resolves media
// references through it.
type Ingest struct {
	// ctx ends the ingest early (a signal): every file not yet done
	// fails with ctx's error, and Discard removes what was staged.
	ctx   context.Context
	store *mediastore.Store
	db    *sqlite.AgentDB // may be nil (render: nothing is known yet)
	rate  int
	now   func() time.Time
	// Warn, if set, is told of problems that do not stop a file from
	// playing (an MP3 whose last frame is cut short), with the file's
	// path; the warning is in Vietnamese and English.
	Warn func(path, warning string)

	mu      sync.Mutex
	stage   string
	byPath  map[string]ingested
	staged  map[string]*stagedMedia
	working map[string]chan struct{} // keys being prepared: the same content under two names is decoded once
}

type ingested struct {
	key      string
	duration time.Duration
	err      error
}

type stagedMedia struct {
	media    sqlite.Media
	warnings []string
	original string // staged copy of the original
	cache    string // staged decode
}

// NewIngest prepares an ingest into store at the given station rate; it
// stops when ctx ends.
func NewIngest(ctx context.Context, store *mediastore.Store, db *sqlite.AgentDB, rate int, now func() time.Time) *Ingest {
	return &Ingest{ctx: ctx, store: store, db: db, rate: rate, now: now, byPath: map[string]ingested{}, staged: map[string]*stagedMedia{},
		working: map[string]chan struct{}{}}
}

// Resolve implements schedule.MediaResolver. Errors are the reason only:
// the schedule package puts the file, line and reference in front.
func (in *Ingest) Resolve(baseDir, ref string) (schedule.Media, error) {
	path := ref
	if !filepath.IsAbs(path) {
		path = filepath.Join(baseDir, ref)
	}
	in.mu.Lock()
	r, ok := in.byPath[path]
	in.mu.Unlock()
	if !ok {
		r = in.ingest(path)
		in.mu.Lock()
		in.byPath[path] = r
		in.mu.Unlock()
	}
	return schedule.Media{Key: r.key, Duration: r.duration}, r.err
}

// Prefetch ingests many files at once on all cores, so that the Resolve
// calls that follow find them done. Order and errors are Resolve's.
func (in *Ingest) Prefetch(paths []string, workers int) {
	if workers < 1 {
		workers = 1
	}
	ch := make(chan string)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range ch {
				in.Resolve("", p)
			}
		}()
	}
feed:
	for _, p := range paths {
		select {
		case ch <- p:
		case <-in.ctx.Done():
			break feed
		}
	}
	close(ch)
	wg.Wait()
}

func (in *Ingest) ingest(path string) ingested {
	if err := in.ctx.Err(); err != nil {
		return ingested{err: err}
	}
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return ingested{err: errors.New("no such file")}
	case errors.Is(err, fs.ErrPermission):
		return ingested{err: errors.New("cannot read the file: permission denied")}
	case err != nil:
		return ingested{err: fmt.Errorf("cannot read the file: %v", err)}
	case st.IsDir():
		return ingested{err: errors.New("is a folder, not a media file")}
	}
	key, size, err := mediastore.HashFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrPermission) {
			return ingested{err: errors.New("cannot read the file: permission denied")}
		}
		return ingested{err: fmt.Errorf("cannot read the file: %v", err)}
	}
	if d, ok := in.known(key); ok {
		return ingested{key: key, duration: d}
	}
	for {
		in.mu.Lock()
		if sm, ok := in.staged[key]; ok {
			in.mu.Unlock()
			return ingested{key: key, duration: sm.media.Duration()}
		}
		wait, busy := in.working[key]
		if !busy {
			in.working[key] = make(chan struct{})
			in.mu.Unlock()
			break
		}
		in.mu.Unlock()
		<-wait // the same content under another name: wait for it
	}
	sm, err := in.prepare(path, key, size)
	in.mu.Lock()
	if err == nil {
		in.staged[key] = sm
	}
	close(in.working[key])
	delete(in.working, key)
	in.mu.Unlock()
	if err != nil {
		return ingested{err: err}
	}
	if in.Warn != nil {
		for _, w := range sm.warnings {
			in.Warn(path, w)
		}
	}
	return ingested{key: key, duration: sm.media.Duration()}
}

// known reports media already in the store with a decode at this rate.
func (in *Ingest) known(key string) (time.Duration, bool) {
	if in.db == nil {
		return 0, false
	}
	m, err := in.db.Media(context.Background(), key)
	if err != nil || m.CacheRate != in.rate || !in.store.Has(key) {
		return 0, false
	}
	if _, err := os.Stat(in.store.CachePath(key, in.rate)); err != nil {
		return 0, false
	}
	return m.Duration(), true
}

func (in *Ingest) stageDir() (string, error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.stage == "" {
		dir, err := os.MkdirTemp(filepath.Join(in.store.Dir, "tmp"), "stage-")
		if err != nil {
			return "", err
		}
		in.stage = dir
	}
	return in.stage, nil
}

func (in *Ingest) prepare(path, key string, size int64) (*stagedMedia, error) {
	dir, err := in.stageDir()
	if err != nil {
		return nil, err
	}
	sm := &stagedMedia{original: filepath.Join(dir, key), cache: filepath.Join(dir, key+".wav")}
	m, warnings, err := decodeMedia(in.ctx, path, sm.cache, key, size, in.rate, in.now())
	if err != nil {
		return nil, err
	}
	sm.warnings = warnings
	if err := copyFile(in.ctx, path, sm.original, key); err != nil {
		os.Remove(sm.cache)
		if in.ctx.Err() != nil {
			return nil, in.ctx.Err()
		}
		return nil, fmt.Errorf("cannot copy into the store: %v", err)
	}
	sm.media = m
	return sm, nil
}

// decodeMedia checks that path is audio, decodes it once to a PCM cache file
// at rate (cache), and measures its loudness on that decode. Errors are the
// reason in plain words; warnings are the file's problems that do not stop
// it from playing (audio.MediaInfo.Warnings).
func decodeMedia(ctx context.Context, path, cache, key string, size int64, rate int, now time.Time) (sqlite.Media, []string, error) {
	info, err := audio.Probe(path)
	if err != nil {
		return sqlite.Media{}, nil, errors.New(plainReason(err))
	}
	meter := loudness.NewMeter(rate, info.Channels)
	prep, err := audio.PrepareContext(ctx, path, cache, rate, meter.Write)
	if err != nil {
		if ctx.Err() != nil {
			return sqlite.Media{}, nil, ctx.Err()
		}
		return sqlite.Media{}, nil, errors.New(plainReason(err))
	}
	m := sqlite.Media{
		SHA256: key, Size: size, Name: filepath.Base(path), Codec: info.Codec, SourceRate: info.Rate,
		Channels: prep.Channels, CacheRate: rate, Frames: prep.Frames, AddedAt: now,
	}
	if l := meter.Integrated(); !math.IsInf(l, 0) && !math.IsNaN(l) {
		m.LoudnessLUFS, m.HasLoudness = l, true
	}
	if tp := meter.TruePeak(); !math.IsInf(tp, 0) && !math.IsNaN(tp) {
		m.TruePeakDB = tp
	} else {
		m.TruePeakDB = -150
	}
	return m, prep.Info.Warnings, nil
}

// plainReason drops the file name the audio package puts in front: the
// program file's line and reference already say which file it is.
func plainReason(err error) string {
	r := audio.Reason(err)
	if errors.Is(err, audio.ErrNotAudio) {
		return "not an audio file: " + r
	}
	return r
}

// copyFile copies src to dst (synced), checking that what was read hashes
// to key: a file changed between the hash and the copy is not stored under
// the wrong name.
func copyFile(ctx context.Context, src, dst, key string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return err
	}
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(out, h), ctxReader{ctx, in}); err != nil {
		out.Close()
		os.Remove(dst)
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != key {
		os.Remove(dst)
		return fmt.Errorf("the file changed while it was being loaded (sha256 %s, then %s)", key, got)
	}
	return nil
}

// ctxReader stops a long copy when ctx ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// Staged lists the media staged so far (what Commit will add).
func (in *Ingest) Staged() []sqlite.Media {
	in.mu.Lock()
	defer in.mu.Unlock()
	out := make([]sqlite.Media, 0, len(in.staged))
	for _, sm := range in.staged {
		out = append(out, sm.media)
	}
	return out
}

// Commit moves the staged files into the store. The caller records the
// media rows (in the same transaction as the programs that use them).
func (in *Ingest) Commit() error {
	in.mu.Lock()
	defer in.mu.Unlock()
	for key, sm := range in.staged {
		if err := in.store.CommitFile(sm.original, in.store.Path(key)); err != nil {
			return err
		}
		if err := in.store.CommitFile(sm.cache, in.store.CachePath(key, in.rate)); err != nil {
			return err
		}
	}
	return nil
}

// Discard removes whatever was staged.
func (in *Ingest) Discard() {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.stage != "" {
		os.RemoveAll(in.stage)
		in.stage = ""
	}
	in.staged = map[string]*stagedMedia{}
}
