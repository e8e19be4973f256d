package proc

import (
	"os/exec"
	"testing"
)

func checkDetached(t *testing.T, _ int) {
	t.Helper()
	var cmd exec.Cmd
	Detach(&cmd)
	if f := cmd.SysProcAttr.CreationFlags; f&detachFlags != detachFlags {
		t.Errorf("CreationFlags = %#x, want %#x set", f, detachFlags)
	}
}
