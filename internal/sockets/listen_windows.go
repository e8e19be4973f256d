//go:build windows

package sockets

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/Microsoft/go-winio"
	"golang.org/x/sys/windows"
)

// listen creates the first instance of the pipe, so it fails if another
// process already serves the name (FILE_FLAG_FIRST_PIPE_INSTANCE). A pipe
// has no file to go stale: it disappears with its last handle.
func listen(path string) (net.Listener, error) {
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
