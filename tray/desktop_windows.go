package tray

import (
	"os/exec"
	"syscall"

	"golang.org/x/sys/windows"
)

// Message box flags and answers (winuser.h).
const (
	mbOK            = 0x0
	mbOKCancel      = 0x1
	mbYesNoCancel   = 0x3
	mbYesNo         = 0x4
	mbIconWarning   = 0x30
	mbIconInfo      = 0x40
	mbDefButton2    = 0x100
	mbSetForeground = 0x10000
	mbTopMost       = 0x40000
	idOK            = 1
	idYes           = 6
	idNo            = 7
	createNoWindow  = 0x08000000
	messageBoxFlags = mbSetForeground | mbTopMost
)

func messageBox(title, text string, flags uint32) int32 {
	t, _ := windows.UTF16PtrFromString(text)
	c, _ := windows.UTF16PtrFromString(title)
	r, _ := windows.MessageBox(0, t, c, flags|messageBoxFlags)
	return r
}

func messageBoxQuit(title, text string) QuitChoice {
	switch messageBox(title, text+"\n\nYes: stop the engine. No: leave it running.", mbYesNoCancel|mbIconInfo) {
	case idYes:
		return QuitStopEngine
	case idNo:
		return QuitLeaveRunning
	}
	return QuitCancel
}

func messageBoxConfirm(title, text string) bool {
	return messageBox(title, text, mbOKCancel|mbIconWarning|mbDefButton2) == idOK
}

func messageBoxInfo(title, text string) { messageBox(title, text, mbOK|mbIconInfo) }

// messageBoxNotify stands in for a toast (which needs COM and an app ID):
// with an action it asks Yes/No and reports Yes.
func messageBoxNotify(title, body, action string) bool {
	if action == "" {
		messageBox(title, body, mbOK|mbIconInfo)
		return false
	}
	return messageBox(title, body+"\n\n"+action+"?", mbYesNo|mbIconInfo) == idYes
}

// hideWindow keeps a console program from flashing a window: the tray is a
// GUI-subsystem program.
func hideWindow(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{HideWindow: true, CreationFlags: createNoWindow}
}
