package engineswitch

import (
	"context"
	"net"

	"github.com/berth-dev/berth/internal/sockets"
	"github.com/berth-dev/berth/winservice"
)

// serviceClient is berth-service's client (its pipe checked to be
// LocalSystem's before a byte is sent).
func serviceClient() *winservice.Client {
	return &winservice.Client{Dial: winservice.DialService}
}

// CheckWindows is WindowsReady on this computer: berth-service's pipe and
// the Windows engine's, each checked to be served by LocalSystem.
func CheckWindows(ctx context.Context) error {
	return WindowsReady(ctx, serviceClient(), func(ctx context.Context) (net.Conn, error) {
		return sockets.DialServer(ctx, winservice.EnginePipe, winservice.SystemSID)
	})
}

// WindowsEngine is the Windows engine's state, from berth-service.
func WindowsEngine(ctx context.Context) (winservice.EngineStatus, error) {
	return serviceClient().EngineStatus(ctx)
}
