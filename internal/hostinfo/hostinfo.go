// Package hostinfo reports the host's CPUs and memory, which bound what a
// machine may be given.
package hostinfo

import "runtime"

// CPUs is the number of logical CPUs.
func CPUs() int { return runtime.NumCPU() }

// MemoryMiB is the host's physical memory, 0 when unknown.
func MemoryMiB() int {
	b, err := memoryBytes()
	if err != nil {
		return 0
	}
	return int(b >> 20)
}
