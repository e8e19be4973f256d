package engineswitch

import (
	"context"
	"fmt"
	"net"

	"github.com/berth-dev/berth/winservice"
)

// WindowsReady says whether the Windows engine can be the default, asking
// berth-service (which reads the features for a standard user, and runs
// the engine), then the engine itself: the features on and not waiting
// for a restart (else the elevated command, or the restart, to do), the
// engine running, and answering /_ping on its pipe.
func WindowsReady(ctx context.Context, svc *winservice.Client, dialEngine func(context.Context) (net.Conn, error)) error {
	f, err := svc.Features(ctx)
	if err != nil {
		return err
	}
	if err := winservice.CheckFeatures(f); err != nil {
		return err
	}
	st, err := svc.EngineStatus(ctx)
	if err != nil {
		return err
	}
	if err := winservice.EngineReady(st); err != nil {
		return err
	}
	if err := Ping(ctx, dialEngine); err != nil {
		return fmt.Errorf("the Windows engine does not answer on %s: %w", winservice.EnginePipe, err)
	}
	return nil
}
