package vnet

import (
	"context"
	"errors"
	"log/slog"
	"net"

	"github.com/containers/gvisor-tap-vsock/pkg/virtualnetwork"
)

// vfkitLinks: Windows has no unix datagram sockets.
const vfkitLinks = false

var errNoVfkit = errors.New("the vfkit link needs unix datagram sockets, which Windows does not have")

// UnixDatagram cannot dial on Windows.
func UnixDatagram(string, string) Dialer {
	return func(context.Context) (net.Conn, error) { return nil, errNoVfkit }
}

func acceptVfkit(context.Context, *virtualnetwork.VirtualNetwork, net.Conn, *slog.Logger) error {
	return errNoVfkit
}
