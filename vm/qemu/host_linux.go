package qemu

import (
	"os"

	"golang.org/x/sys/unix"
)

// kvmUsable tells whether /dev/kvm can be opened; whether KVM can really run
// the guest is only known by booting it.
func kvmUsable() bool {
	f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0)
	if err != nil {
		return false
	}
	f.Close()
	return true
}

func hostRelease() string {
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return "unknown"
	}
	return unix.ByteSliceToString(u.Release[:])
}
