// Package hvsock dials a Hyper-V socket: an AF_VSOCK port of a VM the
// Host Compute Service runs (WSL 2's VM, a Hyper-V machine), from the
// Windows host. Drivers take a Dialer so that their tests dial a fake.
package hvsock

import (
	"context"
	"net"
)

// Dialer connects to an AF_VSOCK port of a Hyper-V VM: go-winio on
// Windows, a test's fake elsewhere.
type Dialer interface {
	DialHvsock(ctx context.Context, vmID string, port uint32) (net.Conn, error)
}
