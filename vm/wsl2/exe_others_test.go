//go:build !windows

package wsl2

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

func checkHidden(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	if cmd.SysProcAttr != nil {
		t.Errorf("SysProcAttr set off Windows: %+v", cmd.SysProcAttr)
	}
}

// A wsl.exe that exits while another process still holds its output pipe
// (here its own child, as a process started at the same moment inherits
// it under Wine): Run returns its output soon after it exits, not when the
// other process ends.
func TestRunDoesNotWaitForAnotherHolderOfThePipe(t *testing.T) {
	script := filepath.Join(t.TempDir(), "wsl.exe")
	if err := os.WriteFile(script, []byte("#!/bin/sh\nsleep 30 &\necho done\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	out, err := Exe{Path: script}.Run(t.Context(), nil)
	if err != nil || string(out.Stdout) != "done\n" || out.ExitCode != 0 {
		t.Fatalf("Run = %+v, %v", out, err)
	}
	if took := time.Since(start); took > outputGrace+5*time.Second {
		t.Errorf("Run took %v: it waited for the pipe's other holder", took)
	}
}
