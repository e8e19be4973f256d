//go:build !windows

package dashboard

import (
	"os"
	"syscall"
)

// allocated is what a (sparse) file takes on the disk.
func allocated(fi os.FileInfo) int64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int64(st.Blocks) * 512 //nolint:unconvert // Blocks is int32 on some platforms
	}
	return fi.Size()
}
