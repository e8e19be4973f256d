package hcsvm

import (
	"fmt"

	"github.com/Microsoft/go-winio/vhd"

	"github.com/berth-dev/berth/vm/hyperv"
)

// virtdisk makes VHDX files through virtdisk.dll (go-winio).
type virtdisk struct{}

func newDiskMaker() diskMaker { return virtdisk{} }

// CreateVHDX makes a dynamic VHDX of gib GiB with 1 MiB blocks (as hcsshim
// makes its scratch disks): it grows as the guest writes.
func (virtdisk) CreateVHDX(path string, gib int) error {
	if gib < 1 || gib > hyperv.MaxDiskGiB {
		return fmt.Errorf("diskGiB: %d, want 1 to %d", gib, hyperv.MaxDiskGiB)
	}
	return vhd.CreateVhdx(path, uint32(gib), 1)
}
