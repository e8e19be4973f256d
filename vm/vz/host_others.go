//go:build !darwin

package vz

// macOSVersion is "" off macOS.
func macOSVersion() string { return "" }
