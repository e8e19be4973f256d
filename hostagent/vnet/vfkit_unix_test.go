//go:build !windows

package vnet

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/berth-dev/berth/hostagent/vnet/vnettest"

	"github.com/berth-dev/berth/internal/sockets"
	"github.com/berth-dev/berth/vm"
)

// listenerSide is the listening end of a vfkit link as gvisor-tap-vsock
// v0.8.9's transport.AcceptVfkit makes it (pkg/transport/unixgram_unix.go):
// the first datagram names the peer's address and, when it is the "VFKT"
// hello, is consumed; from then on the listener sends to that address.
// (The transport package itself needs a module this one does not.)
type listenerSide struct {
	*net.UnixConn
	peer *net.UnixAddr
}

func (l *listenerSide) Write(b []byte) (int, error) { return l.WriteToUnix(b, l.peer) }

func acceptVfkitPeer(t *testing.T, ln *net.UnixConn) *listenerSide {
	t.Helper()
	buf := make([]byte, 64)
	_ = ln.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, from, err := ln.ReadFromUnix(buf)
	_ = ln.SetReadDeadline(time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if string(buf[:n]) != "VFKT" || from == nil || from.Name == "" {
		t.Fatalf("first datagram %q from %v; want the vfkit hello from a named address", buf[:n], from)
	}
	return &listenerSide{UnixConn: ln, peer: from}
}

// The agent joins a vfkit link as gvisor-tap-vsock's listener expects: it
// binds an address of its own, says hello, and the VM's frames reach the
// switch and its answers come back. Its socket goes when the network
// closes.
func TestVfkitLinkHandshake(t *testing.T) {
	dir := vnettest.PrivateDir(t)
	remote, local := filepath.Join(dir, "net.sock"), filepath.Join(dir, "link.sock")
	ln, err := sockets.ListenDatagram(remote)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	n, err := Start(context.Background(), UnixDatagram(remote, local), vm.LinkVfkit, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	vmSide := acceptVfkitPeer(t, ln)
	if got := vmSide.peer.Name; got != local {
		t.Errorf("the listener learned the agent as %q, want %q", got, local)
	}
	vnettest.AskGateway(t, vmSide, 10*time.Second)
	if fi, err := os.Stat(local); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("the agent's socket: %v, %v; want mode 0600", fi, err)
	}
	n.Close()
	if _, err := os.Stat(local); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the agent's socket stayed after the network closed: %v", err)
	}
}
