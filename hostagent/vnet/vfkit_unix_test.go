//go:build !windows

package vnet

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/berth-dev/berth/guest/guestconfig"
	"github.com/berth-dev/berth/internal/sockets"
	"github.com/berth-dev/berth/vm"
)

// arpRequest is an Ethernet frame from the guest asking who has ip.
func arpRequest(t *testing.T, ip string) []byte {
	t.Helper()
	mac, err := net.ParseMAC(guestconfig.GuestMAC)
	if err != nil {
		t.Fatal(err)
	}
	f := bytes.Repeat([]byte{0xff}, 6) // broadcast
	f = append(f, mac...)
	f = append(f, 0x08, 0x06)                // ARP
	f = append(f, 0, 1, 0x08, 0, 6, 4, 0, 1) // Ethernet, IPv4, request
	f = append(f, mac...)
	f = append(f, net.ParseIP(guestconfig.GuestIP).To4()...)
	f = append(f, make([]byte, 6)...)
	return append(f, net.ParseIP(ip).To4()...)
}

// isARPReply tells an ARP reply to the guest saying ip is at some MAC.
func isARPReply(f []byte, ip string) bool {
	return len(f) >= 42 && binary.BigEndian.Uint16(f[12:]) == 0x0806 &&
		binary.BigEndian.Uint16(f[20:]) == 2 && bytes.Equal(f[28:32], net.ParseIP(ip).To4())
}

// askGateway sends the guest's ARP request for the gateway over vmSide
// until the switch answers (the agent may still be joining).
func askGateway(t *testing.T, vmSide net.Conn) {
	t.Helper()
	req := arpRequest(t, guestconfig.GatewayIP)
	buf := make([]byte, 1<<17)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := vmSide.Write(req); err != nil {
			t.Fatal(err)
		}
		_ = vmSide.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		for {
			n, err := vmSide.Read(buf)
			if err != nil {
				break
			}
			if isARPReply(buf[:n], guestconfig.GatewayIP) {
				return
			}
		}
	}
	t.Fatal("the switch never answered the guest's ARP request for the gateway")
}

// privateDir is a temporary directory closed to group and others, as a
// machine directory is.
func privateDir(t *testing.T) string {
	t.Helper()
	d := t.TempDir()
	if err := os.Chmod(d, 0o700); err != nil {
		t.Fatal(err)
	}
	return d
}

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
	dir := privateDir(t)
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
	askGateway(t, vmSide)
	if fi, err := os.Stat(local); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("the agent's socket: %v, %v; want mode 0600", fi, err)
	}
	n.Close()
	if _, err := os.Stat(local); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the agent's socket stayed after the network closed: %v", err)
	}
}
