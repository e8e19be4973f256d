package hcsvm

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/berth-dev/berth/kernel"
	"github.com/berth-dev/berth/store"
	"github.com/berth-dev/berth/vm/hyperv"
)

// layout is where the service keeps one user's machine, and what it boots
// it from. Every path comes from the service's own directories, the
// caller's SID (from the pipe's client token) and the machine's checked
// name: none from the request.
type layout struct {
	// kernel, initramfs and rootImage are the installation's guest image.
	kernel, initramfs, rootImage string
	// rootVHD is the root file system with a VHD footer, shared by every
	// machine (read-only in each VM).
	rootVHD string
	// dir is the machine's own directory: its initrd (the image's
	// initramfs and the service's guest config) and its data disk.
	dir, initrd, dataDisk string
	// id names the compute system in HCS.
	id string
}

// The files of a machine's directory and of the service's.
const (
	rootVHDFile  = "rootfs.vhd"
	initrdFile   = "initrd.img"
	dataDiskFile = "data.vhdx"
	machinesDir  = "machines"
	imageDir     = "image"
)

// newLayout is the layout of sid's machine under the service's
// directories; a bad SID or machine name is refused, naming the field.
func newLayout(images, data, sid, machine string) (layout, error) {
	var errs []error
	if err := hyperv.ValidSID(sid); err != nil {
		errs = append(errs, err)
	}
	if err := store.ValidateName(machine); err != nil {
		errs = append(errs, fmt.Errorf("machine: %w", err))
	}
	if err := errors.Join(errs...); err != nil {
		return layout{}, err
	}
	dir := filepath.Join(data, machinesDir, sid, machine)
	return layout{
		kernel:    filepath.Join(images, kernel.KernelFile),
		initramfs: filepath.Join(images, kernel.InitramfsFile),
		rootImage: filepath.Join(images, kernel.RootfsFile),
		rootVHD:   filepath.Join(data, imageDir, rootVHDFile),
		dir:       dir,
		initrd:    filepath.Join(dir, initrdFile),
		dataDisk:  filepath.Join(dir, dataDiskFile),
		id:        computeSystemID(sid, machine),
	}, nil
}

// computeSystemID is the HCS id of sid's machine: unique per user and
// machine, and recognisably Berth's in `hcsdiag list`.
func computeSystemID(sid, machine string) string {
	return "berth-" + machine + "-" + strings.ToLower(sid)
}
