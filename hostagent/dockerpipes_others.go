//go:build !windows

package hostagent

import "github.com/berth-dev/berth/hostagent/bridge"

// windowsEngineDialer is nil: there is a Windows engine on Windows only.
func windowsEngineDialer() bridge.Dialer { return nil }
