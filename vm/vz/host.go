package vz

import (
	"fmt"
	"strconv"
	"strings"
)

// minMacOS is the first macOS whose Virtualization.framework has what the
// VM needs: a file-handle card with an MTU, virtio-fs, Rosetta.
const minMacOS = 13

// checkMacOS refuses a macOS before minMacOS; version is what
// kern.osproductversion says ("14.5"), "" where it cannot be read.
func checkMacOS(version string) error {
	if version == "" {
		return nil // not darwin, or unknown: newHypervisor decides
	}
	major, err := strconv.Atoi(strings.SplitN(version, ".", 2)[0])
	if err != nil {
		return fmt.Errorf("%w (cannot read the macOS version %q)", errNoVZ, version)
	}
	if major < minMacOS {
		return fmt.Errorf("%w (this is macOS %s)", errNoVZ, version)
	}
	return nil
}
