package hostagent

import (
	"context"
	"net"

	"github.com/berth-dev/berth/guest/guestconfig"
	"github.com/berth-dev/berth/hostagent/vnet"
	"github.com/berth-dev/berth/internal/engine"
)

// dockerVersion asks dockerd for its version through the virtual network,
// on a client of its own, closed after the call: start-up asks before the
// ports' client exists.
func dockerVersion(ctx context.Context, network *vnet.Network) (string, error) {
	ec, err := engine.New(func(ctx context.Context) (net.Conn, error) {
		return network.DialGuest(ctx, guestconfig.DockerPort)
	})
	if err != nil {
		return "", err
	}
	defer ec.Close()
	ctx, cancel := context.WithTimeout(ctx, guestRequestTTL)
	defer cancel()
	return ec.Version(ctx)
}
