// Package engineswitch runs Berth's two engines side by side on Windows,
// the Linux one (the machine's VM) and the Windows one (berth-service's
// dockerd.exe), and makes "switching" a change of which one the default
// context points at: the docker CLI's current context (berth-linux or
// berth-windows), and which engine Docker's default pipe carries when the
// agent serves it (Router). Neither engine is stopped or started by a
// switch.
package engineswitch

import (
	"fmt"
	"strings"

	"github.com/berth-dev/berth/internal/dockercontext"
)

// Engine is one of the two engines.
type Engine string

// The engines.
const (
	Linux   Engine = "linux"
	Windows Engine = "windows"
)

// The docker contexts of the two engines.
const (
	LinuxContext   = "berth-linux"
	WindowsContext = "berth-windows"
)

// Parse reads an engine's name as a user gives it (berth switch's
// argument).
func Parse(s string) (Engine, error) {
	switch e := Engine(strings.ToLower(strings.TrimSpace(s))); e {
	case Linux, Windows:
		return e, nil
	}
	return "", fmt.Errorf("engine %q: linux or windows", s)
}

// Context is the docker context of e.
func (e Engine) Context() string {
	if e == Windows {
		return WindowsContext
	}
	return LinuxContext
}

// Other is the engine that is not e.
func (e Engine) Other() Engine {
	if e == Windows {
		return Linux
	}
	return Windows
}

// OfContext is the engine that the docker CLI's current context cur
// points at, as the default pipe should carry it: Windows for
// berth-windows, Linux for anything else (the machine's own contexts, and
// contexts that are not Berth's, which do not use the default pipe).
func OfContext(cur string) Engine {
	if cur == WindowsContext {
		return Windows
	}
	return Linux
}

// EnsureContexts writes both contexts into the docker CLI's configuration
// directory dir: berth-linux at the machine's docker host, berth-windows
// at the Windows engine's pipe (windowsHost).
func EnsureContexts(dir, linuxHost, windowsHost string) error {
	if err := dockercontext.Ensure(dir, LinuxContext, linuxHost, "Berth: Linux containers"); err != nil {
		return err
	}
	return dockercontext.Ensure(dir, WindowsContext, windowsHost, "Berth: Windows containers (berth-service)")
}
