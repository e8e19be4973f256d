package hcsvm

import (
	"fmt"
	"syscall"
	"unsafe"

	"github.com/Microsoft/go-winio/vhd"
	"golang.org/x/sys/windows"

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

// SizeVHDX reads the disk's virtual size from its metadata.
func (virtdisk) SizeVHDX(path string) (uint64, error) { return vhdxFileSize(path) }

// procResizeVirtualDisk is virtdisk.dll's ResizeVirtualDisk, which
// go-winio does not wrap.
var procResizeVirtualDisk = windows.NewLazySystemDLL("virtdisk.dll").NewProc("ResizeVirtualDisk")

// resizeParameters is RESIZE_VIRTUAL_DISK_PARAMETERS, version 1.
type resizeParameters struct {
	Version uint32
	_       uint32
	NewSize uint64
}

// ResizeVHDX grows the disk to gib GiB with ResizeVirtualDisk; the disk is
// opened with version 2 parameters (access mask none), as the call wants.
func (virtdisk) ResizeVHDX(path string, gib int) error {
	if gib < 1 || gib > hyperv.MaxDiskGiB {
		return fmt.Errorf("diskGiB: %d, want 1 to %d", gib, hyperv.MaxDiskGiB)
	}
	if err := procResizeVirtualDisk.Find(); err != nil {
		return fmt.Errorf("virtdisk.dll has no ResizeVirtualDisk: %w", err)
	}
	h, err := vhd.OpenVirtualDisk(path, vhd.VirtualDiskAccessNone, vhd.OpenVirtualDiskFlagNone)
	if err != nil {
		return err
	}
	defer func() { _ = syscall.CloseHandle(h) }()
	p := resizeParameters{Version: 1, NewSize: uint64(gib) << 30}
	r, _, _ := procResizeVirtualDisk.Call(uintptr(h), 0, uintptr(unsafe.Pointer(&p)), 0)
	if r != 0 {
		return fmt.Errorf("ResizeVirtualDisk: %w", syscall.Errno(r))
	}
	return nil
}
