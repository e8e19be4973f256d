package netpipe

import (
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// An echo server that upper-cases until EOF, then says so: it proves the
// half-close reaches the far end and the answer still comes back.
func TestPipeHalfClose(t *testing.T) {
	srv, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	go func() {
		c, err := srv.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		b, _ := io.ReadAll(c)
		io.WriteString(c, strings.ToUpper(string(b))+"|EOF")
	}()
	front, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer front.Close()
	go func() {
		c, err := front.Accept()
		if err != nil {
			return
		}
		d, err := net.Dial("tcp", srv.Addr().String())
		if err != nil {
			c.Close()
			return
		}
		Pipe(c, d)
		c.Close()
		d.Close()
	}()
	c, err := net.Dial("tcp", front.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "hello")
	c.(*net.TCPConn).CloseWrite()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	got, err := io.ReadAll(c)
	if err != nil || string(got) != "HELLO|EOF" {
		t.Fatalf("got %q, %v", got, err)
	}
}

// Without a half-close, both ends close.
func TestCloseWriteWithoutHalfClose(t *testing.T) {
	a, b := net.Pipe()
	CloseWrite(a, b, nil)
	if _, err := b.Write([]byte("x")); err == nil {
		t.Fatal("write to a closed pipe succeeded")
	}
}
