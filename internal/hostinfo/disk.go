package hostinfo

// DiskFree is how many bytes an unprivileged writer can still write to
// the file system holding dir.
func DiskFree(dir string) (uint64, error) { return diskFree(dir) }
