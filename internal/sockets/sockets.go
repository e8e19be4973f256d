// Package sockets creates the owner-only local endpoints the host agent
// serves on: a unix socket on macOS and Linux, a named pipe on Windows.
//
// Only the user who created an endpoint (and, on Windows, SYSTEM) may
// connect to it: whoever can reach the agent can drive the engine.
package sockets

import (
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"strings"
)

// ErrInUse reports that another live process already serves the endpoint.
var ErrInUse = errors.New("already in use")

// Listen serves an owner-only endpoint at path.
//
// On macOS and Linux path is a file name: a socket file left behind by a
// dead process (nobody answers a dial) is removed first; a live one is an
// error wrapping ErrInUse; anything that is not a socket is left alone and
// is an error. The socket is mode 0600 from the moment it has its final
// name, and closing the listener removes it.
//
// On Windows path is a pipe name (\\.\pipe\...) whose DACL grants access to
// the current user and SYSTEM only.
func Listen(path string) (net.Listener, error) {
	if err := CheckPathLength(runtime.GOOS, path); err != nil {
		return nil, err
	}
	l, err := listen(path)
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", path, err)
	}
	return l, nil
}

// Dial connects to an endpoint created by Listen.
//
// On Windows it first checks that the pipe's server process runs as the
// current user, and refuses it with an *OwnerError otherwise, before a byte
// is sent: pipe names are one namespace for all users, and another user
// could have created the pipe first. A server this process may not look at
// (another user's, or an elevated one) is refused too.
func Dial(ctx context.Context, path string) (net.Conn, error) {
	c, err := dial(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("dialing %s: %w", path, err)
	}
	return c, nil
}

// ErrNotOwner reports that an endpoint's server runs as another user.
var ErrNotOwner = errors.New("its server runs as another user")

// OwnerError is Dial's refusal of a pipe whose server is not the user's.
type OwnerError struct {
	Pipe  string
	PID   uint32 // the server process, 0 if unknown
	Owner string // the server's user SID, "" if it could not be read
	User  string // the SID the server should have run as
	Err   error  // why the owner could not be read, if it could not
}

func (e *OwnerError) Error() string {
	who := fmt.Sprintf("process %d", e.PID)
	if e.PID == 0 {
		who = "an unknown process"
	}
	if e.Owner != "" {
		return fmt.Sprintf("refusing %s: it is served by %s running as %s, not as this user (%s); another user may have taken the name",
			e.Pipe, who, e.Owner, e.User)
	}
	return fmt.Sprintf("refusing %s: cannot tell who serves it (%s): %v", e.Pipe, who, e.Err)
}

// Unwrap makes errors.Is(err, ErrNotOwner) true, and exposes the cause.
func (e *OwnerError) Unwrap() []error {
	if e.Err != nil {
		return []error{ErrNotOwner, e.Err}
	}
	return []error{ErrNotOwner}
}

// checkOwner is the decision of Dial's owner check on Windows: nil when
// the pipe's server (process pid, running as owner) is the user, else the
// refusal. SIDs compare case-insensitively (S-1-5-… is canonical, but a
// lowercase s- names the same SID).
func checkOwner(pipe string, pid uint32, owner, user string) error {
	if owner != "" && user != "" && strings.EqualFold(owner, user) {
		return nil
	}
	if owner == "" {
		return &OwnerError{Pipe: pipe, PID: pid, User: user, Err: errors.New("no owner SID")}
	}
	return &OwnerError{Pipe: pipe, PID: pid, Owner: owner, User: user}
}

// pipePrefix starts every local named pipe name on Windows.
const pipePrefix = `\\.\pipe\`

// maxPipeName is the longest pipe name Windows accepts, prefix included.
const maxPipeName = 256

// CheckPathLength reports whether path fits the endpoint name limit of goos:
// sun_path holds 104 bytes on macOS (and the BSDs) and 108 on Linux, the
// terminating NUL included; a Windows pipe name must start with \\.\pipe\
// and is at most 256 characters long.
func CheckPathLength(goos, path string) error {
	if goos == "windows" {
		return checkPipeName(path)
	}
	limit := sunPathLen(goos)
	if len(path)+1 > limit {
		return fmt.Errorf("socket path %q is %d bytes, over the %d-byte limit of %s (%d including the terminating NUL): use a shorter directory",
			path, len(path), limit-1, goos, limit)
	}
	return nil
}

func checkPipeName(name string) error {
	if !strings.HasPrefix(strings.ToLower(name), pipePrefix) {
		return fmt.Errorf("pipe name %q does not start with %s", name, pipePrefix)
	}
	if n := len([]rune(name)); n > maxPipeName {
		return fmt.Errorf("pipe name %q is %d characters, over the %d-character limit of windows", name, n, maxPipeName)
	}
	return nil
}

// sunPathLen is the size of sockaddr_un.sun_path on goos.
func sunPathLen(goos string) int {
	if goos == "linux" || goos == "android" {
		return 108
	}
	return 104 // darwin, ios and the BSDs
}
