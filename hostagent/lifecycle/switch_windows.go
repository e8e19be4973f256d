package lifecycle

import (
	"context"
	"net"

	"github.com/berth-dev/berth/internal/engineswitch"
	"github.com/berth-dev/berth/internal/sockets"
	"github.com/berth-dev/berth/winservice"
)

// ServiceClient is berth-service's client (the pipe checked to be
// LocalSystem's before a byte is sent).
func ServiceClient() *winservice.Client {
	return &winservice.Client{Dial: winservice.DialService}
}

func windowsEngineReady(ctx context.Context) error {
	return engineswitch.WindowsReady(ctx, ServiceClient(), func(ctx context.Context) (net.Conn, error) {
		return sockets.DialServer(ctx, winservice.EnginePipe, winservice.SystemSID)
	})
}

// WindowsEngine is the Windows engine's state, from berth-service.
func WindowsEngine(ctx context.Context) (winservice.EngineStatus, error) {
	return ServiceClient().EngineStatus(ctx)
}
