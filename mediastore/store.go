// Package mediastore keeps media files by content: a file's name is its
// sha256, so the same bulletin loaded twice is stored once, a download can
// be checked against its name, and nothing is ever overwritten in place.
//
// Layout under the data directory:
//
//	media/sha256/ab/abcdef…        the original file, as loaded or downloaded
//	cache/ab/abcdef…-44100.wav     its decode at the station rate (rebuildable)
//
// Every file is written to a temporary name in the same directory, synced,
// then renamed: a power cut leaves either the whole file or none.
package mediastore

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"loa/internal/atomicfile"
)

// ErrBadKey is returned for a key that is not 64 lowercase hex digits. Keys
// come from manifests and URLs: checking them is what keeps a key like
// "../../etc/passwd" out of the file system.
var ErrBadKey = errors.New("not a sha256 key (64 lowercase hex digits)")

// ErrMismatch is returned when content does not hash to the key it claims.
var ErrMismatch = errors.New("content does not match its sha256")

// Store is a content-addressed file store rooted at a data directory.
type Store struct {
	Dir string
}

// New returns the store under dir, creating its folders.
func New(dir string) (*Store, error) {
	for _, d := range []string{"media/sha256", "cache", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o750); err != nil {
			return nil, fmt.Errorf("media store: %w", err)
		}
	}
	return &Store{Dir: dir}, nil
}

// ValidKey reports whether key is a well-formed sha256 key.
func ValidKey(key string) bool {
	if len(key) != 64 {
		return false
	}
	for _, c := range key {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// Path is where the original of key lives.
func (s *Store) Path(key string) string {
	return filepath.Join(s.Dir, "media", "sha256", key[:2], key)
}

// CachePath is where the decode of key at rate lives.
func (s *Store) CachePath(key string, rate int) string {
	return filepath.Join(s.Dir, "cache", key[:2], key+"-"+strconv.Itoa(rate)+".wav")
}

// Has reports whether the original of key is stored.
func (s *Store) Has(key string) bool {
	if !ValidKey(key) {
		return false
	}
	_, err := os.Stat(s.Path(key))
	return err == nil
}

// HashFile returns the sha256 key and size of a file.
func HashFile(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// TempFile creates a temporary file inside the store, on the same file
// system as its final place, for a caller that writes a file to Commit
// later (a download, a decode).
func (s *Store) TempFile(pattern string) (*os.File, error) {
	return os.CreateTemp(filepath.Join(s.Dir, "tmp"), pattern)
}

// Put copies r into the store. If want is not empty the content must hash
// to it. It returns the key and the size.
func (s *Store) Put(r io.Reader, want string) (string, int64, error) {
	if want != "" && !ValidKey(want) {
		return "", 0, fmt.Errorf("media %q: %w", want, ErrBadKey)
	}
	f, err := s.TempFile("put-*")
	if err != nil {
		return "", 0, err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), r)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", 0, err
	}
	key := hex.EncodeToString(h.Sum(nil))
	if want != "" && key != want {
		return "", 0, fmt.Errorf("media %s: %w (got %s)", want, ErrMismatch, key)
	}
	if err := s.commit(tmp, s.Path(key)); err != nil {
		return "", 0, err
	}
	return key, n, nil
}

// PutFile copies the file at path into the store.
func (s *Store) PutFile(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	return s.Put(f, "")
}

// CommitFile moves a finished temporary file (from TempFile) to dst inside
// the store, atomically. The file must already be synced.
func (s *Store) CommitFile(tmp, dst string) error {
	if !strings.HasPrefix(filepath.Clean(dst), filepath.Clean(s.Dir)+string(filepath.Separator)) {
		return fmt.Errorf("media store: %s is outside %s", dst, s.Dir)
	}
	return s.commit(tmp, dst)
}

func (s *Store) commit(tmp, dst string) error {
	dir := filepath.Dir(dst)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	return atomicfile.Rename(tmp, dst)
}

// Verify re-hashes the stored original of key.
func (s *Store) Verify(key string) error {
	if !ValidKey(key) {
		return ErrBadKey
	}
	got, _, err := HashFile(s.Path(key))
	if err != nil {
		return err
	}
	if got != key {
		return fmt.Errorf("media %s: %w (got %s)", key, ErrMismatch, got)
	}
	return nil
}

// Remove deletes the original of key and every decode of it.
func (s *Store) Remove(key string) error {
	if !ValidKey(key) {
		return ErrBadKey
	}
	err := os.Remove(s.Path(key))
	if errors.Is(err, os.ErrNotExist) {
		err = nil
	}
	caches, _ := filepath.Glob(filepath.Join(s.Dir, "cache", key[:2], key+"-*.wav"))
	for _, c := range caches {
		if rerr := os.Remove(c); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
			err = errors.Join(err, rerr)
		}
	}
	return err
}

// Keys lists the keys of every stored original.
func (s *Store) Keys() ([]string, error) {
	var keys []string
	root := filepath.Join(s.Dir, "media", "sha256")
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && ValidKey(d.Name()) {
			keys = append(keys, d.Name())
		}
		return nil
	})
	return keys, err
}

// CleanTemp removes leftovers of writes cut short (a power cut in the
// middle of a load), except the files keep wants kept (partial downloads
// that a restarted sync resumes).
func (s *Store) CleanTemp(keep func(name string) bool) error {
	entries, err := os.ReadDir(filepath.Join(s.Dir, "tmp"))
	if err != nil {
		return err
	}
	for _, e := range entries {
		if keep != nil && keep(e.Name()) {
			continue
		}
		os.RemoveAll(filepath.Join(s.Dir, "tmp", e.Name()))
	}
	return nil
}
