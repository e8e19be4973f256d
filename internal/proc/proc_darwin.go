package proc

import (
	"fmt"

	"golang.org/x/sys/unix"
)

func zombie(pid int) bool {
	kp, err := unix.SysctlKinfoProc("kern.proc.pid", pid)
	return err == nil && kp.Proc.P_stat == sZombie
}

// sZombie is SZOMB from <sys/proc.h>.
const sZombie = 5

// identity is the start time from the kernel's process table, read with
// sysctl so that it needs no cgo.
func identity(pid int) (string, error) {
	kp, err := unix.SysctlKinfoProc("kern.proc.pid", pid)
	if err != nil {
		return "", err
	}
	if kp.Proc.P_pid != int32(pid) {
		return "", ErrNoProcess
	}
	t := kp.Proc.P_starttime
	return fmt.Sprintf("%d.%06d", t.Sec, t.Usec), nil
}
