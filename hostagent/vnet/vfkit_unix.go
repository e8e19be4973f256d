//go:build !windows

package vnet

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/containers/gvisor-tap-vsock/pkg/virtualnetwork"

	"github.com/berth-dev/berth/internal/sockets"
)

// vfkitAcceptor joins vfkit links: unix datagram sockets exist here.
func vfkitAcceptor() (acceptor, error) { return acceptVfkit, nil }

// vfkitMagic is the vfkit handshake, the first datagram a peer sends to a
// listening unixgram socket so that the listener learns its address
// (gvisor-tap-vsock's transport.AcceptVfkit consumes it).
var vfkitMagic = []byte("VFKT")

// UnixDatagram joins a vfkit link the hypervisor's side listens on at
// remote (the vz helper): the agent binds its own owner-only address at
// local, so that the other side can answer it, connects to remote and says
// hello. A later agent binding local again replaces a dead agent's file,
// and its hello makes the other side send to it from then on.
func UnixDatagram(remote, local string) Dialer {
	return func(context.Context) (net.Conn, error) {
		c, err := sockets.ListenDatagram(local)
		if err != nil {
			return nil, err
		}
		l := &datagramLink{UnixConn: c, path: local, remote: &net.UnixAddr{Name: remote, Net: "unixgram"}}
		if err := sockets.ConnectDatagram(c, remote); err != nil {
			l.Close()
			return nil, err
		}
		if _, err := c.Write(vfkitMagic); err != nil {
			l.Close()
			return nil, err
		}
		return l, nil
	}
}

// datagramLink is the agent's end of a vfkit link: closing it removes the
// socket file it bound. It was connected below Go's net package, which so
// does not know its peer: RemoteAddr says it (the switch logs it).
type datagramLink struct {
	*net.UnixConn
	path   string
	remote *net.UnixAddr
	once   sync.Once
}

func (l *datagramLink) RemoteAddr() net.Addr { return l.remote }

func (l *datagramLink) Close() error {
	err := l.UnixConn.Close()
	l.once.Do(func() {
		if rerr := os.Remove(l.path); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
			err = errors.Join(err, rerr)
		}
	})
	return err
}

// helloEvery is how often the agent repeats its hello on a vfkit link.
const helloEvery = time.Second

// acceptVfkit carries one frame per datagram. A datagram socket sees no
// end when its peer goes (a helper that exited, perhaps with a new one in
// its place): the link ends when a write to the peer fails (linkConn
// closes it), and the agent joins again. The agent repeats its hello, so
// that it finds out even when the switch has nothing to send; the other
// side takes a repeated hello as the same peer's.
func acceptVfkit(ctx context.Context, vn *virtualnetwork.VirtualNetwork, conn net.Conn, _ *slog.Logger) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go keepHello(ctx, conn)
	return vn.AcceptVfkit(ctx, &linkConn{Conn: conn})
}

func keepHello(ctx context.Context, conn net.Conn) {
	t := time.NewTicker(helloEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, err := conn.Write(vfkitMagic); err != nil && !errors.Is(err, syscall.ENOBUFS) && !errors.Is(err, syscall.EAGAIN) {
			_ = conn.Close() // the switch's reader ends, and the agent joins again
			return
		}
	}
}
