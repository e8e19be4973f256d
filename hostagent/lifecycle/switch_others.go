//go:build !windows

package lifecycle

import (
	"context"
	"errors"

	"github.com/berth-dev/berth/winservice"
)

var errNoWindowsEngine = errors.New("windows containers run on Windows only")

func windowsEngineReady(context.Context) error { return errNoWindowsEngine }

// WindowsEngine is the Windows engine's state; there is none here.
func WindowsEngine(context.Context) (winservice.EngineStatus, error) {
	return winservice.EngineStatus{}, errNoWindowsEngine
}
