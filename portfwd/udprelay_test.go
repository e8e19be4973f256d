package portfwd

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/berth-dev/berth/guest/agentapi"
	"github.com/berth-dev/berth/internal/wine"
)

// streamNet is a GuestNet whose datagram streams end at a real UDP socket
// on host loopback, framed as the guest agent frames them.
type streamNet struct {
	loopNet
	target string // the "guest" UDP server
	opened atomic.Int32
}

func (n *streamNet) DialUDPStream(ctx context.Context, addr string) (net.Conn, error) {
	if addr != "[::1]:53" {
		return nil, fmt.Errorf("unexpected target %s", addr)
	}
	udp, err := net.Dial("udp", n.target)
	if err != nil {
		return nil, err
	}
	n.opened.Add(1)
	mine, theirs := net.Pipe()
	go func() {
		buf := make([]byte, 65535)
		for {
			k, err := udp.Read(buf)
			if err != nil || agentapi.WriteDatagram(theirs, buf[:k]) != nil {
				return
			}
		}
	}()
	go func() {
		defer udp.Close()
		buf := make([]byte, 65535)
		for {
			k, err := agentapi.ReadDatagram(theirs, buf)
			if err != nil {
				return
			}
			_, _ = udp.Write(buf[:k])
		}
	}()
	return mine, nil
}

func udpEchoServer(t *testing.T) string {
	t.Helper()
	wine.Skip(t, "Wine lacks the SIO_UDP_CONNRESET ioctl Go uses to open a UDP socket on Windows")
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 65535)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			_, _ = pc.WriteTo(append([]byte("echo:"), buf[:n]...), from)
		}
	}()
	return pc.LocalAddr().String()
}

func udpAsk(t *testing.T, addr, msg string) string {
	t.Helper()
	c, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 65535)
	for range 20 {
		_, _ = c.Write([]byte(msg))
		_ = c.SetReadDeadline(time.Now().Add(250 * time.Millisecond))
		if n, err := c.Read(buf); err == nil {
			return string(buf[:n])
		}
	}
	t.Fatalf("no answer from %s", addr)
	return ""
}

func TestUDPForwardToGuestLoopback(t *testing.T) {
	n := &streamNet{target: udpEchoServer(t)}
	fw := &Forwarders{Net: n}
	port := freePort(t)
	f := Forward{Proto: UDP, HostIP: "127.0.0.1", HostPort: port, GuestIP: "::1", GuestPort: 53}
	c, err := fw.Open(f)
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	for _, msg := range []string{"a", "b"} { // two clients, a session each
		if got := udpAsk(t, addr, msg); got != "echo:"+msg {
			t.Fatalf("got %q", got)
		}
	}
	if got := n.opened.Load(); got != 2 {
		t.Errorf("%d guest streams for two clients", got)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	// Released: the port can be bound again.
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		t.Fatalf("port still held after Close: %v", err)
	}
	pc.Close()
}

func TestUDPRelayEndsIdleSessions(t *testing.T) {
	n := &streamNet{target: udpEchoServer(t)}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var refuse atomic.Bool
	r := startUDPRelay(pc, func(ctx context.Context) (net.Conn, error) {
		if refuse.Load() {
			return nil, errors.New("refused")
		}
		return n.DialUDPStream(ctx, "[::1]:53")
	}, 200*time.Millisecond, (&Forwarders{}).logger())
	defer r.Close()
	if got := udpAsk(t, pc.LocalAddr().String(), "x"); got != "echo:x" {
		t.Fatalf("got %q", got)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		r.mu.Lock()
		left := len(r.sessions)
		r.mu.Unlock()
		if left == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d sessions still open after their idle time", left)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// A refused guest side drops the datagram and keeps the relay serving.
	refuse.Store(true)
	c, _ := net.Dial("udp", pc.LocalAddr().String())
	defer c.Close()
	_, _ = c.Write([]byte("dropped"))
	time.Sleep(100 * time.Millisecond)
	refuse.Store(false)
	if got := udpAsk(t, pc.LocalAddr().String(), "y"); got != "echo:y" {
		t.Fatalf("after a refusal: %q", got)
	}
}
