//go:build !windows

package sockets

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
)

// Datagram socket buffers for a network link carrying one Ethernet frame per
// datagram. macOS caps a unix datagram at the sender's send buffer (2 KiB
// by default), so 1 MiB lets a 64 KiB frame through; 4 MiB of receive
// buffer absorbs bursts. vfkit, Lima and gvisor-tap-vsock use the same.
const (
	DatagramSendBuffer    = 1 << 20
	DatagramReceiveBuffer = 4 << 20
)

// ListenDatagram binds an owner-only unix datagram socket at path (mode
// 0600, in a directory closed to group and others), with the link's
// buffers. A socket file already at path is replaced: a datagram socket
// cannot be probed for a live owner, so the caller must own the path
// (through its pidfile). Anything that is not a socket is left alone and is
// an error. The caller closes the conn and removes the file.
func ListenDatagram(path string) (*net.UnixConn, error) {
	if err := CheckPathLength(runtime.GOOS, path); err != nil {
		return nil, err
	}
	c, err := listenDatagram(path)
	if err != nil {
		return nil, fmt.Errorf("binding %s: %w", path, err)
	}
	return c, nil
}

func listenDatagram(path string) (*net.UnixConn, error) {
	fi, err := os.Lstat(path)
	switch {
	case err == nil && fi.Mode().Type() != fs.ModeSocket:
		return nil, fmt.Errorf("%s exists and is not a socket", path)
	case err == nil:
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("removing the old socket: %w", err)
		}
	case !errors.Is(err, fs.ErrNotExist):
		return nil, err
	}
	// Bound in place, not under a temporary name moved into place as
	// Listen does: a datagram's sender is known by the name its socket was
	// bound to, and a peer could not answer a name that was renamed. The
	// directory must be closed to group and others, so that nobody else
	// can reach the socket between bind and chmod.
	dir := filepath.Dir(path)
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%s must exist and be closed to group and others (0700) for a private datagram socket", dir)
	}
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(path, 0o600); err != nil {
		_ = c.Close()
		_ = os.Remove(path)
		return nil, err
	}
	if err := SetDatagramBuffers(c); err != nil {
		_ = c.Close()
		_ = os.Remove(path)
		return nil, err
	}
	return c, nil
}

// SetDatagramBuffers gives a unix datagram socket the link's buffers.
func SetDatagramBuffers(c syscall.Conn) error {
	raw, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	err = raw.Control(func(fd uintptr) { serr = setBuffers(int(fd)) })
	if err == nil {
		err = serr
	}
	if err != nil {
		return fmt.Errorf("setting the socket's buffers: %w", err)
	}
	return nil
}

func setBuffers(fd int) error {
	if err := syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_SNDBUF, DatagramSendBuffer); err != nil {
		return fmt.Errorf("SO_SNDBUF: %w", err)
	}
	if err := syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_RCVBUF, DatagramReceiveBuffer); err != nil {
		return fmt.Errorf("SO_RCVBUF: %w", err)
	}
	return nil
}

// DatagramPair is a connected pair of unix datagram sockets with the
// link's buffers, as files: one end for a hypervisor's card, the other for
// whoever relays its frames.
func DatagramPair() (a, b *os.File, err error) {
	// Under ForkLock, so that no child started meanwhile inherits them.
	syscall.ForkLock.RLock()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_DGRAM, 0)
	if err == nil {
		syscall.CloseOnExec(fds[0])
		syscall.CloseOnExec(fds[1])
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return nil, nil, fmt.Errorf("socketpair: %w", err)
	}
	for _, fd := range fds {
		if err := setBuffers(fd); err != nil {
			_ = syscall.Close(fds[0])
			_ = syscall.Close(fds[1])
			return nil, nil, fmt.Errorf("socketpair: %w", err)
		}
	}
	return os.NewFile(uintptr(fds[0]), "datagram-pair-0"), os.NewFile(uintptr(fds[1]), "datagram-pair-1"), nil
}

// ConnectDatagram connects a bound datagram socket to the socket at
// remote: its Write then sends there, and its Read receives from there only.
func ConnectDatagram(c *net.UnixConn, remote string) error {
	raw, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var cerr error
	err = raw.Control(func(fd uintptr) { cerr = syscall.Connect(int(fd), &syscall.SockaddrUnix{Name: remote}) })
	if err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("connecting to %s: %w", remote, err)
	}
	return nil
}
