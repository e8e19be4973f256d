//go:build !windows

package e2e

import (
	"os"
	"syscall"
)

// allocatedBytes is what the file takes on the host's disk (stat's
// blocks, not its size): a sparse disk image gives back what the guest
// discards.
func allocatedBytes(path string) (int64, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	return fi.Sys().(*syscall.Stat_t).Blocks * 512, nil
}
