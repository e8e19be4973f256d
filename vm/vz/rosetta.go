package vz

import "fmt"

// rosettaMacOS is the first macOS that shares Rosetta with a Linux guest.
var rosettaMacOS = macOSVersion{13, 0, 0}

// rosettaEnabled decides whether a machine gets the Rosetta share: wanted
// (the config's `rosetta: true`) on an Apple silicon Mac (goarch arm64)
// with macOS 13 or later. A wanted Rosetta that this Mac cannot have is an
// error that says why; an unwanted one is simply off.
func rosettaEnabled(wanted bool, goarch, productVersion string) (bool, error) {
	if !wanted {
		return false, nil
	}
	if goarch != "arm64" {
		return false, fmt.Errorf("rosetta: true needs an Apple silicon Mac; this one is %s (set rosetta: false)", goarch)
	}
	v, err := parseMacOSVersion(productVersion)
	if err != nil {
		return false, fmt.Errorf("rosetta: %w", err)
	}
	if v.less(rosettaMacOS) {
		return false, fmt.Errorf("rosetta: true needs macOS %s or later; this Mac runs macOS %s (set rosetta: false)", rosettaMacOS, v)
	}
	return true, nil
}

// rosettaAvailability mirrors vz.LinuxRosettaAvailability, so that what
// each answer means to the user is tested on any OS.
type rosettaAvailability int

const (
	rosettaNotSupported rosettaAvailability = iota
	rosettaNotInstalled
	rosettaInstalled
)

// rosettaAvailable turns the framework's answer into the error the user
// sees, nil when Rosetta can be shared.
func rosettaAvailable(a rosettaAvailability) error {
	switch a {
	case rosettaInstalled:
		return nil
	case rosettaNotInstalled:
		return fmt.Errorf("rosetta: Rosetta is not installed on this Mac: run `softwareupdate --install-rosetta --agree-to-license`, or set rosetta: false")
	case rosettaNotSupported:
		return fmt.Errorf("rosetta: this Mac cannot share Rosetta with a Linux VM (that needs Apple silicon and macOS 13 or later): set rosetta: false")
	}
	return fmt.Errorf("rosetta: unknown availability %d from Virtualization.framework", int(a))
}
