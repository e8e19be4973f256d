//go:build unix

package hostinfo

import "golang.org/x/sys/unix"

func diskFree(dir string) (uint64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return uint64(st.Bavail) * uint64(st.Bsize), nil //nolint:unconvert,gosec // field types differ by OS; sizes are positive
}
