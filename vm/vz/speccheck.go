package vz

import (
	"errors"
	"fmt"
	"net"
	"path"
)

// MTU bounds of vz's file-handle network attachment (macOS 13+).
const (
	minMTU = 1500
	maxMTU = 65535
)

// maxShareTag is the longest virtio-fs tag in bytes (the device's tag
// field; Virtualization.framework refuses a longer one).
const maxShareTag = 36

// checkSpec checks what the framework would refuse with an error that
// names no field, before any device is made; every problem is named. Paths
// are the Mac's (slashed, whatever OS runs the check). The CPU and memory
// bounds depend on the Mac (checkResources).
func checkSpec(s Spec) error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if !path.IsAbs(s.Kernel) {
		bad("kernel: %q is not an absolute path", s.Kernel)
	}
	if s.Initrd != "" && !path.IsAbs(s.Initrd) {
		bad("initrd: %q is not an absolute path", s.Initrd)
	}
	for i, d := range s.Disks {
		if !path.IsAbs(d.Path) {
			bad("disks[%d]: %q is not an absolute path", i, d.Path)
		}
	}
	tags := map[string]bool{}
	if s.Rosetta {
		tags[RosettaTag] = true
	}
	for i, sh := range s.Shares {
		switch {
		case sh.Tag == "" || len(sh.Tag) > maxShareTag:
			bad("shares[%d].tag: %q must be 1 to %d bytes", i, sh.Tag, maxShareTag)
		case tags[sh.Tag]:
			bad("shares[%d].tag: %q is used twice (%q is Rosetta's when it is on)", i, sh.Tag, RosettaTag)
		}
		tags[sh.Tag] = true
		if !path.IsAbs(sh.HostPath) {
			bad("shares[%d].hostPath: %q is not an absolute path", i, sh.HostPath)
		}
	}
	if mac, err := net.ParseMAC(s.MAC); err != nil || len(mac) != 6 {
		bad("mac: %q is not a MAC-48 address", s.MAC)
	}
	if s.MTU != 0 && (s.MTU < minMTU || s.MTU > maxMTU) {
		bad("mtu: %d is out of range: vz allows %d to %d", s.MTU, minMTU, maxMTU)
	}
	if !path.IsAbs(s.ConsoleLog) {
		bad("consoleLog: %q is not an absolute path", s.ConsoleLog)
	}
	return errors.Join(errs...)
}
