//go:build unix

package build

import (
	"io/fs"
	"syscall"
)

// hardLinkID is the (device, inode) of a file with more than one name.
func hardLinkID(fi fs.FileInfo) ([2]uint64, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || st.Nlink < 2 {
		return [2]uint64{}, false
	}
	return [2]uint64{uint64(st.Dev), uint64(st.Ino)}, true
}
