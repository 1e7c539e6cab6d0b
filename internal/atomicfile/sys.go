package atomicfile

import (
	"errors"
	"syscall"
)

// isInvalid: fsync of a directory on a file system that does not do it
// (EINVAL).
func isInvalid(err error) bool { return errors.Is(err, syscall.EINVAL) }
