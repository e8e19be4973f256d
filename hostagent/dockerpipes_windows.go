package hostagent

import (
	"context"
	"net"

	"github.com/berth-dev/berth/hostagent/bridge"
	"github.com/berth-dev/berth/internal/sockets"
	"github.com/berth-dev/berth/winservice"
)

// windowsEngineDialer dials the Windows engine's pipe, whose server must
// be berth-service's dockerd.exe, running as LocalSystem.
func windowsEngineDialer() bridge.Dialer {
	return func(ctx context.Context) (net.Conn, error) {
		return sockets.DialServer(ctx, winservice.EnginePipe, winservice.SystemSID)
	}
}
