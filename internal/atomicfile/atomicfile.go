// Package atomicfile writes files that appear whole or not at all, and stay
// after a power cut: a temporary file in the same directory, written,
// synced, then renamed (or linked) over the final name, and the directory
// synced. A station's configuration, keys, tokens and decoded media go
// through it, so that a crash mid-write never leaves a half file under a
// name the next start trusts, nor a stray temporary file.
//
// Replacing a file (Create then Commit, WriteFile) uses rename. Creating a
// file that must not already exist (CommitNew, WriteNew: a signing key, a
// token two processes may race to make) uses link, which fails with
// fs.ErrExist rather than replace what the other wrote.
package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// File is a file being written for path: a temporary file beside it. Write
// to it (it is an *os.File), then Commit or CommitNew; Abort (safe to defer,
// also after a Commit) removes it on every other way out.
type File struct {
	*os.File
	path string
	done bool
}

// Create starts a file for path: a temporary file, named after it and
// hidden (.NAME.*.tmp), in path's directory, with mode perm (not changed by
// the umask).
func Create(path string, perm fs.FileMode) (*File, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), tempPattern(path))
	if err != nil {
		return nil, err
	}
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return nil, err
	}
	return &File{File: tmp, path: path}, nil
}

// Path is the name the file gets at Commit.
func (f *File) Path() string { return f.path }

// Commit syncs and closes the file, renames it over its path (replacing
// what was there) and syncs the directory. On an error the temporary file
// is removed and the path keeps what it had.
func (f *File) Commit() error {
	return f.commit(func(tmp string) error { return os.Rename(tmp, f.path) })
}

// CommitNew is Commit for a file that must not exist yet: when path
// exists, it fails with an error wrapping fs.ErrExist and changes nothing.
func (f *File) CommitNew() error {
	return f.commit(func(tmp string) error {
		if err := os.Link(tmp, f.path); err != nil {
			return err
		}
		return os.Remove(tmp)
	})
}

func (f *File) commit(place func(tmp string) error) error {
	if f.done {
		return fmt.Errorf("write %s: already committed or aborted", f.path)
	}
	f.done = true
	tmp := f.Name()
	err := f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = place(tmp)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", f.path, err)
	}
	SyncDir(filepath.Dir(f.path))
	return nil
}

// Abort closes and removes the temporary file, unless it was committed.
func (f *File) Abort() {
	if f.done {
		return
	}
	f.done = true
	f.Close()
	os.Remove(f.Name())
}

// WriteFile writes data to path atomically, replacing any file there, with
// mode perm.
func WriteFile(path string, data []byte, perm fs.FileMode) error {
	f, err := Create(path, perm)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer f.Abort()
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Commit()
}

// WriteNew writes data to path atomically when no file is there: otherwise
// it fails with an error wrapping fs.ErrExist, even against a concurrent
// writer, and leaves the other's file as it is.
func WriteNew(path string, data []byte, perm fs.FileMode) error {
	if _, err := os.Lstat(path); err == nil {
		return fmt.Errorf("write %s: %w", path, fs.ErrExist)
	}
	f, err := Create(path, perm)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer f.Abort()
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.CommitNew()
}

// RemoveTemps removes the temporary files a crash left beside path (those
// Create names after it). Only for a path one writer at a time writes: it
// would remove a concurrent writer's file too.
func RemoveTemps(path string) error {
	left, err := filepath.Glob(filepath.Join(filepath.Dir(path), tempPattern(path)))
	if err != nil {
		return err
	}
	var errs []error
	for _, name := range left {
		if err := os.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func tempPattern(path string) string { return "." + filepath.Base(path) + ".*.tmp" }

// Rename moves a finished, synced file to newpath (on the same file
// system) and syncs newpath's directory, so that the move survives a power
// cut: for files written elsewhere than beside their final name (a media
// store's tmp folder).
func Rename(oldpath, newpath string) error {
	if err := os.Rename(oldpath, newpath); err != nil {
		return err
	}
	return SyncDir(filepath.Dir(newpath))
}

// SyncDir makes the names in dir durable (a rename, a link, a removal).
// Some file systems cannot sync a directory: that is not an error, as the
// files themselves are synced.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, errors.ErrUnsupported) && !isInvalid(err) {
		return err
	}
	return nil
}
