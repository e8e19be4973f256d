package initd

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// initFileLimit is the init's own limit on open files: the kernel's
// default fs.nr_open, the most a process may have.
const initFileLimit = 1 << 20

// raiseFileLimit lifts the init's own limit on open files. It carries
// every engine API connection twice (the host's and dockerd's socket) and
// serves the guest agent, and the kernel's limit for PID 1 (1,024, at most
// 4,096) ran out at a few hundred concurrent docker API calls. The
// processes the init starts (dockerd, containerd, and so the containers)
// keep the limits they always had: the change is a raw prlimit, which Go
// does not see, so os/exec still starts children with the limit the init
// itself started with.
func raiseFileLimit() error {
	return setOwnFileLimit(unix.Rlimit{Cur: initFileLimit, Max: initFileLimit})
}

func setOwnFileLimit(lim unix.Rlimit) error {
	if _, _, e := unix.RawSyscall6(unix.SYS_PRLIMIT64, 0, unix.RLIMIT_NOFILE, uintptr(unsafe.Pointer(&lim)), 0, 0, 0); e != 0 {
		return fmt.Errorf("setting the limit on open files to %d: %w", lim.Cur, e)
	}
	return nil
}
