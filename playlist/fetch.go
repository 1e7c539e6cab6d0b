package playlist

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"loa/internal/atomicfile"
	"loa/manifest"
	"loa/mediastore"
)

// FetchMedia downloads one media item outside a sync round (an alert's
// content or chime) and gives it to the station, checked against its
// sha256. It does not wait for a round in progress (which may be
// downloading a long program) and shares no partial file with it; a cut
// download starts over, since alert media are small. A verified download
// the station has no space for is kept as the item's complete partial
// file: the next try (or round) takes it from there, not from the city.
func (s *Syncer) FetchMedia(ctx context.Context, md manifest.Media) error {
	if !mediastore.ValidKey(md.SHA256) {
		return mediastore.ErrBadKey
	}
	if md.Size <= 0 {
		return fmt.Errorf("media %s: size %d", md.SHA256, md.Size)
	}
	if s.st.HasMedia(md.SHA256) {
		return nil
	}
	f, err := s.st.TempFile()
	if err != nil {
		return err
	}
	path := f.Name()
	done := false
	defer func() {
		if !done {
			f.Close()
		}
		os.Remove(path)
	}()
	kept := filepath.Join(filepath.Dir(path), partialPrefix+md.SHA256+partialSuffix)
	if verifiedFile(kept, md) {
		return s.addVerified(ctx, kept, md)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stall := time.AfterFunc(s.cfg.Timeout, cancel)
	defer stall.Stop()
	resp, err := s.mediaRequest(ctx, md, 0)
	if err != nil {
		return fmt.Errorf("media %s: %w", md.SHA256, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("media %s: %s", md.SHA256, httpError(resp))
	}
	h := sha256.New()
	body := &stallReader{r: resp.Body, t: stall, d: s.cfg.Timeout}
	n, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(body, md.Size+1))
	s.mu.Lock()
	s.status.Downloaded += n
	s.mu.Unlock()
	if err != nil {
		if ctx.Err() != nil && errors.Is(err, context.Canceled) {
			err = fmt.Errorf("no data for %s", s.cfg.Timeout)
		}
		return fmt.Errorf("media %s: cut off at %d of %d bytes: %w", md.SHA256, n, md.Size, err)
	}
	if n != md.Size || hex.EncodeToString(h.Sum(nil)) != md.SHA256 {
		s.log.Warn("media rejected", "media", md.SHA256, "reason", "sha256 mismatch", "bytes", n)
		return fmt.Errorf("media %s: %w (%d bytes, want %d)", md.SHA256, ErrMismatch, n, md.Size)
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	done = true
	if err != nil {
		return fmt.Errorf("media %s: %w", md.SHA256, err)
	}
	if !verifiedFile(kept, md) {
		// Under its partial name, so that a lack of space keeps it.
		if err := atomicfile.Rename(path, kept); err != nil {
			return fmt.Errorf("media %s: %w", md.SHA256, err)
		}
	}
	return s.addVerified(ctx, kept, md)
}

// verifiedFile reports whether path holds md, whole and with its sha256.
func verifiedFile(path string, md manifest.Media) bool {
	fi, err := os.Stat(path)
	if err != nil || fi.Size() != md.Size {
		return false
	}
	got, n, err := mediastore.HashFile(path)
	return err == nil && n == md.Size && got == md.SHA256
}
