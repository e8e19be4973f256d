package vz

import "golang.org/x/sys/unix"

// macOSVersion is the running macOS's product version ("14.5").
func macOSVersion() string {
	v, err := unix.Sysctl("kern.osproductversion")
	if err != nil {
		return "0"
	}
	return v
}
