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

// listen refuses a pipe name that answers a dial, then creates the first
// instance of the pipe, which also fails if another process has created it
// in the meantime (FILE_FLAG_FIRST_PIPE_INSTANCE; Wine ignores that flag,
// hence the dial). A pipe has no file to go stale: it disappears with its
// last handle.
func listen(path string) (net.Listener, error) {
	if err := probe(path); err != nil {
		return nil, err
	}
	sid, err := currentUserSID()
	if err != nil {
		return nil, err
	}
	l, err := winio.ListenPipe(path, &winio.PipeConfig{SecurityDescriptor: pipeSDDL(sid)})
	if errors.Is(err, windows.ERROR_ACCESS_DENIED) || errors.Is(err, windows.ERROR_PIPE_BUSY) {
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

func dial(ctx context.Context, path string) (net.Conn, error) {
	return winio.DialPipeContext(ctx, path)
}

// currentUserSID is the SID of the user this process runs as (the token's
// user, not the possibly impersonated thread's).
func currentUserSID() (string, error) {
	u, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		return "", fmt.Errorf("reading the process token's user: %w", err)
	}
	return u.User.Sid.String(), nil
}
