package hostagent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/berth-dev/berth/guest/guestconfig"
	"github.com/berth-dev/berth/kernel"
	"github.com/berth-dev/berth/store"
	"github.com/berth-dev/berth/vm"
)

// describe builds the machine's VM description; the agent boots it, and
// Cleanup uses it to find a VM an agent left behind.
func describe(o Options, spec MachineSpec) *vm.Machine {
	m := o.Machine
	return &vm.Machine{
		Name: m.Name, Arch: spec.Arch, CPUs: spec.CPUs, MemoryMiB: spec.MemoryMiB,
		Kernel:  filepath.Join(o.ImageDir, kernel.KernelFile),
		Initrd:  m.Path(store.InitrdFile),
		Cmdline: kernelCmdline,
		Disks: []vm.Disk{
			{Path: filepath.Join(o.ImageDir, kernel.RootfsFile), ReadOnly: true},
			{Path: m.Path(store.DataDisk)},
		},
		Network:    vm.Network{Socket: m.Path(store.NetSock), MAC: guestconfig.GuestMAC},
		ConsoleLog: m.Path(store.SerialLogFile),
		BootMarker: guestconfig.MarkerInitStarted,
		Accel:      o.Accel,
		StateDir:   m.Dir,
	}
}

// bundledVirtiofsd is the image's own virtiofsd, nil when it has none.
func bundledVirtiofsd(imageDir string, man *kernel.Manifest) *vm.Program {
	p := man.Virtiofsd
	if p == nil {
		return nil
	}
	abs := func(rel string) string {
		if rel == "" {
			return ""
		}
		return filepath.Join(imageDir, filepath.FromSlash(rel))
	}
	return &vm.Program{Path: abs(p.Path), Loader: abs(p.Loader), LibraryPath: abs(p.LibraryPath)}
}

// Cleanup is called when no agent runs: it powers off a VM left without its
// agent and removes stale sockets, and says what it found.
func Cleanup(ctx context.Context, o Options) ([]string, error) {
	var found []string
	m := o.Machine
	spec, err := readSpec(m)
	if err == nil {
		d, err := vm.New(o.Driver, describe(o, spec))
		if err == nil {
			a := &Agent{o: o, log: discardLogger()}
			if p, ok := d.(interface{ RunningPID() (int, bool) }); ok {
				if pid, alive := p.RunningPID(); alive {
					found = append(found, fmt.Sprintf("the VM (pid %d) was running without its host agent: powered off", pid))
					if err := a.reapOrphan(d); err != nil {
						return found, err
					}
				}
			}
		}
	}
	for _, s := range []string{m.AgentSocket(), m.DockerSocket(), m.Path(store.NetSock), m.Path(store.QMPSock), m.Path(store.QEMUPIDFile)} {
		if _, err := os.Lstat(s); err == nil {
			if err := os.Remove(s); err != nil && !errors.Is(err, os.ErrNotExist) {
				return found, fmt.Errorf("removing stale %s: %w", s, err)
			}
			found = append(found, "removed stale "+filepath.Base(s))
		}
	}
	return found, nil
}
