//go:build windows

package sockets

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"time"

	"github.com/Microsoft/go-winio"
	"golang.org/x/sys/windows"
)

// probeTimeout bounds the dial that finds out whether the pipe is served.
const probeTimeout = 2 * time.Second

// pipeBuffer is the size of each pipe instance's in and out buffers.
const pipeBuffer = 64 << 10

// listen refuses a pipe name that answers a dial, then creates the first
// instance of the pipe, which also fails if another process has created it
// in the meantime (go-winio creates it with NtCreateNamedPipeFile and
// FILE_CREATE, which is what CreateNamedPipe's FILE_FLAG_FIRST_PIPE_INSTANCE
// asks for; Windows documents access denied then; Wine ignores it, hence
// the dial). A pipe has no file to go stale: it
// disappears with its last handle. So another server of the name is never
// stolen from or disturbed beyond the probe's one connection, which it
// sees close unused.
//
// The pipe is a message-mode pipe, read as bytes: go-winio then gives both
// ends CloseWrite (a zero-byte message, read as EOF), which the docker
// bridge needs to pass half-closes on (`docker run -i < file`, the end of a
// `docker build` context under a hijacked stream); a byte-mode pipe has no
// half-close, so stdin's end would close the whole connection. dockerd's
// own npipe listener (moby daemon/listeners/listeners_windows.go) is
// message mode with 64 KiB buffers for the same reason, and the docker CLI
// dials with go-winio, which reads a message pipe as a byte stream. The
// bridge forwards bytes, never message boundaries, so nothing else changes.
func listen(path string) (net.Listener, error) {
	if err := probe(path); err != nil {
		return nil, err
	}
	sid, err := UserSID()
	if err != nil {
		return nil, err
	}
	l, err := winio.ListenPipe(path, &winio.PipeConfig{
		SecurityDescriptor: pipeSDDL(sid),
		MessageMode:        true,
		InputBufferSize:    pipeBuffer,
		OutputBufferSize:   pipeBuffer,
	})
	if errors.Is(err, windows.ERROR_ACCESS_DENIED) || errors.Is(err, windows.ERROR_PIPE_BUSY) || errors.Is(err, windows.ERROR_ALREADY_EXISTS) {
		return nil, fmt.Errorf("%w: %w", ErrInUse, err)
	}
	return l, err
}

// probe returns ErrInUse if anything answers at path: a server (busy or
// not) or a pipe that exists but is not ours to open.
func probe(path string) error {
	timeout := probeTimeout
	c, err := winio.DialPipe(path, &timeout)
	switch {
	case err == nil:
		_ = c.Close()
		return ErrInUse
	case errors.Is(err, fs.ErrNotExist):
		return nil
	default:
		return fmt.Errorf("%w: %w", ErrInUse, err)
	}
}

// dial opens the pipe and, before anything is sent, checks that its server
// runs as this user.
func dial(ctx context.Context, path string) (net.Conn, error) {
	c, err := winio.DialPipeContext(ctx, path)
	if err != nil {
		return nil, err
	}
	want, err := expectedServerSID()
	if err != nil {
		_ = c.Close()
		return nil, err
	}
	if err := checkServer(c, path, want); err != nil {
		_ = c.Close()
		return nil, err
	}
	return c, nil
}

// DialServer opens the pipe at path and, before anything is sent, checks
// that its server runs as the user or service account serverSID: how a
// Berth client reaches a pipe that is not the user's own, such as
// berth-service's or the Windows engine's (both LocalSystem, S-1-5-18).
// Its refusal is an *OwnerError, as Dial's.
func DialServer(ctx context.Context, path, serverSID string) (net.Conn, error) {
	return dialServer(ctx, path, serverSID, winio.PipeImpLevelAnonymous)
}

// DialServerIdentified is DialServer for a server that must know who
// calls: the connection lets it read this process's identity (the
// identification impersonation level), never act as it. go-winio's other
// dials are anonymous, and a server impersonating an anonymous client
// reads ANONYMOUS LOGON (S-1-5-7), not the user.
func DialServerIdentified(ctx context.Context, path, serverSID string) (net.Conn, error) {
	return dialServer(ctx, path, serverSID, winio.PipeImpLevelIdentification)
}

func dialServer(ctx context.Context, path, serverSID string, level winio.PipeImpLevel) (net.Conn, error) {
	c, err := winio.DialPipeAccessImpLevel(ctx, path, uint32(windows.GENERIC_READ|windows.GENERIC_WRITE), level)
	if err != nil {
		return nil, fmt.Errorf("dialing %s: %w", path, err)
	}
	if err := checkServer(c, path, serverSID); err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("dialing %s: %w", path, err)
	}
	return c, nil
}

// expectedServerSID is the user a pipe's server must run as: ours. Tests
// replace it to see a server refused.
var expectedServerSID = UserSID

// checkServer refuses a pipe whose server process does not run as want.
// Pipe names are global: another local user could create a pipe of our
// name first and read what we send it (registry credentials among it).
func checkServer(c net.Conn, path, want string) error {
	f, ok := c.(interface{ Fd() uintptr })
	if !ok {
		return fmt.Errorf("%s: cannot find its server (no handle)", path)
	}
	pid, sid, err := pipeServerSID(windows.Handle(f.Fd()))
	if err != nil {
		return &OwnerError{Pipe: path, PID: pid, User: want, Err: err}
	}
	return checkOwner(path, pid, sid, want)
}

// pipeServerSID returns the process id of the server of pipe h and the
// SID of the user its token names. Opening a process or its token is
// refused for another user's process and for an elevated one; the error
// then says so.
func pipeServerSID(h windows.Handle) (uint32, string, error) {
	var pid uint32
	if err := windows.GetNamedPipeServerProcessId(h, &pid); err != nil {
		return 0, "", fmt.Errorf("GetNamedPipeServerProcessId: %w", err)
	}
	p, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION, false, pid)
	if err != nil {
		return pid, "", deniedMeansOther("opening the server process", err)
	}
	defer windows.CloseHandle(p) //nolint:errcheck
	var tok windows.Token
	if err := windows.OpenProcessToken(p, windows.TOKEN_QUERY, &tok); err != nil {
		return pid, "", deniedMeansOther("opening the server process's token", err)
	}
	defer tok.Close() //nolint:errcheck
	u, err := tok.GetTokenUser()
	if err != nil {
		return pid, "", fmt.Errorf("reading the server process's user: %w", err)
	}
	return pid, u.User.Sid.String(), nil
}

func deniedMeansOther(what string, err error) error {
	if errors.Is(err, windows.ERROR_ACCESS_DENIED) {
		return fmt.Errorf("%s: %w (it runs as another user, or elevated)", what, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// UserSID is the SID of the user this process runs as (the token's
// user, not the possibly impersonated thread's).
func UserSID() (string, error) {
	u, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		return "", fmt.Errorf("reading the process token's user: %w", err)
	}
	return u.User.Sid.String(), nil
}
