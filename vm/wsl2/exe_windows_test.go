package wsl2

import (
	"os/exec"
	"testing"

	"golang.org/x/sys/windows"
)

func checkHidden(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	a := cmd.SysProcAttr
	if a == nil || !a.HideWindow || a.CreationFlags&windows.CREATE_NO_WINDOW == 0 {
		t.Errorf("wsl.exe would open a console window: %+v", a)
	}
}
