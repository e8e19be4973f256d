package engineswitch

import (
	"os"
	"testing"
	"unsafe"

	"golang.org/x/sys/windows"
)

// children counts this process's child processes (a Toolhelp snapshot).
func children(t *testing.T) int {
	t.Helper()
	snap, err := windows.CreateToolhelp32Snapshot(windows.TH32CS_SNAPPROCESS, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer windows.CloseHandle(snap) //nolint:errcheck
	var e windows.ProcessEntry32
	e.Size = uint32(unsafe.Sizeof(e))
	n := 0
	for err = windows.Process32First(snap, &e); err == nil; err = windows.Process32Next(snap, &e) {
		if e.ParentProcessID == uint32(os.Getpid()) { //nolint:gosec // a pid fits
			n++
		}
	}
	return n
}
