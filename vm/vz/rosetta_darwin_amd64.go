//go:build cgo

package vz

import (
	"runtime"

	"github.com/Code-Hex/vz/v3"
)

// rosettaDevice: an Intel Mac has no Rosetta for Linux.
func rosettaDevice() (vz.DirectorySharingDeviceConfiguration, error) {
	_, err := rosettaEnabled(true, runtime.GOARCH, "")
	return nil, err
}
