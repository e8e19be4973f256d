package proc

import (
	"errors"
	"os/exec"
	"strconv"
	"syscall"

	"golang.org/x/sys/windows"
)

// detachFlags: no console at all (DETACHED_PROCESS), out of the caller's
// Ctrl+C group, and no window should a console be created anyway
// (CREATE_NO_WINDOW is ignored next to DETACHED_PROCESS, kept for clarity).
const detachFlags = windows.DETACHED_PROCESS | windows.CREATE_NEW_PROCESS_GROUP | windows.CREATE_NO_WINDOW

func detach(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.CreationFlags |= detachFlags
	cmd.SysProcAttr.HideWindow = true
}

// open opens the process; a pid that does not exist is ErrNoProcess.
func open(pid int, access uint32) (windows.Handle, error) {
	if pid <= 0 {
		return 0, ErrNoProcess
	}
	h, err := windows.OpenProcess(access, false, uint32(pid))
	if errors.Is(err, windows.ERROR_INVALID_PARAMETER) {
		return 0, ErrNoProcess
	}
	return h, err
}

// alive waits on the process handle with a zero timeout rather than asking
// for STILL_ACTIVE, which a process could also return as its exit code.
func alive(pid int) bool {
	h, err := open(pid, windows.PROCESS_QUERY_LIMITED_INFORMATION|windows.SYNCHRONIZE)
	if errors.Is(err, windows.ERROR_ACCESS_DENIED) {
		return true // it exists, we may not look at it
	}
	if err != nil {
		return false
	}
	defer windows.CloseHandle(h) //nolint:errcheck
	ev, err := windows.WaitForSingleObject(h, 0)
	return err == nil && ev == uint32(windows.WAIT_TIMEOUT)
}

// signal ends the process either way: see Terminate. A process that has
// exited but whose object is still held open by someone is ErrNoProcess
// too, as it is for Alive.
func signal(pid int, _ bool) error {
	h, err := open(pid, windows.PROCESS_TERMINATE|windows.SYNCHRONIZE)
	if err != nil {
		return err
	}
	defer windows.CloseHandle(h) //nolint:errcheck
	if ev, err := windows.WaitForSingleObject(h, 0); err == nil && ev == windows.WAIT_OBJECT_0 {
		return ErrNoProcess
	}
	return windows.TerminateProcess(h, 1)
}

func identity(pid int) (string, error) {
	h, err := open(pid, windows.PROCESS_QUERY_LIMITED_INFORMATION)
	if err != nil {
		return "", err
	}
	defer windows.CloseHandle(h) //nolint:errcheck
	var created, exited, kernel, user windows.Filetime
	if err := windows.GetProcessTimes(h, &created, &exited, &kernel, &user); err != nil {
		return "", err
	}
	return strconv.FormatInt(created.Nanoseconds(), 10), nil
}
