package engineswitch

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// children counts this process's child processes (from /proc).
func children(t *testing.T) int {
	t.Helper()
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	me, n := strconv.Itoa(os.Getpid()), 0
	for _, s := range stats {
		b, err := os.ReadFile(s)
		if err != nil {
			continue // gone meanwhile
		}
		// pid (comm) state ppid ...: comm may hold spaces, so after ")".
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
		if len(f) > 1 && f[1] == me {
			n++
		}
	}
	return n
}
