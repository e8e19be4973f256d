package vm

import "runtime"

// DefaultDriver is the best registered driver for this OS.
func DefaultDriver(available []string) string { return defaultDriver(runtime.GOOS, available) }
