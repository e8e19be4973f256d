package vnet

import (
	"errors"
	"io"
	"net"
	"testing"
)

// A write to a VM that went away ends the link: reported as sent, and the
// switch's reader, its next read failing, drops the link.
func TestLinkConnEndsOnFailedWrite(t *testing.T) {
	agent, vm := net.Pipe()
	c := &linkConn{Conn: agent}
	vm.Close()
	frame := []byte("frame")
	if n, err := c.Write(frame); n != len(frame) || err != nil {
		t.Fatalf("write to a closed link: %d, %v; want %d, nil", n, err, len(frame))
	}
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, io.ErrClosedPipe) {
		t.Fatalf("read after a failed write: %v, want the link closed", err)
	}
}
