package wsl2

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"time"
)

// utf8Env asks wsl.exe for UTF-8 output (WSL_UTF8 in WslClient.cpp); older
// versions ignore it, which Decode copes with.
const utf8Env = "WSL_UTF8=1"

// Output is what one wsl.exe call gave back.
type Output struct {
	Stdout, Stderr []byte
	// ExitCode is the process's exit status (wsl.exe's -1 reads as
	// 4294967295 on Windows).
	ExitCode int
}

// Runner runs wsl.exe once to its end. It answers an error only when the
// process could not run; a failing wsl.exe is an Output with its exit code.
type Runner interface {
	Run(ctx context.Context, args []string) (Output, error)
}

// Exe is a wsl.exe: the only code here that starts a process.
type Exe struct {
	// Path of wsl.exe; "wsl.exe" (looked up in PATH) when empty.
	Path string
}

func (x Exe) path() string {
	if x.Path == "" {
		return "wsl.exe"
	}
	return x.Path
}

// Command is wsl.exe with args, UTF-8 output asked for and, on Windows, no
// console window; the caller connects its input and output.
func (x Exe) Command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, x.path(), args...)
	cmd.Env = append(os.Environ(), utf8Env)
	hideWindow(cmd)
	return cmd
}

// outputGrace is how long Run waits for wsl.exe's output pipes to close
// after it exited. Another process that inherited their write ends (a
// program started at the same moment, where the OS does not restrict the
// handles a child inherits, as Wine does not) would otherwise keep Run
// waiting for as long as that process lives.
const outputGrace = 2 * time.Second

// Run runs wsl.exe with args and collects both streams (wsl.exe prints its
// errors on stdout, older versions on stderr).
func (x Exe) Run(ctx context.Context, args []string) (Output, error) {
	cmd := x.Command(ctx, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = outputGrace
	err := cmd.Run()
	if errors.Is(err, exec.ErrWaitDelay) {
		err = nil // it exited with 0 and wrote all it had: the pipes were someone else's
	}
	out := Output{Stdout: stdout.Bytes(), Stderr: stderr.Bytes()}
	var exit *exec.ExitError
	if errors.As(err, &exit) && ctx.Err() == nil {
		out.ExitCode = exit.ExitCode()
		return out, nil
	}
	if err != nil && ctx.Err() != nil {
		return out, ctx.Err()
	}
	return out, err
}
