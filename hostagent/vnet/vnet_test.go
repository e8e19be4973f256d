package vnet

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/berth-dev/berth/vm"
)

func TestServes(t *testing.T) {
	for _, tc := range []struct {
		l    vm.LinkSpec
		want bool
	}{
		{vm.LinkSpec{Link: vm.LinkStream, Listener: vm.PartyHypervisor}, true},
		{vm.LinkSpec{Link: vm.LinkHvsock, Listener: vm.PartyGuest}, true},
		{vm.LinkSpec{Link: vm.LinkVhostUser, Listener: vm.PartyHypervisor}, runtime.GOOS == "linux"},
		// vfkit needs unix datagram sockets: not on Windows.
		{vm.LinkSpec{Link: vm.LinkVfkit, Listener: vm.PartyHypervisor}, runtime.GOOS != "windows"},
		// The agent does not listen.
		{vm.LinkSpec{Link: vm.LinkStream, Listener: vm.PartyAgent}, false},
		{vm.LinkSpec{Link: vm.LinkVfkit, Listener: vm.PartyAgent}, false},
	} {
		if got := Serves(tc.l); got != tc.want {
			t.Errorf("Serves(%v) = %v, want %v", tc.l, got, tc.want)
		}
	}
}

// The network dials the VM's side through the Dialer it was given, tries
// again while that side is not up, and joins again when the link drops:
// the same for a hypervisor's unix socket and a guest's hvsock.
func TestJoinRedialsThroughTheDialer(t *testing.T) {
	var dials atomic.Int32
	links := make(chan net.Conn, 4)
	dial := func(ctx context.Context) (net.Conn, error) {
		n := dials.Add(1)
		if n == 1 {
			return nil, errors.New("the VM is not up yet")
		}
		vmSide, agentSide := net.Pipe()
		links <- vmSide
		return agentSide, nil
	}
	n, err := Start(context.Background(), dial, vm.LinkHvsock, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	var first net.Conn
	select {
	case first = <-links:
	case <-time.After(10 * time.Second):
		t.Fatalf("no link after %d dials", dials.Load())
	}
	// The VM's side drops the link (a guest that restarts its end).
	first.Close()
	select {
	case second := <-links:
		defer second.Close()
	case <-time.After(10 * time.Second):
		t.Fatalf("the network did not join again after the link dropped (%d dials)", dials.Load())
	}
	if d := dials.Load(); d < 3 {
		t.Errorf("%d dials, want a failed one and two links", d)
	}
}

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
