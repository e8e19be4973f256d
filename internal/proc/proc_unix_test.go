//go:build !windows

package proc

import (
	"testing"

	"golang.org/x/sys/unix"
)

func checkDetached(t *testing.T, pid int) {
	t.Helper()
	sid, err := unix.Getsid(pid)
	if err != nil {
		t.Fatal(err)
	}
	if sid != pid {
		t.Errorf("detached child's session = %d, want its own (%d)", sid, pid)
	}
	if own, _ := unix.Getsid(0); own == sid {
		t.Error("detached child shares the test's session")
	}
}
