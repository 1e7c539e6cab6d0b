package city

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
func (c *City) rebuild(l *setLoader, wards []sqlite.Ward) ([]string, error) {
	changed := []string{}
	for _, w := range wards {
		ok, err := c.buildManifest(l, w)
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
func (c *City) RebuildAll(ctx context.Context) ([]string, error) {
	var changed []string
	err := c.DB.Update(ctx, func(tx sqlite.CityTx) error {
		wards, err := tx.Wards(ctx)
		if err != nil {
			return err
		}
		changed, err = c.rebuild(newSetLoader(ctx, tx), wards)
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
func (c *City) buildManifest(l *setLoader, w sqlite.Ward) (bool, error) {
	sets, err := l.effective(w)
	if err != nil {
		return false, err
	}
	var progs []*schedule.Program
	for _, s := range sets {
		progs = append(progs, s.file.Programs...)
	}
	yml, err := manifest.EncodePrograms(c.loc, progs)
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
	h := sha256.New()
	h.Write(yml)
	mj, _ := json.Marshal(media)
	h.Write(mj)
	h.Write([]byte(c.keyID))
	hash := hex.EncodeToString(h.Sum(nil))

	old, err := l.tx.WardManifest(l.ctx, w.ID)
	switch {
	case err == nil && old.ContentHash == hash:
		return false, nil
	case err != nil && !errors.Is(err, sqlite.ErrNotFound):
		return false, err
	}
	now := c.Now()
	m := &manifest.Manifest{Ward: w.ID, Version: max(old.Version+1, now.UnixMilli()), Issued: now.UTC(),
		Timezone: c.loc.String(), Programs: string(yml), Media: media}
	if m.Media == nil {
		m.Media = []manifest.Media{}
	}
	env, err := manifest.Sign(c.key, m)
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
		KeyID: c.keyID, ETag: strconv.Quote(strconv.FormatInt(m.Version, 10)), Envelope: envJSON, Gzip: gz.Bytes(),
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
