// Package playlist keeps a ward in step with the city: it polls the ward's
// signed manifest, verifies it, downloads the media it needs (resuming cut
// downloads, checking every byte against its sha256), and hands the
// manifest to the station only when every file is there.
//
// What reaches the station has passed, in order: the city's signature
// (against keys configured on the ward, not sent by the city), the size and
// shape checks of manifest.Decode, the ward check, the replay check (a
// version never goes back), and a sha256 check of every media file. A city
// that answers errors, hangs or lies leaves the program in effect as it was.
package playlist

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"loa/internal/backoff"
	"loa/internal/diskspace"
	"loa/manifest"
	"loa/mediastore"
)

// Station is the ward's side: what the syncer asks of the agent.
type Station interface {
	// ManifestVersion is the version in effect (0: none).
	ManifestVersion() int64
	HasMedia(key string) bool
	// TempFile creates a file on the media store's file system; the syncer
	// keeps its partial downloads in that file's folder.
	TempFile() (*os.File, error)
	// AddMedia takes a complete, sha256-verified download at path: the
	// station moves it into its store and prepares it.
	AddMedia(ctx context.Context, key, path string) error
	// ApplyManifest validates m and switches to it atomically; an error
	// means it was rejected and nothing changed.
	ApplyManifest(ctx context.Context, m *manifest.Manifest) error
}

// Config configures a Syncer. CityURL, Token and PublicKeys are required.
type Config struct {
	// CityURL is the city's base URL (http://city:8780).
	CityURL string
	// Token is the ward's token (loa-city ward add).
	Token string
	// PublicKeys are the city keys the ward trusts.
	PublicKeys []ed25519.PublicKey
	// Ward, if set, is the ward's id: a manifest for another ward is
	// rejected (a replay of a neighbour's manifest).
	Ward string
	// Interval between polls (default 60s), each ±10%.
	Interval time.Duration
	// MaxBackoff bounds the wait after failures (default 10m).
	MaxBackoff time.Duration
	// Timeout bounds a manifest request, and how long a media download may
	// receive nothing before it is dropped (default 30s).
	Timeout time.Duration
	HTTP    *http.Client
	Now     func() time.Time
	Log     *slog.Logger
	// Space, if set, is asked before each media download: an error (the
	// disk is nearly full) stops the round there, and is its error. The
	// database's last space is not given to media.
	Space func() error
}

// Status is what the syncer last did.
type Status struct {
	LastAttempt time.Time
	LastSuccess time.Time
	// LastError is the last round's error; "" after a success.
	LastError string
	// Failures counts the rounds failed in a row.
	Failures int
	// Version is the station's version in effect; CityVersion the latest
	// verified one from the city (greater while downloading).
	Version     int64
	CityVersion int64
	// Pending and PendingBytes are the media of CityVersion not yet here.
	Pending      int
	PendingBytes int64
	// Downloaded counts media bytes received since start.
	Downloaded int64
}

// Errors of a round, for logs and tests.
var (
	// ErrReplay: the manifest is older than (or as old as, but different
	// from) the one in effect.
	ErrReplay = errors.New("manifest replayed: not newer than the one in effect")
	// ErrWrongWard: the manifest is for another ward.
	ErrWrongWard = errors.New("manifest is for another ward")
	// ErrMismatch: downloaded bytes do not hash to their key.
	ErrMismatch = errors.New("download does not match its sha256")
)

// Syncer polls the city for one ward.
type Syncer struct {
	cfg     Config
	st      Station
	base    *url.URL
	trigger chan struct{}
	log     *slog.Logger

	pollMu sync.Mutex // one round at a time; guards the fields below
	etag   string
	latest *manifest.Manifest // last verified manifest from the city
	hash   [32]byte           // of latest's payload
	// applied is the payload hash of the version this process applied or
	// found in effect (zero: unknown).
	applied    [32]byte
	partialDir string

	mu     sync.Mutex
	status Status
}

// NewSyncer returns a syncer for st. Run starts it.
func NewSyncer(cfg Config, st Station) *Syncer {
	if cfg.Interval <= 0 {
		cfg.Interval = 60 * time.Second
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 10 * time.Minute
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.HTTP == nil {
		cfg.HTTP = &http.Client{Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: 15 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			TLSHandshakeTimeout:   15 * time.Second,
			ResponseHeaderTimeout: cfg.Timeout,
			IdleConnTimeout:       90 * time.Second,
			MaxIdleConnsPerHost:   2,
		}}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	s := &Syncer{cfg: cfg, st: st, trigger: make(chan struct{}, 1), log: cfg.Log}
	s.base, _ = url.Parse(strings.TrimRight(cfg.CityURL, "/") + "/")
	return s
}

// Run polls until ctx ends: every Interval (±10%) after a success, after a
// growing, jittered wait (up to MaxBackoff) after a failure, and at once
// after SyncNow.
func (s *Syncer) Run(ctx context.Context) {
	for {
		err := s.Poll(ctx)
		if ctx.Err() != nil {
			return
		}
		wait := s.nextWait(err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-s.trigger:
			t.Stop()
		case <-t.C:
		}
	}
}

func (s *Syncer) nextWait(err error) time.Duration {
	if err == nil {
		// ±10%: a hundred wards restarted together spread out.
		return time.Duration(float64(s.cfg.Interval) * (0.9 + 0.2*rand.Float64()))
	}
	s.mu.Lock()
	n := s.status.Failures
	s.mu.Unlock()
	return backoff.Wait(n, min(s.cfg.Interval, 5*time.Second), s.cfg.MaxBackoff)
}

// SyncNow makes Run poll at once (a notification from the city).
func (s *Syncer) SyncNow() {
	select {
	case s.trigger <- struct{}{}:
	default:
	}
}

// Status returns what the syncer last did.
func (s *Syncer) Status() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.status
	st.Version = s.st.ManifestVersion()
	return st
}

// Poll runs one round: fetch, verify, download, apply. Run calls it; a
// command ("sync now") or a test may too.
func (s *Syncer) Poll(ctx context.Context) error {
	s.pollMu.Lock()
	defer s.pollMu.Unlock()
	s.mu.Lock()
	s.status.LastAttempt = s.cfg.Now()
	s.mu.Unlock()
	err := s.round(ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.status.LastError = err.Error()
		s.status.Failures++
		if ctx.Err() == nil {
			s.log.Warn("sync with the city failed", "err", err, "failures", s.status.Failures)
		}
		return err
	}
	s.status.LastError = ""
	s.status.Failures = 0
	s.status.LastSuccess = s.cfg.Now()
	return nil
}

func (s *Syncer) round(ctx context.Context) error {
	if err := s.fetch(ctx); err != nil {
		return err
	}
	m := s.latest
	cur := s.st.ManifestVersion()
	switch {
	case m.Version < cur:
		s.log.Warn("manifest rejected", "reason", "replay", "version", m.Version, "in_effect", cur)
		return fmt.Errorf("%w (version %d, in effect %d)", ErrReplay, m.Version, cur)
	case m.Version == cur:
		if s.applied != ([32]byte{}) && s.applied != s.hash {
			s.log.Warn("manifest rejected", "reason", "same version, other content", "version", m.Version)
			return fmt.Errorf("%w (version %d with other content)", ErrReplay, m.Version)
		}
		s.applied = s.hash
		s.setPending(m)
		return nil
	}
	if err := s.downloadAll(ctx, m); err != nil {
		return err
	}
	// Every file is here: only now may the station see the manifest.
	for _, md := range m.Media {
		if !s.st.HasMedia(md.SHA256) {
			return fmt.Errorf("media %s (%s) still missing after download", md.SHA256, md.Name)
		}
	}
	if err := s.st.ApplyManifest(ctx, m); err != nil {
		s.log.Warn("manifest rejected by the station", "version", m.Version, "err", err)
		return fmt.Errorf("apply manifest v%d: %w", m.Version, err)
	}
	s.applied = s.hash
	s.setPending(m)
	s.log.Info("manifest applied", "version", m.Version, "media", len(m.Media))
	s.cleanPartials(m)
	return nil
}

func (s *Syncer) setPending(m *manifest.Manifest) {
	n, bytes := 0, int64(0)
	for _, md := range m.Media {
		if !s.st.HasMedia(md.SHA256) {
			n++
			bytes += md.Size
		}
	}
	s.mu.Lock()
	s.status.CityVersion, s.status.Pending, s.status.PendingBytes = m.Version, n, bytes
	s.mu.Unlock()
}

// manifestVersionHeader tells the city which version is in effect.
const manifestVersionHeader = "Loa-Manifest-Version"

// fetch gets the manifest (or learns it did not change) and verifies it.
// On success s.latest is a verified manifest.
func (s *Syncer) fetch(ctx context.Context) error {
	if s.base == nil || s.base.Host == "" {
		return fmt.Errorf("city URL %q is not an http(s) URL", s.cfg.CityURL)
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.base.JoinPath("api/v1/manifest").String(), nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+s.cfg.Token)
	req.Header.Set(manifestVersionHeader, strconv.FormatInt(s.st.ManifestVersion(), 10))
	req.Header.Set("User-Agent", "loa-agent")
	if s.latest != nil && s.etag != "" {
		req.Header.Set("If-None-Match", s.etag)
	}
	resp, err := s.cfg.HTTP.Do(req)
	if err != nil {
		return fmt.Errorf("manifest: %w", err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusNotModified:
		if s.latest == nil {
			return errors.New("manifest: 304 Not Modified without a manifest asked about")
		}
		return nil
	case http.StatusOK:
	default:
		return fmt.Errorf("manifest: %s", httpError(resp))
	}
	env, err := manifest.ReadEnvelope(resp.Body)
	if err != nil {
		s.log.Warn("manifest rejected", "reason", "unreadable", "err", err)
		return fmt.Errorf("manifest: %w", err)
	}
	m, err := manifest.Open(env, s.cfg.PublicKeys...)
	if err != nil {
		s.log.Warn("manifest rejected", "reason", "signature or content", "key_id", env.KeyID, "err", err)
		return fmt.Errorf("manifest: %w", err)
	}
	if s.cfg.Ward != "" && m.Ward != s.cfg.Ward {
		s.log.Warn("manifest rejected", "reason", "other ward", "manifest_ward", m.Ward)
		return fmt.Errorf("%w: %q, this is %q", ErrWrongWard, m.Ward, s.cfg.Ward)
	}
	s.latest, s.hash, s.etag = m, sha256.Sum256(env.Payload), resp.Header.Get("ETag")
	return nil
}

// httpError describes an unexpected answer, with the city's own message.
func httpError(resp *http.Response) string {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	msg := strings.TrimSpace(string(b))
	if msg == "" {
		return resp.Status
	}
	return resp.Status + ": " + msg
}

func (s *Syncer) downloadAll(ctx context.Context, m *manifest.Manifest) error {
	for _, md := range m.Media {
		if s.st.HasMedia(md.SHA256) {
			continue
		}
		s.setPending(m)
		if s.cfg.Space != nil {
			if err := s.cfg.Space(); err != nil {
				return fmt.Errorf("media %s (%s) not downloaded: %w", md.SHA256, md.Name, err)
			}
		}
		if err := s.download(ctx, md); err != nil {
			return fmt.Errorf("media %s (%s): %w", md.SHA256, md.Name, err)
		}
	}
	s.setPending(m)
	return nil
}

// partialPath is where the partial download of key is kept, across
// restarts: beside the store's temporary files, named by key.
func (s *Syncer) partialPath(key string) (string, error) {
	if s.partialDir == "" {
		f, err := s.st.TempFile()
		if err != nil {
			return "", err
		}
		s.partialDir = filepath.Dir(f.Name())
		f.Close()
		os.Remove(f.Name())
	}
	return filepath.Join(s.partialDir, partialPrefix+key+partialSuffix), nil
}

const (
	partialPrefix = "download-"
	partialSuffix = ".part"
)

// IsPartial reports whether a file name in the store's temporary folder is
// a partial download, which a station must keep across restarts.
func IsPartial(name string) bool {
	key, ok := strings.CutPrefix(name, partialPrefix)
	key, ok2 := strings.CutSuffix(key, partialSuffix)
	return ok && ok2 && mediastore.ValidKey(key)
}

// cleanPartials removes partial downloads that the manifest in effect does
// not need (an item dropped before it was fetched).
func (s *Syncer) cleanPartials(m *manifest.Manifest) {
	if s.partialDir == "" {
		return
	}
	want := map[string]bool{}
	for _, md := range m.Media {
		want[md.SHA256] = true
	}
	entries, _ := os.ReadDir(s.partialDir)
	for _, e := range entries {
		n := e.Name()
		key, ok := strings.CutPrefix(n, partialPrefix)
		key, ok2 := strings.CutSuffix(key, partialSuffix)
		if ok && ok2 && mediastore.ValidKey(key) && !want[key] {
			os.Remove(filepath.Join(s.partialDir, n))
		}
	}
}

// mediaRequest asks for md's bytes from offset have on (a resumed
// download), with the token when the URL is the city's own.
func (s *Syncer) mediaRequest(ctx context.Context, md manifest.Media, have int64) (*http.Response, error) {
	u, auth, err := s.mediaURL(md)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	if auth {
		req.Header.Set("Authorization", "Bearer "+s.cfg.Token)
	}
	req.Header.Set("User-Agent", "loa-agent")
	if have > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", have))
		req.Header.Set("If-Range", `"`+md.SHA256+`"`)
	}
	return s.cfg.HTTP.Do(req)
}

// mediaURL is where to fetch md: its URL resolved against the city's, or
// the city's media endpoint. auth says whether to send the token (only to
// the city itself).
func (s *Syncer) mediaURL(md manifest.Media) (u *url.URL, auth bool, err error) {
	if md.URL == "" {
		u = s.base.JoinPath("api/v1/media", md.SHA256)
	} else if u, err = s.base.Parse(md.URL); err != nil {
		return nil, false, err
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, false, fmt.Errorf("url %q is not http(s)", md.URL)
	}
	return u, u.Scheme == s.base.Scheme && u.Host == s.base.Host, nil
}

// download fetches md into its partial file, resuming what is there, checks
// its sha256 and gives it to the station.
func (s *Syncer) download(ctx context.Context, md manifest.Media) error {
	if !mediastore.ValidKey(md.SHA256) {
		return mediastore.ErrBadKey // manifest.Decode refuses these already
	}
	path, err := s.partialPath(md.SHA256)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return err
	}
	done := false
	defer func() {
		if !done {
			f.Close()
		}
	}()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	have := st.Size()
	h := sha256.New()
	if have > md.Size {
		have = 0
	} else if have > 0 {
		if _, err := io.Copy(h, io.NewSectionReader(f, 0, have)); err != nil {
			return err
		}
	}
	if have == md.Size && fmt.Sprintf("%x", h.Sum(nil)) == md.SHA256 {
		return s.finish(ctx, f, path, md, &done)
	}
	if have == md.Size {
		have = 0 // complete but wrong: start over
	}
	if have == 0 {
		h.Reset()
		if err := f.Truncate(0); err != nil {
			return err
		}
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// A city that stops sending is dropped after Timeout of silence.
	stall := time.AfterFunc(s.cfg.Timeout, cancel)
	defer stall.Stop()
	resp, err := s.mediaRequest(ctx, md, have)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		if have > 0 {
			have = 0
			h.Reset()
			if err := f.Truncate(0); err != nil {
				return err
			}
		}
	case http.StatusPartialContent:
		start, total, ok := parseContentRange(resp.Header.Get("Content-Range"))
		if !ok || start != have || (total >= 0 && total != md.Size) {
			return fmt.Errorf("city answered range %q for bytes %d- of %d", resp.Header.Get("Content-Range"), have, md.Size)
		}
	case http.StatusRequestedRangeNotSatisfiable:
		f.Truncate(0)
		return fmt.Errorf("city refused to resume at %d; starting over next round", have)
	default:
		return errors.New(httpError(resp))
	}
	if _, err := f.Seek(have, io.SeekStart); err != nil {
		return err
	}
	body := &stallReader{r: resp.Body, t: stall, d: s.cfg.Timeout}
	n, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(body, md.Size-have+1))
	s.mu.Lock()
	s.status.Downloaded += n
	s.mu.Unlock()
	have += n
	if err != nil {
		f.Sync()
		if ctx.Err() != nil && errors.Is(err, context.Canceled) {
			err = fmt.Errorf("no data for %s", s.cfg.Timeout)
		}
		return fmt.Errorf("cut off at %d of %d bytes (kept, to resume): %w", have, md.Size, err)
	}
	if have != md.Size || fmt.Sprintf("%x", h.Sum(nil)) != md.SHA256 {
		f.Close()
		done = true
		os.Remove(path)
		if have < md.Size {
			return fmt.Errorf("cut off at %d of %d bytes", have, md.Size)
		}
		s.log.Warn("media rejected", "media", md.SHA256, "reason", "sha256 mismatch", "bytes", have)
		return fmt.Errorf("%w (%d bytes, want %d)", ErrMismatch, have, md.Size)
	}
	return s.finish(ctx, f, path, md, &done)
}

// finish syncs a verified download and gives it to the station.
func (s *Syncer) finish(ctx context.Context, f *os.File, path string, md manifest.Media, done *bool) error {
	err := f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	*done = true
	if err != nil {
		return err
	}
	return s.addVerified(ctx, path, md)
}

// addVerified gives a verified download at path to the station. What the
// station refuses for lack of space is kept when it is a partial file.
func (s *Syncer) addVerified(ctx context.Context, path string, md manifest.Media) error {
	if err := s.st.AddMedia(ctx, md.SHA256, path); err != nil {
		if diskspace.IsFull(err) && IsPartial(filepath.Base(path)) {
			// Verified already: kept, so that the next round takes it
			// from here rather than from the city again.
			s.log.Warn("verified download kept: the station has no space for it yet", "media", md.SHA256, "err", err)
			return fmt.Errorf("station refused it (kept, verified): %w", err)
		}
		os.Remove(path)
		return fmt.Errorf("station refused it: %w", err)
	}
	os.Remove(path) // normally moved away already
	return nil
}

// parseContentRange reads "bytes START-END/TOTAL" (TOTAL may be *: -1).
func parseContentRange(s string) (start, total int64, ok bool) {
	rest, ok := strings.CutPrefix(s, "bytes ")
	if !ok {
		return 0, 0, false
	}
	rng, tot, ok := strings.Cut(rest, "/")
	if !ok {
		return 0, 0, false
	}
	a, _, ok := strings.Cut(rng, "-")
	if !ok {
		return 0, 0, false
	}
	start, err := strconv.ParseInt(a, 10, 64)
	if err != nil {
		return 0, 0, false
	}
	total = -1
	if tot != "*" {
		if total, err = strconv.ParseInt(tot, 10, 64); err != nil {
			return 0, 0, false
		}
	}
	return start, total, true
}

// stallReader pushes the stall deadline back on every read that brings data.
type stallReader struct {
	r io.Reader
	t *time.Timer
	d time.Duration
}

func (s *stallReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if n > 0 {
		s.t.Reset(s.d)
	}
	return n, err
}
