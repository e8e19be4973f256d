//go:build !darwin

package vz

import (
	"fmt"
	"runtime"
)

// hostMacOSVersion: there is no macOS version here.
func hostMacOSVersion() (string, error) {
	return "", fmt.Errorf("%w (this is %s)", errNoVZ, runtime.GOOS)
}
