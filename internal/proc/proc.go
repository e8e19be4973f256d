// Package proc starts, watches and stops processes that are not necessarily
// children of the caller, such as a host agent started by an earlier CLI.
package proc

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"time"
)

// ErrNoProcess reports that no process has the given pid.
var ErrNoProcess = errors.New("no such process")

// Detach makes cmd start a process that outlives the caller and its
// terminal: a new session on macOS and Linux; on Windows a detached process
// in its own process group without a console window. Start cmd afterwards;
// leave Stdin nil (the null device) and point Stdout/Stderr at files.
func Detach(cmd *exec.Cmd) { detach(cmd) }

// Alive reports whether a process with this pid exists. One that exists but
// belongs to another user counts as alive; on Linux a zombie does not.
func Alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	return alive(pid)
}

// Terminate asks the process to exit. On macOS and Linux that is SIGTERM.
// Windows has no such signal for a process without a console (a detached
// one has none, so GenerateConsoleCtrlEvent cannot reach it): there the
// graceful path is the agent's control API, and Terminate ends the process
// at once, exactly like Kill.
func Terminate(pid int) error {
	if err := signal(pid, false); err != nil {
		return fmt.Errorf("terminating pid %d: %w", pid, err)
	}
	return nil
}

// Kill ends the process at once (SIGKILL; TerminateProcess on Windows).
func Kill(pid int) error {
	if err := signal(pid, true); err != nil {
		return fmt.Errorf("killing pid %d: %w", pid, err)
	}
	return nil
}

// WaitExit polls every poll until the process is gone or ctx ends. It works
// for any pid; a child of the caller must also be reaped (cmd.Wait) to go.
func WaitExit(ctx context.Context, pid int, poll time.Duration) error {
	t := time.NewTicker(poll)
	defer t.Stop()
	for Alive(pid) {
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for pid %d to exit: %w", pid, ctx.Err())
		case <-t.C:
		}
	}
	return nil
}

// Identity returns a string that identifies one process instance: the same
// pid with a different Identity is a different process (the pid was
// reused). It is the boot id and start time on Linux, the start time on
// macOS and Windows; elsewhere it returns errors.ErrUnsupported.
func Identity(pid int) (string, error) {
	id, err := identity(pid)
	if err != nil {
		return "", fmt.Errorf("identity of pid %d: %w", pid, err)
	}
	return id, nil
}
