//go:build !windows

package vz

import (
	"bytes"
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

	"github.com/berth-dev/berth/guest/guestconfig"
	"github.com/berth-dev/berth/hostagent/vnet"
	"github.com/berth-dev/berth/internal/sockets"
	"github.com/berth-dev/berth/vm"
)

// joinAgent starts the agent's network as the agent does for a vfkit
// link, with its own socket at local.
func joinAgent(t *testing.T, m *vm.Machine, local string) *vnet.Network {
	t.Helper()
	n, err := vnet.Start(context.Background(), vnet.UnixDatagram(m.Network.Socket, local), vm.LinkVfkit, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// The helper relays frames both ways between the VM's end of the card's
// socket pair and a real gvisor-tap-vsock switch (the agent's network).
// The relay answers only the agent that said hello last: a new agent (a
// restart, here from another address) takes over the running VM, even
// while the old one still holds its socket, and one whose socket went is
// replaced by the next one's hello at the same address.
func TestRelayCarriesFramesAndTheAgentRejoins(t *testing.T) {
	h := startInProcess(t, true)
	card := cardConn(t, h.fake)

	first := filepath.Join(h.m.StateDir, "link.sock")
	n1 := joinAgent(t, h.m, first)
	vnettest.AskGateway(t, card, 15*time.Second)

	n2 := joinAgent(t, h.m, filepath.Join(h.m.StateDir, "link2.sock"))
	vnettest.AskGateway(t, card, 15*time.Second)
	n1.Close()
	if _, err := os.Lstat(first); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the first agent's socket stayed: %v", err)
	}
	vnettest.AskGateway(t, card, 15*time.Second)
	n2.Close()

	n3 := joinAgent(t, h.m, first)
	defer n3.Close()
	vnettest.AskGateway(t, card, 15*time.Second)
}

// A new helper for the machine (the VM was booted afresh) while the agent
// runs on: the agent's link to the old one fails on its next write, at the
// latest its repeated hello, and the agent joins the new one, though the
// switch had nothing to send.
func TestAgentJoinsANewHelper(t *testing.T) {
	old := startInProcess(t, true)
	n := joinAgent(t, old.m, filepath.Join(old.m.StateDir, "link.sock"))
	defer n.Close()
	vnettest.AskGateway(t, cardConn(t, old.fake), 15*time.Second)
	old.call(t, request{Op: opKill})
	if err := old.wait(t); err != nil {
		t.Fatal(err)
	}

	h := startInProcessFor(t, old.m, true)
	vnettest.AskGateway(t, cardConn(t, h.fake), 15*time.Second)
}

// Frames from an address that has not said hello are dropped while an
// agent is joined: only the agent's own reach the VM.
func TestRelayDropsStrangers(t *testing.T) {
	h := startInProcess(t, true)
	card := cardConn(t, h.fake)
	n := joinAgent(t, h.m, filepath.Join(h.m.StateDir, "link.sock"))
	defer n.Close()
	vnettest.AskGateway(t, card, 15*time.Second)
	// Drain what the switch still sends (its own ARP, a DHCP offer...).
	buf := make([]byte, maxFrame)
	for {
		_ = card.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		if _, err := card.Read(buf); err != nil {
			break
		}
	}
	stranger, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: filepath.Join(h.m.StateDir, "x.sock"), Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer stranger.Close()
	if _, err := stranger.WriteToUnix([]byte("not from the agent"), &net.UnixAddr{Name: h.m.Network.Socket, Net: "unixgram"}); err != nil {
		t.Fatal(err)
	}
	_ = card.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	if n, err := card.Read(buf); err == nil {
		t.Errorf("a stranger's datagram reached the VM: %q", buf[:n])
	}
}

// testAgent is a bare agent side of the link: its own bound socket,
// connected to the helper's, hello sent.
func testAgent(t testing.TB, m *vm.Machine, name string) *net.UnixConn {
	t.Helper()
	c, err := sockets.ListenDatagram(filepath.Join(m.StateDir, name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); os.Remove(filepath.Join(m.StateDir, name)) })
	if err := sockets.ConnectDatagram(c, m.Network.Socket); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write(vfkitMagic); err != nil {
		t.Fatal(err)
	}
	return c
}

// A frame of the largest MTU vz takes (65535, with its Ethernet header)
// passes whole both ways: no datagram is cut on the way.
func TestRelayCarriesTheLargestFrames(t *testing.T) {
	h := startInProcess(t, true)
	card := cardConn(t, h.fake)
	agent := testAgent(t, h.m, "link.sock")
	frame := bytes.Repeat([]byte{0x5a}, maxMTU+14)
	frame[0] = 1
	buf := make([]byte, maxFrame)
	for _, dir := range []struct {
		name     string
		from, to net.Conn
	}{{"agent to VM", agent, card}, {"VM to agent", card, agent}} {
		// Until the hello has arrived, the first frames may be dropped.
		var n int
		var err error
		for range 50 {
			if _, err := dir.from.Write(frame); err != nil {
				t.Fatalf("%s: %v", dir.name, err)
			}
			_ = dir.to.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
			if n, err = dir.to.Read(buf); err == nil {
				break
			}
		}
		if err != nil || !bytes.Equal(buf[:n], frame) {
			t.Fatalf("%s: read %d bytes, %v; want the %d-byte frame whole", dir.name, n, err, len(frame))
		}
	}
}

// BenchmarkRelay: one full-size frame at a time from the VM's card
// through the helper to the agent's socket and, answered, back.
func BenchmarkRelay(b *testing.B) {
	h := startInProcess(b, true)
	card := cardConn(b, h.fake)
	agent := testAgent(b, h.m, "link.sock")
	frame := bytes.Repeat([]byte{0x5a}, guestconfig.LinkMTU+14)
	buf := make([]byte, maxFrame)
	// The first frame goes once the hello has arrived.
	for {
		if _, err := card.Write(frame); err != nil {
			b.Fatal(err)
		}
		_ = agent.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		if _, err := agent.Read(buf); err == nil {
			break
		}
	}
	_ = agent.SetReadDeadline(time.Time{})
	b.SetBytes(int64(2 * len(frame)))
	b.ResetTimer()
	for range b.N {
		if _, err := card.Write(frame); err != nil {
			b.Fatal(err)
		}
		if _, err := agent.Read(buf); err != nil {
			b.Fatal(err)
		}
		if _, err := agent.Write(frame); err != nil {
			b.Fatal(err)
		}
		if _, err := card.Read(buf); err != nil {
			b.Fatal(err)
		}
	}
}
