package vz

import (
	"fmt"
	"strconv"
	"strings"
)

// macOSVersion is a macOS product version, such as 14.6.1.
type macOSVersion struct{ major, minor, patch int }

func (v macOSVersion) String() string {
	if v.patch != 0 {
		return fmt.Sprintf("%d.%d.%d", v.major, v.minor, v.patch)
	}
	return fmt.Sprintf("%d.%d", v.major, v.minor)
}

func (v macOSVersion) less(w macOSVersion) bool {
	if v.major != w.major {
		return v.major < w.major
	}
	if v.minor != w.minor {
		return v.minor < w.minor
	}
	return v.patch < w.patch
}

// parseMacOSVersion reads what `sw_vers -productVersion` prints, or the
// sysctl kern.osproductversion: "13.0", "14.6.1", "26.1" (surrounding
// space allowed).
func parseMacOSVersion(s string) (macOSVersion, error) {
	t := strings.TrimSpace(s)
	parts := strings.Split(t, ".")
	if t == "" || len(parts) > 3 {
		return macOSVersion{}, fmt.Errorf("macOS version %q: want MAJOR.MINOR[.PATCH]", s)
	}
	var n [3]int
	for i, p := range parts {
		v, err := strconv.Atoi(p)
		if err != nil || v < 0 || p == "" || p[0] == '+' {
			return macOSVersion{}, fmt.Errorf("macOS version %q: want MAJOR.MINOR[.PATCH]", s)
		}
		n[i] = v
	}
	return macOSVersion{n[0], n[1], n[2]}, nil
}

// minVZ is the oldest macOS the vz driver runs on: the file-handle
// network card's MTU, the virtio console and Rosetta need macOS 13.
var minVZ = macOSVersion{13, 0, 0}

// checkMacOS is the vz driver's version gate on the product version the
// host reports.
func checkMacOS(productVersion string) error {
	v, err := parseMacOSVersion(productVersion)
	if err != nil {
		return fmt.Errorf("vz driver: %w", err)
	}
	if v.less(minVZ) {
		return fmt.Errorf("the vz driver needs macOS %s or later and this Mac runs macOS %s: use the qemu driver (QEMU with HVF) instead", minVZ, v)
	}
	return nil
}
