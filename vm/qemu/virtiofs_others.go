//go:build !linux

package qemu

import (
	"runtime"

	"github.com/berth-dev/berth/vm"
)

// probeVirtiofsd: virtiofsd is a Linux program; other hosts use their
// hypervisor's own sharing, or 9p under QEMU.
func probeVirtiofsd(bundled *vm.Program) virtiofsdHost {
	return virtiofsdHost{goos: runtime.GOOS, bundled: bundled}
}
