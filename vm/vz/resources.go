package vz

import (
	"errors"
	"fmt"
)

// vzLimits are Virtualization.framework's bounds on this Mac
// (VZVirtualMachineConfiguration's minimum and maximum allowed CPU count
// and memory size, the latter in bytes).
type vzLimits struct {
	minCPUs, maxCPUs     uint
	minMemory, maxMemory uint64
}

// checkResources checks a spec's CPUs and memory against the framework's
// bounds before it rejects the configuration with a less helpful error;
// every field out of bounds is named.
func checkResources(cpus, memoryMiB int, lim vzLimits) error {
	var errs []error
	if cpus < 1 || uint(cpus) < lim.minCPUs || uint(cpus) > lim.maxCPUs {
		errs = append(errs, fmt.Errorf("cpus: %d is out of range: Virtualization.framework allows %d to %d on this Mac", cpus, lim.minCPUs, lim.maxCPUs))
	}
	const mib = 1 << 20
	if memoryMiB < 1 || uint64(memoryMiB)*mib < lim.minMemory || uint64(memoryMiB)*mib > lim.maxMemory {
		errs = append(errs, fmt.Errorf("memory: %d MiB is out of range: Virtualization.framework allows %d MiB to %d MiB on this Mac",
			memoryMiB, (lim.minMemory+mib-1)/mib, lim.maxMemory/mib))
	}
	return errors.Join(errs...)
}
