package vnet

import (
	"context"
	"errors"
	"net"
)

var errNoVfkit = errors.New("the vfkit link needs unix datagram sockets, which Windows does not have")

// vfkitAcceptor refuses: Windows has no unix datagram sockets.
func vfkitAcceptor() (acceptor, error) { return nil, errNoVfkit }

// UnixDatagram cannot dial on Windows.
func UnixDatagram(string, string) Dialer {
	return func(context.Context) (net.Conn, error) { return nil, errNoVfkit }
}
