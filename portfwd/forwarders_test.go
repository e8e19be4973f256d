package portfwd

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// loopNet is a GuestNet whose "guest" is a map of targets to local
// listeners.
type loopNet struct{ targets map[string]string }

func (n loopNet) DialTCP(ctx context.Context, addr string) (net.Conn, error) {
	real, ok := n.targets[addr]
	if !ok {
		return nil, errors.New("connection refused")
	}
	var d net.Dialer
	return d.DialContext(ctx, "tcp", real)
}

func (n loopNet) ExposeUDP(string, string) (io.Closer, error) {
	return nil, errors.New("no UDP in this test")
}

// echoServer answers each line with its upper-case and closes after EOF.
func echoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				b, _ := io.ReadAll(c) // until the client half-closes
				_, _ = c.Write([]byte(strings.ToUpper(string(b))))
			}()
		}
	}()
	return ln.Addr().String()
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func TestTCPForwardHalfCloseAndRelease(t *testing.T) {
	target := echoServer(t)
	fw := &Forwarders{Net: loopNet{targets: map[string]string{"192.168.127.2:80": target}}}
	port := freePort(t)
	f := Forward{Proto: TCP, HostIP: "127.0.0.1", HostPort: port, GuestIP: "192.168.127.2", GuestPort: 80}
	c, err := fw.Open(f)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", f.HostAddr())
	if err != nil {
		t.Fatal(err)
	}
	_, _ = conn.Write([]byte("hello"))
	_ = conn.(*net.TCPConn).CloseWrite()
	b, err := io.ReadAll(conn)
	if err != nil || string(b) != "HELLO" {
		t.Fatalf("echo through the forward: %q %v", b, err)
	}
	conn.Close()

	// A connection in flight is closed when the forward closes.
	idle, err := net.Dial("tcp", f.HostAddr())
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // let the relay dial the target
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	_ = idle.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := idle.Read(make([]byte, 1)); err == nil || isTimeout(err) {
		t.Fatalf("connection in flight survived the close: %v", err)
	}
	// The host port is free again.
	ln, err := net.Listen("tcp", f.HostAddr())
	if err != nil {
		t.Fatalf("host port not released: %v", err)
	}
	ln.Close()
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func TestTCPForwardConflictIsAnError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	fw := &Forwarders{Net: loopNet{}}
	_, err = fw.Open(Forward{Proto: TCP, HostIP: "127.0.0.1", HostPort: port, GuestIP: "192.168.127.2", GuestPort: 80})
	if err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("open on a busy port: %v", err)
	}
}

func TestGuestRefusalClosesClient(t *testing.T) {
	fw := &Forwarders{Net: loopNet{}}
	port := freePort(t)
	f := Forward{Proto: TCP, HostIP: "127.0.0.1", HostPort: port, GuestIP: "192.168.127.2", GuestPort: 81}
	c, err := fw.Open(f)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	conn, err := net.Dial("tcp", f.HostAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := conn.Read(make([]byte, 1)); n != 0 || err == nil || isTimeout(err) {
		t.Fatalf("read from a forward whose target refuses: %d %v", n, err)
	}
}

func TestListenPlan(t *testing.T) {
	tests := []struct {
		goos string
		f    Forward
		want plan
	}{
		{"linux", Forward{Proto: TCP, HostIP: AllAddresses, HostPort: 80}, plan{"tcp", ":80", false}},
		{"linux", Forward{Proto: TCP, HostIP: "127.0.0.1", HostPort: 80}, plan{"tcp", "127.0.0.1:80", false}},
		{"darwin", Forward{Proto: TCP, HostIP: "127.0.0.1", HostPort: 80}, plan{"tcp4", "0.0.0.0:80", true}},
		{"darwin", Forward{Proto: TCP, HostIP: "::1", HostPort: 443}, plan{"tcp6", "[::]:443", true}},
		{"darwin", Forward{Proto: TCP, HostIP: "127.0.0.1", HostPort: 8080}, plan{"tcp", "127.0.0.1:8080", false}},
		{"darwin", Forward{Proto: UDP, HostIP: "127.0.0.1", HostPort: 53}, plan{"udp4", "0.0.0.0:53", true}},
		{"windows", Forward{Proto: TCP, HostIP: "::1", HostPort: 80}, plan{"tcp", "[::1]:80", false}},
	}
	for _, tt := range tests {
		if got := listenPlan(tt.goos, tt.f); got != tt.want {
			t.Errorf("%s %s: %+v, want %+v", tt.goos, tt.f.Key(), got, tt.want)
		}
	}
}

func TestExplainPrivilegedPort(t *testing.T) {
	perm := &net.OpError{Op: "listen", Err: errors.New("bind: permission denied")}
	err := explainListenErr("linux", 80, perm)
	if !strings.Contains(err.Error(), "ip_unprivileged_port_start") || !strings.Contains(err.Error(), "CAP_NET_BIND_SERVICE") {
		t.Errorf("linux: %v", err)
	}
	if err := explainListenErr("linux", 8080, perm); !errors.Is(err, perm) || err.Error() != perm.Error() {
		t.Errorf("unprivileged port explained: %v", err)
	}
	if err := explainListenErr("windows", 80, perm); !strings.Contains(err.Error(), "privileged") {
		t.Errorf("windows: %v", err)
	}
}

func TestUDPToGuestLoopbackNeedsADatagramDialer(t *testing.T) {
	fw := &Forwarders{Net: loopNet{}}
	_, err := fw.Open(Forward{Proto: UDP, HostIP: "127.0.0.1", HostPort: freePort(t), GuestIP: "::1", GuestPort: 53})
	if err == nil || !strings.Contains(err.Error(), "[::1]:53") {
		t.Fatalf("UDP to the guest's ::1 without a datagram dialer: %v", err)
	}
}
