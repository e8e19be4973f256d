package build

import (
	"fmt"
	"path"
	"strings"
)

// InitramfsModules are the modules the guest init loads from /modules before
// it can mount the root disk and build its overlay root. The cloud kernel has
// virtio-pci, ext4 and the virtio console built in; these are modules.
// button and evdev let the guest see the ACPI power button (a graceful
// shutdown request from QEMU's system_powerdown) before the root is mounted.
var InitramfsModules = []string{"virtio_blk", "overlay", "button", "evdev"}

// HyperVInitramfsModules are the same for a VM of the Host Compute Service
// (the Hyper-V driver), whose disks are SCSI on VMBus: the VMBus itself
// (hv_vmbus), its storage driver (hv_storvsc, which brings the SCSI core)
// and SCSI disks (sd_mod). They have a load order of their own
// (InitramfsModuleOrderHyperV), which the init follows when its config
// names a SCSI root disk; a QEMU boot never loads them (hv_vmbus refuses
// to load outside Hyper-V).
var HyperVInitramfsModules = []string{"hv_vmbus", "hv_storvsc", "sd_mod", "overlay", "button", "evdev"}

// ModuleDeps is modules.dep: each module's path (relative to
// /lib/modules/<release>) and the paths of all modules it needs, directly or
// not.
type ModuleDeps map[string][]string

// ParseModulesDep parses modules.dep ("path: dep dep ...").
func ParseModulesDep(text string) (ModuleDeps, error) {
	deps := ModuleDeps{}
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		mod, rest, ok := strings.Cut(line, ":")
		if !ok {
			return nil, fmt.Errorf("modules.dep line %d: no colon", i+1)
		}
		deps[mod] = strings.Fields(rest)
	}
	return deps, nil
}

// ModuleName is the name of a module file: "kernel/fs/overlayfs/overlay.ko.xz"
// is "overlay". Dashes become underscores, as the kernel does.
func ModuleName(p string) string {
	b := path.Base(p)
	if i := strings.Index(b, ".ko"); i >= 0 {
		b = b[:i]
	}
	return strings.ReplaceAll(b, "-", "_")
}

// LoadOrder returns the module paths to load, dependencies first, for the
// named modules. A module that is built in (listed in builtin, the
// modules.builtin paths) needs nothing and is skipped; an unknown name is an
// error.
func (d ModuleDeps) LoadOrder(names []string, builtin []string) ([]string, error) {
	byName := map[string]string{}
	for p := range d {
		byName[ModuleName(p)] = p
	}
	isBuiltin := map[string]bool{}
	for _, p := range builtin {
		isBuiltin[ModuleName(p)] = true
	}
	var order []string
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(p string, chain []string) error
	visit = func(p string, chain []string) error {
		switch state[p] {
		case 2:
			return nil
		case 1:
			return fmt.Errorf("module dependency cycle: %s", strings.Join(append(chain, p), " -> "))
		}
		state[p] = 1
		deps, ok := d[p]
		if !ok {
			return fmt.Errorf("module %s is needed by %s but not in modules.dep", p, strings.Join(chain, " -> "))
		}
		for _, dep := range deps {
			if err := visit(dep, append(chain, p)); err != nil {
				return err
			}
		}
		state[p] = 2
		order = append(order, p)
		return nil
	}
	for _, n := range names {
		n = strings.ReplaceAll(n, "-", "_")
		p, ok := byName[n]
		if !ok {
			if isBuiltin[n] {
				continue
			}
			return nil, fmt.Errorf("module %s is neither in modules.dep nor built in", n)
		}
		if err := visit(p, nil); err != nil {
			return nil, err
		}
	}
	return order, nil
}

// DecompressedName is the file name a module gets in the initramfs:
// "kernel/drivers/block/virtio_blk.ko.xz" becomes "virtio_blk.ko".
func DecompressedName(p string) string {
	b := path.Base(p)
	if i := strings.Index(b, ".ko"); i >= 0 {
		return b[:i] + ".ko"
	}
	return b
}
