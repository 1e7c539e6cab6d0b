// Package diskspace keeps a ward's data folder from starving its database:
// it measures the space left, recognises "disk full" errors however they
// come (the kernel's ENOSPC, SQLite's SQLITE_FULL), and holds a reserve
// file, preallocated at start, that is given back the moment a write fails
// for lack of space, so that the alert's replay record, its receipts and
// the as-run log can still be written on a full card.
package diskspace

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"syscall"

	"loa/internal/atomicfile"
)

// Free returns the bytes an unprivileged process may still write in the
// file system that holds dir (statfs f_bavail: root's reserved blocks are
// not counted, the agent does not run as root).
func Free(dir string) (int64, error) {
	var fs syscall.Statfs_t
	if err := syscall.Statfs(dir, &fs); err != nil {
		return 0, fmt.Errorf("free space of %s: %w", dir, err)
	}
	return int64(fs.Bavail) * int64(fs.Bsize), nil
}

// IsFull reports whether err says the file system is full: ENOSPC or
// EDQUOT from the kernel, or SQLite's "database or disk is full"
// (SQLITE_FULL, which the driver returns as text).
func IsFull(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return true
	}
	s := err.Error()
	return strings.Contains(s, "database or disk is full") || strings.Contains(s, "no space left on device") ||
		strings.Contains(s, "SQLITE_FULL")
}

// Reserve is a file of Size bytes, allocated while there is space and
// released when a write fails for lack of it. It is the ward's promise to
// its database: whatever filled the card, the next few megabytes of alert
// state and as-run rows have a place.
type Reserve struct {
	Path string
	Size int64

	mu   sync.Mutex
	held bool
}

// Ensure creates the reserve file if it is not there (fallocate where the
// file system supports it, else zeros written out), and reports whether
// it is held. A reserve that cannot be made whole is removed: half a
// reserve would hide space without promising it.
func (r *Reserve) Ensure() (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.Size <= 0 {
		return false, nil
	}
	if fi, err := os.Stat(r.Path); err == nil && fi.Size() == r.Size && allocated(fi) >= r.Size {
		r.held = true
		return true, nil
	}
	if err := r.create(); err != nil {
		os.Remove(r.Path)
		r.held = false
		return false, fmt.Errorf("disk reserve %s (%d bytes): %w", r.Path, r.Size, err)
	}
	r.held = true
	return true, nil
}

func (r *Reserve) create() error {
	// What a crash left half-written (megabytes each), also under the name
	// of the versions before atomicfile.
	atomicfile.RemoveTemps(r.Path)
	os.Remove(r.Path + ".tmp")
	f, err := atomicfile.Create(r.Path, 0o600)
	if err != nil {
		return err
	}
	defer f.Abort() // nothing once committed
	err = syscall.Fallocate(int(f.Fd()), 0, 0, r.Size)
	if errors.Is(err, syscall.EOPNOTSUPP) || errors.Is(err, syscall.ENOSYS) {
		err = writeZeros(f, r.Size)
	}
	if err != nil {
		return err
	}
	return f.Commit()
}

func writeZeros(w io.Writer, n int64) error {
	buf := make([]byte, 1<<16)
	for n > 0 {
		k := min(n, int64(len(buf)))
		if _, err := w.Write(buf[:k]); err != nil {
			return err
		}
		n -= k
	}
	return nil
}

// allocated is the space a file really occupies (a sparse file, or one
// cut short by a power failure, holds less than its size).
func allocated(fi os.FileInfo) int64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Blocks * 512
	}
	return fi.Size()
}

// Release removes the reserve file and reports whether that gave space
// back (false: there was none to give).
func (r *Reserve) Release() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	os.Remove(r.Path + ".tmp")
	if err := os.Remove(r.Path); err != nil {
		r.held = false
		return false
	}
	r.held = false
	return true
}

// Held reports whether the reserve is in place.
func (r *Reserve) Held() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.held
}

// Bytes is the space the reserve holds now (0 once released).
func (r *Reserve) Bytes() int64 {
	if r.Held() {
		return r.Size
	}
	return 0
}
