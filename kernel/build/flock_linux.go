package build

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// lockBuild takes an exclusive lock for builds of arch in cacheDir (they
// share scratch space), waiting for another build to finish. The returned
// function releases it.
func lockBuild(cacheDir, arch string, log *slog.Logger) (func(), error) {
	if err := os.MkdirAll(filepath.Join(cacheDir, "work"), 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(cacheDir, "work", arch+".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err == unix.EWOULDBLOCK {
		log.Info("waiting for another image build to finish", "cache", cacheDir)
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("locking %s: %w", f.Name(), err)
		}
	} else if err != nil {
		f.Close()
		return nil, fmt.Errorf("locking %s: %w", f.Name(), err)
	}
	return func() { f.Close() }, nil
}
