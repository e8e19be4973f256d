package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"runtime"

	"github.com/berth-dev/berth/hostagent/api"
	"github.com/berth-dev/berth/internal/dockercontext"
	"github.com/berth-dev/berth/internal/engineswitch"
	"github.com/berth-dev/berth/store"
	"github.com/berth-dev/berth/winservice"
)

// SwitchEngine makes e the default engine of the docker CLI on this
// computer, for `berth switch` and the tray: the context berth-linux (the
// machine m) or berth-windows (berth-service's engine), and the engine
// Docker's default pipe carries when m's agent serves it. Neither engine
// is started or stopped; when e cannot take requests (Windows features
// off or waiting for a restart, no berth-service, the engine down),
// nothing changes and the error says what to do.
func SwitchEngine(ctx context.Context, m store.Machine, e engineswitch.Engine) (engineswitch.Result, error) {
	if err := checkSwitchOS(runtime.GOOS, e); err != nil {
		return engineswitch.Result{}, err
	}
	dir, err := dockercontext.Dir()
	if err != nil {
		return engineswitch.Result{}, err
	}
	sw := engineswitch.Switcher{
		DockerConfig: dir, LinuxHost: m.DockerHost(), WindowsHost: winservice.EngineHost,
		Ready: func(ctx context.Context, e engineswitch.Engine) error {
			if e == engineswitch.Windows {
				return engineswitch.CheckWindows(ctx)
			}
			return nil // the Linux context stands whether the machine runs or not
		},
		Route: func(ctx context.Context, e engineswitch.Engine) error { return routeDefault(ctx, m, e) },
	}
	return sw.Switch(ctx, e)
}

// checkSwitchOS refuses the Windows engine where there is none.
func checkSwitchOS(goos string, e engineswitch.Engine) error {
	if e == engineswitch.Windows && goos != "windows" {
		return fmt.Errorf("windows containers run on Windows only (this is %s)", goos)
	}
	return nil
}

// routeDefault re-points Docker's default pipe through m's agent;
// engineswitch.ErrNotRouted when no agent of m runs or it does not serve
// the pipe.
func routeDefault(ctx context.Context, m store.Machine, e engineswitch.Engine) error {
	st, err := Status(ctx, m)
	if err != nil {
		return err
	}
	if st.State == api.StateStopped {
		return engineswitch.ErrNotRouted
	}
	err = api.NewClient(m.AgentSocket()).SetDefaultEngine(ctx, string(e))
	if errors.Is(err, api.ErrDefaultNotServed) {
		return fmt.Errorf("%w: %w", engineswitch.ErrNotRouted, err)
	}
	return err
}

// ensureEngineContexts writes berth-linux and berth-windows on Windows.
func ensureEngineContexts(goos, dir, linuxHost string) error {
	if goos != "windows" {
		return nil
	}
	return engineswitch.EnsureContexts(dir, linuxHost, winservice.EngineHost)
}
