package vnet

import (
	"context"
	"fmt"
	"log/slog"
	"net"

	"github.com/containers/gvisor-tap-vsock/pkg/virtualnetwork"

	"github.com/berth-dev/berth/hostagent/vnet/vhostuser"
	"github.com/berth-dev/berth/vm"
)

func linkAcceptor(link vm.Link) (acceptor, error) {
	switch link {
	case vm.LinkStream, vm.LinkHvsock:
		return acceptStream, nil
	case vm.LinkVhostUser:
		return acceptVhostUser, nil
	case vm.LinkVfkit:
		return vfkitAcceptor()
	}
	return nil, fmt.Errorf("network link %q is not known", link)
}

// acceptVhostUser serves the VM's card as its vhost-user back end: the
// switch sees it as a datagram link, one frame per read and write.
func acceptVhostUser(ctx context.Context, vn *virtualnetwork.VirtualNetwork, conn net.Conn, log *slog.Logger) error {
	uc, ok := conn.(*net.UnixConn)
	if !ok {
		return fmt.Errorf("vhost-user needs a unix socket (it passes file descriptors), not a %T", conn)
	}
	dev := vhostuser.New(uc, log)
	served := make(chan error, 1)
	go func() { served <- dev.Serve() }()
	err := vn.AcceptVfkit(ctx, dev)
	dev.Close()
	if serr := <-served; serr != nil {
		return serr
	}
	return err
}
