package hostagent

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"

	"github.com/berth-dev/berth/guest/guestconfig"
	"github.com/berth-dev/berth/internal/atomicfile"
	"github.com/berth-dev/berth/internal/initrd"
	"github.com/berth-dev/berth/kernel"
	"github.com/berth-dev/berth/store"
	"github.com/berth-dev/berth/vm"
)

// prepareBoot writes what the driver's way of booting needs from the agent:
// for a kernel boot, the initrd with this boot's guest config.
func prepareBoot(boot vm.Boot, m store.Machine, imageDir string, cfg guestconfig.Config) error {
	switch boot {
	case vm.BootKernel:
		return writeInitrd(m.Path(store.InitrdFile), filepath.Join(imageDir, kernel.InitramfsFile), cfg)
	case vm.BootRootFS, vm.BootService:
		// No initrd of the agent's carries it: the driver hands the guest
		// this file (vm.Machine.GuestConfig), or what a service takes of it.
		return writeGuestConfig(m.Path(store.GuestConfig), cfg)
	default:
		return fmt.Errorf("boot %q: this guest image has a kernel and initramfs only (kernel+initrd boots)", boot)
	}
}

// writeInitrd writes the image's initramfs followed by this boot's guest
// config (package initrd).
func writeInitrd(dst, base string, cfg guestconfig.Config) error { return initrd.Write(dst, base, cfg) }

// socketFiles are the unix sockets among a driver's runtime files.
func socketFiles(names []string) []string {
	var socks []string
	for _, n := range names {
		if filepath.Ext(n) == ".sock" {
			socks = append(socks, n)
		}
	}
	return socks
}

// writeGuestConfig writes this boot's guest config as a file of its own,
// for a boot without an initrd.
func writeGuestConfig(dst string, cfg guestconfig.Config) error {
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("guest config: %w", err)
	}
	js, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(dst, 0o600, func(out io.Writer) error {
		_, err := out.Write(js)
		return err
	})
}

// forRootFSBoot turns the machine's description into a root file system
// boot: the image's WSL flavour to import, this boot's guest config as a
// file, no kernel, initrd or disks of the agent's.
func forRootFSBoot(mach *vm.Machine, imageDir string, man *kernel.Manifest, m store.Machine) error {
	if man.WSLRootfs == "" {
		return fmt.Errorf("boot %q: the guest image (%s) has no root file system tarball; rebuild it (make image)", vm.BootRootFS, imageDir)
	}
	mach.RootFS = filepath.Join(imageDir, man.WSLRootfs)
	mach.GuestConfig = m.Path(store.GuestConfig)
	mach.Kernel, mach.Initrd, mach.Cmdline, mach.Disks = "", "", "", nil
	return nil
}
