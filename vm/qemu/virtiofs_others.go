//go:build !linux

package qemu

// findVirtiofsd: virtiofsd is a Linux program; other hosts use their
// hypervisor's own sharing, or 9p under QEMU.
func findVirtiofsd() string { return "" }

func virtiofsdNeedsRoot() bool { return false }
