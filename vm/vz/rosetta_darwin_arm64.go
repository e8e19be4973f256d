//go:build cgo

package vz

import (
	"fmt"

	"github.com/Code-Hex/vz/v3"
)

// rosettaDevice shares Apple's Rosetta with the guest as the virtio-fs tag
// RosettaTag, once the framework says it is installed.
func rosettaDevice() (vz.DirectorySharingDeviceConfiguration, error) {
	if err := rosettaAvailable(rosettaAvailabilityOf(vz.LinuxRosettaDirectoryShareAvailability())); err != nil {
		return nil, err
	}
	share, err := vz.NewLinuxRosettaDirectoryShare()
	if err != nil {
		return nil, fmt.Errorf("rosetta: %w", err)
	}
	dev, err := vz.NewVirtioFileSystemDeviceConfiguration(RosettaTag)
	if err != nil {
		return nil, fmt.Errorf("rosetta: tag %q: %w", RosettaTag, err)
	}
	dev.SetDirectoryShare(share)
	return dev, nil
}

func rosettaAvailabilityOf(a vz.LinuxRosettaAvailability) rosettaAvailability {
	switch a {
	case vz.LinuxRosettaAvailabilityInstalled:
		return rosettaInstalled
	case vz.LinuxRosettaAvailabilityNotInstalled:
		return rosettaNotInstalled
	case vz.LinuxRosettaAvailabilityNotSupported:
		return rosettaNotSupported
	}
	return rosettaAvailability(a)
}
