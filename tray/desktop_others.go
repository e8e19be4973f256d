//go:build !windows

package tray

import "os/exec"

// Message boxes are Windows-only; elsewhere the dialogs are commands.

func messageBoxQuit(string, string) QuitChoice     { return QuitCancel }
func messageBoxConfirm(string, string) bool        { return false }
func messageBoxInfo(string, string)                {}
func messageBoxNotify(string, string, string) bool { return false }
func hideWindow(*exec.Cmd)                         {}
