package initd

import (
	"strconv"
	"strings"
)

const pfKthread = 0x00200000 // PF_KTHREAD in /proc/<pid>/stat's flags

// isUserProcess reads a /proc/<pid>/stat line and reports whether it is a
// live user-space process: not a kernel thread, not a zombie.
func isUserProcess(stat string) bool {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return false
	}
	f := strings.Fields(stat[i+1:])
	if len(f) < 7 || f[0] == "Z" || f[0] == "X" {
		return false
	}
	flags, err := strconv.ParseUint(f[6], 10, 64)
	return err == nil && flags&pfKthread == 0
}
