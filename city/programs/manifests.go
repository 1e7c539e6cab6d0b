package programs

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"loa/manifest"
	"loa/schedule"
	"loa/sqlite"
)

// rebuild re-issues the manifests of wards whose effective programs
// changed, and returns their ids.
func (s *Service) rebuild(l *setLoader, wards []sqlite.Ward) ([]string, error) {
	changed := []string{}
	for _, w := range wards {
		ok, err := s.buildManifest(l, w)
		if err != nil {
			return nil, fmt.Errorf("manifest of ward %s: %w", w.ID, err)
		}
		if ok {
			changed = append(changed, w.ID)
		}
	}
	return changed, nil
}

// RebuildAll re-issues every manifest that is out of date: after an
// upgrade, a change of time zone or of signing key.
func (s *Service) RebuildAll(ctx context.Context) ([]string, error) {
	var changed []string
	err := s.Store.Update(ctx, func(tx Tx) error {
		wards, err := tx.Wards(ctx)
		if err != nil {
			return err
		}
		changed, err = s.rebuild(newSetLoader(ctx, tx), wards)
		return err
	})
	return changed, err
}

// buildManifest computes ward w's manifest and stores it, signed, with a
// new version if its content differs from the stored one. It reports
// whether it did.
//
// The version is max(previous+1, now in unix milliseconds): increasing on
// every change, and still above what wards hold if the city's database is
// ever restored from an older backup.
func (s *Service) buildManifest(l *setLoader, w sqlite.Ward) (bool, error) {
	sets, err := l.effective(w)
	if err != nil {
		return false, err
	}
	var progs []*schedule.Program
	for _, s := range sets {
		progs = append(progs, s.file.Programs...)
	}
	yml, err := manifest.EncodePrograms(s.Location, progs)
	if err != nil {
		return false, err
	}
	var media []manifest.Media
	seen := map[string]bool{}
	for _, p := range progs {
		for _, ref := range programRefs(p) {
			if seen[ref.Key] {
				continue
			}
			seen[ref.Key] = true
			m, err := l.mediaInfo(ref.Key)
			if err != nil {
				return false, err
			}
			// The name it was first uploaded as: names given later must
			// not re-issue manifests whose programs did not change.
			media = append(media, manifest.Media{SHA256: m.SHA256, Size: m.Size, Name: m.OriginalName, URL: "/api/v1/media/" + m.SHA256})
		}
	}
	keyID := s.Signer.KeyID()
	h := sha256.New()
	h.Write(yml)
	mj, _ := json.Marshal(media)
	h.Write(mj)
	h.Write([]byte(keyID))
	hash := hex.EncodeToString(h.Sum(nil))

	old, err := l.tx.WardManifest(l.ctx, w.ID)
	switch {
	case err == nil && old.ContentHash == hash:
		return false, nil
	case err != nil && !errors.Is(err, sqlite.ErrNotFound):
		return false, err
	}
	now := s.Now()
	m := &manifest.Manifest{Ward: w.ID, Version: max(old.Version+1, now.UnixMilli()), Issued: now.UTC(),
		Timezone: s.Location.String(), Programs: string(yml), Media: media}
	if m.Media == nil {
		m.Media = []manifest.Media{}
	}
	env, err := s.Signer.SignManifest(m)
	if err != nil {
		return false, err
	}
	envJSON, err := json.Marshal(env)
	if err != nil {
		return false, err
	}
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	zw.Write(envJSON)
	zw.Close()
	keys := make([]string, len(media))
	for i, md := range media {
		keys[i] = md.SHA256
	}
	err = l.tx.PutWardManifest(l.ctx, sqlite.WardManifest{Ward: w.ID, Version: m.Version, ContentHash: hash,
		KeyID: keyID, ETag: strconv.Quote(strconv.FormatInt(m.Version, 10)), Envelope: envJSON, Gzip: gz.Bytes(),
		Issued: now, Media: keys})
	return err == nil, err
}

// programRefs lists a program's media references: chime, items, fallback.
func programRefs(p *schedule.Program) []schedule.MediaRef {
	var out []schedule.MediaRef
	if p.Chime != nil {
		out = append(out, *p.Chime)
	}
	out = append(out, p.Items...)
	return append(out, p.Fallback...)
}

// WardManifest is a ward's signed manifest as it is served.
type WardManifest struct {
	ETag    string
	Version int64
	// Envelope is the signing.Envelope in JSON; Gzip the same, gzipped
	// (made once when it was issued). Both nil when NotModified.
	Envelope, Gzip []byte
	// NotModified: the ward has this version already.
	NotModified bool
}

// Manifest returns ward's manifest; ok is false when it has none yet.
// unchanged (nil: never) is asked with the current ETag first: if it says
// the ward holds that version, the envelope is not read and the answer is
// NotModified. A poll that changes nothing reads one row.
func (s *Service) Manifest(ctx context.Context, ward string, unchanged func(etag string) bool) (m WardManifest, ok bool, err error) {
	tx := s.Store.Read()
	etag, version, err := tx.ManifestETag(ctx, ward)
	if err != nil || etag == "" {
		return m, false, err
	}
	if unchanged != nil && unchanged(etag) {
		return WardManifest{ETag: etag, Version: version, NotModified: true}, true, nil
	}
	wm, err := tx.WardManifest(ctx, ward)
	if err != nil {
		return m, false, err
	}
	return WardManifest{ETag: wm.ETag, Version: wm.Version, Envelope: wm.Envelope, Gzip: wm.Gzip}, true, nil
}
