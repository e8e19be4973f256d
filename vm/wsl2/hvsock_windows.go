package wsl2

import (
	"context"
	"fmt"
	"net"

	"github.com/Microsoft/go-winio"
	"github.com/Microsoft/go-winio/pkg/guid"
)

// winioDialer dials Hyper-V sockets with go-winio. WSL lets the user who
// started it connect to its VM's sockets.
type winioDialer struct{}

func (winioDialer) DialHvsock(ctx context.Context, vmID string, port uint32) (net.Conn, error) {
	id, err := guid.FromString(vmID)
	if err != nil {
		return nil, fmt.Errorf("VM id %q: %w", vmID, err)
	}
	return winio.Dial(ctx, &winio.HvsockAddr{VMID: id, ServiceID: winio.VsockServiceID(port)})
}

func newHvsockDialer() hvsockDialer { return winioDialer{} }
