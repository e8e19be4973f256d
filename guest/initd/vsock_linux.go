package initd

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// haveVsock reports whether the kernel makes AF_VSOCK sockets.
func haveVsock() bool {
	fd, err := unix.Socket(unix.AF_VSOCK, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return false
	}
	unix.Close(fd)
	return true
}

// listenVsock listens on an AF_VSOCK port for any CID. The net package
// knows no vsock, so the socket goes through os.File, which gives it the
// runtime's poller (Accept blocks a goroutine, not a thread, and Close
// ends it).
func listenVsock(port uint32) (net.Listener, error) {
	fd, err := unix.Socket(unix.AF_VSOCK, unix.SOCK_STREAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("vsock socket: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrVM{CID: unix.VMADDR_CID_ANY, Port: port}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("vsock bind port %d: %w", port, err)
	}
	if err := unix.Listen(fd, 128); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("vsock listen port %d: %w", port, err)
	}
	return &vsockListener{f: os.NewFile(uintptr(fd), "vsock:"+strconv.Itoa(int(port))), port: port}, nil
}

type vsockListener struct {
	f    *os.File
	port uint32
}

func (l *vsockListener) Accept() (net.Conn, error) {
	rc, err := l.f.SyscallConn()
	if err != nil {
		return nil, err
	}
	var nfd int
	var sa unix.Sockaddr
	var aerr error
	err = rc.Read(func(fd uintptr) bool {
		nfd, sa, aerr = unix.Accept4(int(fd), unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK)
		return !errors.Is(aerr, unix.EAGAIN)
	})
	if err != nil {
		return nil, err
	}
	if aerr != nil {
		return nil, aerr
	}
	remote := vsockAddr{}
	if vm, ok := sa.(*unix.SockaddrVM); ok {
		remote = vsockAddr{cid: vm.CID, port: vm.Port}
	}
	return &vsockConn{File: os.NewFile(uintptr(nfd), "vsock"), local: vsockAddr{cid: unix.VMADDR_CID_ANY, port: l.port}, remote: remote}, nil
}

func (l *vsockListener) Close() error   { return l.f.Close() }
func (l *vsockListener) Addr() net.Addr { return vsockAddr{cid: unix.VMADDR_CID_ANY, port: l.port} }

type vsockAddr struct{ cid, port uint32 }

func (a vsockAddr) Network() string { return "vsock" }
func (a vsockAddr) String() string  { return fmt.Sprintf("%d:%d", a.cid, a.port) }

// vsockConn is an accepted connection; os.File gives it Read, Write,
// Close and deadlines.
type vsockConn struct {
	*os.File
	local, remote vsockAddr
}

func (c *vsockConn) LocalAddr() net.Addr  { return c.local }
func (c *vsockConn) RemoteAddr() net.Addr { return c.remote }

func (c *vsockConn) SetDeadline(t time.Time) error      { return c.File.SetDeadline(t) }
func (c *vsockConn) SetReadDeadline(t time.Time) error  { return c.File.SetReadDeadline(t) }
func (c *vsockConn) SetWriteDeadline(t time.Time) error { return c.File.SetWriteDeadline(t) }

// listenLinkFile opens the network link's listening socket and returns it
// as a file, to be handed to the init's copy in its new namespaces: the
// launcher makes it in the distro's network namespace. (Linux's AF_VSOCK
// is not network-namespaced, WSL's kernel's included; a kernel that
// namespaces it gives a socket the namespace of its maker, which is the
// distro's here, where the host's hvsock connections arrive.) A unix
// socket is reached by its path whatever the namespace; a stale one from
// an earlier start is replaced.
func listenLinkFile(l Link) (*os.File, error) {
	if p := l.UnixPath(); p != "" {
		_ = os.Remove(p)
		fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return nil, fmt.Errorf("unix socket: %w", err)
		}
		if err := unix.Bind(fd, &unix.SockaddrUnix{Name: p}); err != nil {
			unix.Close(fd)
			return nil, fmt.Errorf("network link: binding %s: %w", p, err)
		}
		if err := unix.Chmod(p, 0o600); err != nil {
			unix.Close(fd)
			return nil, fmt.Errorf("network link: %w", err)
		}
		if err := unix.Listen(fd, 4); err != nil {
			unix.Close(fd)
			return nil, fmt.Errorf("network link: listening on %s: %w", p, err)
		}
		return os.NewFile(uintptr(fd), "unix:"+p), nil
	}
	if !haveVsock() {
		return nil, errors.New("network link: the kernel has no AF_VSOCK (--link vsock)")
	}
	ln, err := listenVsock(l.VsockPort())
	if err != nil {
		return nil, fmt.Errorf("network link: %w", err)
	}
	return ln.(*vsockListener).f, nil
}

// linkListener takes the link's listening socket the launcher passed on fd.
func linkListener(l Link, fd int) (net.Listener, error) {
	const why = "network link: fd %d is not a listening socket (the init's copy is started by its launcher)"
	v, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ACCEPTCONN)
	if err != nil {
		return nil, fmt.Errorf(why+": %w", fd, err)
	}
	if v != 1 {
		return nil, fmt.Errorf(why, fd)
	}
	unix.CloseOnExec(fd)
	if err := unix.SetNonblock(fd, true); err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), string(l))
	if l.UnixPath() != "" {
		defer f.Close()
		return net.FileListener(f)
	}
	return &vsockListener{f: f, port: l.VsockPort()}, nil
}
