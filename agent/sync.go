package agent

import (
	"context"
	"fmt"
	"os"
	"strconv"

	"loa/manifest"
	"loa/mediastore"
	"loa/playlist"
	"loa/sqlite"
)

// cityStation is the ward's side of the city sync (playlist.Station): it
// takes verified downloads into the media store, decoded and measured like
// a local load, and switches the city's programs in one transaction.
type cityStation struct {
	st *Station
}

var _ playlist.Station = cityStation{}

// ManifestVersion is the version of the city programs in effect, from the
// database, so that it survives restarts (replay protection).
func (c cityStation) ManifestVersion() int64 {
	srcs, err := c.st.DB.ProgramSources(context.Background())
	if err != nil {
		return 0
	}
	for _, s := range srcs {
		if s.Name == SourceCity {
			v, _ := strconv.ParseInt(s.Version, 10, 64)
			return v
		}
	}
	return 0
}

// HasMedia is true when the original, its decode at the station rate and
// its database row are all there.
func (c cityStation) HasMedia(key string) bool {
	if !mediastore.ValidKey(key) || !c.st.Store.Has(key) {
		return false
	}
	m, err := c.st.DB.Media(context.Background(), key)
	if err != nil || m.CacheRate != c.st.Rate {
		return false
	}
	_, err = os.Stat(c.st.Store.CachePath(key, c.st.Rate))
	return err == nil
}

func (c cityStation) TempFile() (*os.File, error) { return c.st.Store.TempFile("sync-*") }

// AddMedia decodes a verified download into the cache, then moves it into
// the store and records it.
func (c cityStation) AddMedia(ctx context.Context, key, path string) error {
	if !mediastore.ValidKey(key) {
		return mediastore.ErrBadKey
	}
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	tmp, err := c.st.Store.TempFile("cache-*.wav")
	if err != nil {
		return err
	}
	cache := tmp.Name()
	tmp.Close()
	defer os.Remove(cache)
	// Media from the city is its canonical transcode: nothing to warn of.
	m, _, err := decodeMedia(ctx, path, cache, key, fi.Size(), c.st.Rate, c.st.Now())
	if err != nil {
		return fmt.Errorf("media %s: %s", key, err)
	}
	m.Name = key
	if err := c.st.Store.CommitFile(cache, c.st.Store.CachePath(key, c.st.Rate)); err != nil {
		return err
	}
	if err := c.st.Store.CommitFile(path, c.st.Store.Path(key)); err != nil {
		return err
	}
	return c.st.DB.PutMedia(ctx, m)
}

// ApplyManifest checks the city's programs against the media here and
// makes them the city programs in effect. An error changes nothing.
func (c cityStation) ApplyManifest(ctx context.Context, m *manifest.Manifest) error {
	path := fmt.Sprintf("city manifest v%d", m.Version)
	f, err := m.File(path)
	if err != nil {
		return err
	}
	refs := map[string]string{}
	for _, r := range manifest.References(f) {
		if !mediastore.ValidKey(r.Ref) {
			return fmt.Errorf("%s: line %d: media %q is not a sha256 key", path, r.Line, r.Ref)
		}
		refs[r.Ref] = r.Ref
	}
	if err := f.Resolve(storedResolver{ctx: ctx, db: c.st.DB, store: c.st.Store, rate: c.st.Rate, refs: refs}); err != nil {
		return err
	}
	if err := f.CheckOverlaps(c.st.Now()); err != nil {
		return err
	}
	src := sqlite.ProgramSource{Name: SourceCity, Path: path, Body: []byte(m.Programs), MediaMap: refs, Version: strconv.FormatInt(m.Version, 10)}
	if err := c.st.DB.ReplaceProgramSource(ctx, src, nil); err != nil {
		return err
	}
	// The operators' names for the media, for the as-run log and status.
	for _, md := range m.Media {
		if md.Name != "" {
			c.st.DB.SetMediaName(ctx, md.SHA256, md.Name)
		}
	}
	return nil
}

// SyncState is the city sync's part of the status.
type SyncState struct {
	City        string  `json:"city"`
	Version     int64   `json:"version"`
	LastSuccess string  `json:"last_success,omitempty"`
	AgeSeconds  float64 `json:"age_s"`
	LastError   string  `json:"last_error,omitempty"`
	Pending     int     `json:"pending_media"`
	Failures    int     `json:"failures"`
}
