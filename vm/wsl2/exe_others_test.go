//go:build !windows

package wsl2

import (
	"os/exec"
	"testing"
)

func checkHidden(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	if cmd.SysProcAttr != nil {
		t.Errorf("SysProcAttr set off Windows: %+v", cmd.SysProcAttr)
	}
}
