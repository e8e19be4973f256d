package hostinfo

import "golang.org/x/sys/unix"

func memoryBytes() (uint64, error) { return unix.SysctlUint64("hw.memsize") }
