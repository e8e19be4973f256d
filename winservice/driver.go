package winservice

import (
	"github.com/berth-dev/berth/vm"
	"github.com/berth-dev/berth/vm/hyperv"
)

// The Hyper-V driver drives berth-service through this package's Client,
// so it is registered here (vm/hyperv cannot import its client), in every
// binary that links the agent; on other OSes without a client, it is
// registered unavailable, for its capabilities.
func init() {
	vm.Register(hyperv.Factory(connectService))
}
