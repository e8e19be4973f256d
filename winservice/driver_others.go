//go:build !windows

package winservice

import "github.com/berth-dev/berth/vm/hyperv"

// connectService is nil where there is no berth-service: the Hyper-V
// driver is then unavailable (hyperv.ErrNoService).
var connectService func() (hyperv.Manager, error)
