package agentapi

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// serveTCP runs the handler on a real loopback TCP listener: the connect
// stream is hijacked from it and must half-close like TCP.
func serveTCP(t *testing.T) *Client {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: NewHandler(&fakeBackend{}), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return NewClient(func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", ln.Addr().String())
	})
}

func TestConnectCarriesAStreamWithHalfClose(t *testing.T) {
	c := serveTCP(t)
	// The target answers once the client has finished sending.
	target, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer target.Close()
	go func() {
		s, err := target.Accept()
		if err != nil {
			return
		}
		defer s.Close()
		b, _ := io.ReadAll(s)
		fmt.Fprintf(s, "got %d bytes: %s", len(b), b[:5])
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := c.Connect(ctx, target.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	payload := strings.Repeat("hello", 100000)
	if _, err := io.WriteString(conn, payload); err != nil {
		t.Fatal(err)
	}
	if err := conn.(interface{ CloseWrite() error }).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	got, err := io.ReadAll(conn)
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("got %d bytes: hello", len(payload)); string(got) != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestConnectRefusals(t *testing.T) {
	c := serveTCP(t)
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := closed.Addr().String()
	closed.Close()
	for _, tt := range []struct{ addr, want string }{
		{"192.0.2.1:80", "only a loopback address"},
		{"[::1]:0", "only a loopback address"},
		{"localhost:80", "want ip:port"},
		{refused, "refused"},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		conn, err := c.Connect(ctx, tt.addr)
		cancel()
		if err == nil {
			conn.Close()
			t.Errorf("%s: connected", tt.addr)
			continue
		}
		if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), tt.addr) {
			t.Errorf("%s: error %q, want it to name the address and say %q", tt.addr, err, tt.want)
		}
	}
}

func TestConnectUDPCarriesDatagrams(t *testing.T) {
	c := serveTCP(t)
	echo, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer echo.Close()
	go func() {
		buf := make([]byte, 70000)
		for {
			n, from, err := echo.ReadFrom(buf)
			if err != nil {
				return
			}
			_, _ = echo.WriteTo(append([]byte("echo:"), buf[:n]...), from)
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := c.ConnectUDP(ctx, echo.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, maxDatagram)
	// Boundaries are kept: two datagrams written back to back come back as two.
	big := strings.Repeat("x", 60000)
	for _, msg := range []string{"one", "two", big} {
		if err := WriteDatagram(conn, []byte(msg)); err != nil {
			t.Fatal(err)
		}
	}
	for _, msg := range []string{"one", "two", big} {
		n, err := ReadDatagram(conn, buf)
		if err != nil {
			t.Fatal(err)
		}
		if got := string(buf[:n]); got != "echo:"+msg {
			t.Fatalf("got %.20q (%d bytes), want echo of %.20q", got, n, msg)
		}
	}
	if err := WriteDatagram(conn, make([]byte, maxDatagram+1)); err == nil {
		t.Error("an oversized datagram was written")
	}
}
