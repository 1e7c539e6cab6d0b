// Package playlisttest is a simple, real playlist.Station for tests and
// benchmarks: media go into a real mediastore.Store (checked to be audio
// the wards can decode), and applied manifests are recorded. It checks the
// syncer's promises itself: ApplyManifest refuses (and counts) a manifest
// whose media are not all in the store.
package playlisttest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"

	"loa/audio"
	"loa/manifest"
	"loa/mediastore"
)

// Station records what a syncer did to it.
type Station struct {
	Store *mediastore.Store
	// Probe, if set, makes AddMedia check the file is audio (audio.Probe).
	Probe bool
	// ApplyErr, if set, makes ApplyManifest refuse every manifest.
	ApplyErr error
	// AddErr, if set, makes AddMedia refuse every file (a full disk).
	AddErr error

	mu      sync.Mutex
	version int64
	applied []*manifest.Manifest
	added   []string
	// incomplete counts manifests handed over with media missing.
	incomplete int
}

// New returns a station over a new store in dir.
func New(dir string) (*Station, error) {
	st, err := mediastore.New(dir)
	if err != nil {
		return nil, err
	}
	return &Station{Store: st, Probe: true}, nil
}

// ManifestVersion implements playlist.Station.
func (s *Station) ManifestVersion() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.version
}

// SetVersion sets the version in effect (a station restarted with state).
func (s *Station) SetVersion(v int64) {
	s.mu.Lock()
	s.version = v
	s.mu.Unlock()
}

// HasMedia implements playlist.Station.
func (s *Station) HasMedia(key string) bool { return s.Store.Has(key) }

// TempFile implements playlist.Station.
func (s *Station) TempFile() (*os.File, error) { return s.Store.TempFile("sync-*") }

// AddMedia implements playlist.Station: it checks the hash (and that the
// file is audio) and moves the file into the store.
func (s *Station) AddMedia(ctx context.Context, key, path string) error {
	if !mediastore.ValidKey(key) {
		return mediastore.ErrBadKey
	}
	if s.AddErr != nil {
		return s.AddErr
	}
	got, _, err := mediastore.HashFile(path)
	if err != nil {
		return err
	}
	if got != key {
		return fmt.Errorf("%w: %s is %s", mediastore.ErrMismatch, key, got)
	}
	if s.Probe {
		if _, err := audio.Probe(path); err != nil {
			return err
		}
	}
	if err := s.Store.CommitFile(path, s.Store.Path(key)); err != nil {
		return err
	}
	s.mu.Lock()
	s.added = append(s.added, key)
	s.mu.Unlock()
	return nil
}

// ApplyManifest implements playlist.Station.
func (s *Station) ApplyManifest(ctx context.Context, m *manifest.Manifest) error {
	for _, md := range m.Media {
		if !s.Store.Has(md.SHA256) {
			s.mu.Lock()
			s.incomplete++
			s.mu.Unlock()
			return fmt.Errorf("media %s is not in the store", md.SHA256)
		}
	}
	if _, err := m.File(""); err != nil {
		return err
	}
	if s.ApplyErr != nil {
		return s.ApplyErr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if m.Version <= s.version {
		return errors.New("version not newer")
	}
	s.version = m.Version
	s.applied = append(s.applied, m)
	return nil
}

// Applied returns the manifests applied, in order.
func (s *Station) Applied() []*manifest.Manifest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*manifest.Manifest(nil), s.applied...)
}

// Added returns the media keys added, in order.
func (s *Station) Added() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.added...)
}

// Incomplete counts manifests handed to ApplyManifest with media missing:
// a syncer must never do that.
func (s *Station) Incomplete() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.incomplete
}
