//go:build unix

package index

import (
	"fmt"
	"os"
	"syscall"
)

// lockDir takes an exclusive, non-blocking flock on path, so that a second Manager on the
// same data directory fails at once instead of deleting a live rebuild during its recovery.
func lockDir(path string) (func() error, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("index: data directory is in use by another process or Manager (%s): %w", path, err)
	}
	return f.Close, nil
}
