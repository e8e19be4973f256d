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
	return [2]uint64{u64(st.Dev), u64(st.Ino)}, true
}

// u64 widens a Stat_t field, whose type differs between Unix systems
// (Dev is a uint64 on Linux, an int32 on macOS).
func u64[T ~int32 | ~uint32 | ~int64 | ~uint64](v T) uint64 { return uint64(v) }
