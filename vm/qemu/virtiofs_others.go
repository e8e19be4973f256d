//go:build !linux

package qemu

import (
	"runtime"

	"github.com/berth-dev/berth/vm"
)

// probeVirtiofsd: virtiofsd is a Linux program; other hosts use their
// hypervisor's own sharing (QEMU there shares no folders).
func probeVirtiofsd(bundled *vm.Program) virtiofsdHost {
	return virtiofsdHost{goos: runtime.GOOS, bundled: bundled}
}
