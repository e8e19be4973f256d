//go:build !windows

package engineswitch

import (
	"context"
	"errors"

	"github.com/berth-dev/berth/winservice"
)

var errNoWindowsEngine = errors.New("windows containers run on Windows only")

// CheckWindows fails: there is a Windows engine on Windows only.
func CheckWindows(context.Context) error { return errNoWindowsEngine }

// WindowsEngine fails: there is a Windows engine on Windows only.
func WindowsEngine(context.Context) (winservice.EngineStatus, error) {
	return winservice.EngineStatus{}, errNoWindowsEngine
}
