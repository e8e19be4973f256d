package hvsock

import (
	"context"
	"fmt"
	"net"

	"github.com/Microsoft/go-winio"
	"github.com/Microsoft/go-winio/pkg/guid"
)

// winioDialer dials Hyper-V sockets with go-winio. Who may connect is the
// VM's to say: WSL lets the user who started it connect to its VM's
// sockets; a Berth Hyper-V machine lets its user connect to its link port.
type winioDialer struct{}

func (winioDialer) DialHvsock(ctx context.Context, vmID string, port uint32) (net.Conn, error) {
	id, err := guid.FromString(vmID)
	if err != nil {
		return nil, fmt.Errorf("VM id %q: %w", vmID, err)
	}
	return winio.Dial(ctx, &winio.HvsockAddr{VMID: id, ServiceID: winio.VsockServiceID(port)})
}

// New is the system's Dialer.
func New() Dialer { return winioDialer{} }
