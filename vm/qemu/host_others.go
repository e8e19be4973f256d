//go:build !linux

package qemu

import "runtime"

// kvmUsable: KVM exists only on Linux.
func kvmUsable() bool { return false }

func hostRelease() string { return runtime.GOOS }
