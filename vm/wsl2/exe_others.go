//go:build !windows

package wsl2

import "os/exec"

// hideWindow does nothing: only Windows opens console windows.
func hideWindow(*exec.Cmd) {}
