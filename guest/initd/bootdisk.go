package initd

import (
	"encoding/json"
	"strings"

	"github.com/berth-dev/berth/guest/guestconfig"
)

// The initramfs's module load orders (kernel/build: InitramfsModuleOrder
// and InitramfsModuleOrderHyperV, over the files of /modules).
const (
	moduleOrderVirtio = "order"
	moduleOrderHyperV = "order.hyperv"
)

// rootBoot is what stage 1 needs from the machine config before the root
// disk is there: the root disk's device and the module load order that
// makes it appear. A SCSI root (/dev/sd*: a Hyper-V VM, whose disks are
// on VMBus) needs the Hyper-V order; anything else is a virtio disk. A
// config that does not parse or validate boots as a virtio VM, and stage
// 2 reports the config.
func rootBoot(cfgBytes []byte) (root, order string) {
	var cfg guestconfig.Config
	if json.Unmarshal(cfgBytes, &cfg) != nil || cfg.Validate() != nil {
		return guestconfig.RootDeviceVirtio, moduleOrderVirtio
	}
	root = cfg.Root()
	if strings.HasPrefix(root, "/dev/sd") {
		return root, moduleOrderHyperV
	}
	return root, moduleOrderVirtio
}
