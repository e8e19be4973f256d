package vz

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// hostMacOSVersion is this Mac's product version, as sw_vers prints it.
func hostMacOSVersion() (string, error) {
	v, err := unix.Sysctl("kern.osproductversion")
	if err != nil {
		return "", fmt.Errorf("reading the macOS version (sysctl kern.osproductversion): %w", err)
	}
	return v, nil
}
