//go:build !linux

package qemu

import "os/exec"

// findVirtiofsd: virtiofsd is a Linux program; other hosts use their
// hypervisor's own sharing, or 9p under QEMU.
func findVirtiofsd() string { return "" }

func asInvokingUser(*exec.Cmd) {}
