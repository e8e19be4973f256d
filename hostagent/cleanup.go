package hostagent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

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

// bundledVirtiofsd is the image's own virtiofsd, nil when it has none or
// it is for a host of another architecture than hostArch (the driver then
// looks for the host's own).
func bundledVirtiofsd(imageDir string, man *kernel.Manifest, hostArch string) *vm.Program {
	p := man.Virtiofsd
	if p == nil || p.HostArch(man.Arch) != hostArch {
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

// checkImageArch refuses a guest image of another architecture than the
// machine's (BERTH_IMAGE_DIR, or an image directory built for another one).
func checkImageArch(man *kernel.Manifest, dir, arch string) error {
	if man.Arch == "" || man.Arch == arch {
		return nil
	}
	return fmt.Errorf("the guest image in %s is for %s, and the machine is %s: build one with `make image ARCH=%s`, or point BERTH_IMAGE_DIR at one", dir, man.Arch, arch, arch)
}

// Cleanup is called when no agent runs: it powers off a VM left without its
// agent and removes stale sockets, and says what it found. The driver's
// own files are removed only once the driver says no VM runs: a driver
// that cannot be made here leaves them all in place.
func Cleanup(ctx context.Context, o Options) ([]string, error) {
	var found []string
	m := o.Machine
	name, caps, err := vm.CapabilitiesOf(machineDriver(m, o.Driver), runtime.GOOS)
	if err != nil {
		return nil, fmt.Errorf("cleaning up machine %q: %w", m.Name, err)
	}
	if spec, err := readSpec(m); err == nil {
		d, err := vm.New(name, describe(o, spec))
		if err != nil {
			return nil, fmt.Errorf("cleaning up machine %q: the %s driver: %w", m.Name, name, err)
		}
		pid, err := vm.RunningPID(d)
		switch {
		case err == nil:
			found = append(found, fmt.Sprintf("the VM (pid %d) was running without its host agent: powered off", pid))
			a := &Agent{o: o, log: discardLogger()}
			if err := a.reapOrphan(d); err != nil {
				return found, err
			}
		case errors.Is(err, vm.ErrNotRunning):
		default:
			// The driver cannot tell: its files may be a live VM's.
			caps.RuntimeFiles = nil
		}
	}
	stale := []string{m.AgentSocket(), m.DockerSocket(), m.Path(store.NetSock), m.Path(store.LinkSock)}
	for _, pattern := range caps.RuntimeFiles {
		matches, _ := filepath.Glob(m.Path(pattern))
		stale = append(stale, matches...)
	}
	for _, s := range stale {
		if _, err := os.Lstat(s); err == nil {
			if err := os.Remove(s); err != nil && !errors.Is(err, os.ErrNotExist) {
				return found, fmt.Errorf("removing stale %s: %w", s, err)
			}
			found = append(found, "removed stale "+filepath.Base(s))
		}
	}
	return found, nil
}

// RemoveVM deletes what the machine's driver keeps outside the machine
// directory (a registered WSL distro); the machine must be stopped.
// Drivers that keep nothing there (vm.Remover) are not asked.
func RemoveVM(ctx context.Context, o Options) error {
	m := o.Machine
	spec, err := readSpec(m)
	if errors.Is(err, os.ErrNotExist) {
		return nil // never created: nothing of a driver's anywhere
	}
	if err != nil {
		return fmt.Errorf("deleting machine %q: %w", m.Name, err)
	}
	name, _, err := vm.CapabilitiesOf(machineDriver(m, o.Driver), runtime.GOOS)
	if err != nil {
		return fmt.Errorf("deleting machine %q: %w", m.Name, err)
	}
	d, err := vm.New(name, describe(o, spec))
	if err != nil {
		return fmt.Errorf("deleting machine %q: the %s driver: %w", m.Name, name, err)
	}
	if err := vm.Remove(ctx, d); err != nil {
		return fmt.Errorf("deleting machine %q: the %s driver's VM: %w", m.Name, name, err)
	}
	return nil
}

// DriverReport is what the machine's driver tells a diagnostics bundle
// (vm.Reporter), nil when it has nothing or the machine was never made.
func DriverReport(ctx context.Context, o Options) map[string]string {
	m := o.Machine
	spec, err := readSpec(m)
	if err != nil {
		return nil
	}
	name, _, err := vm.CapabilitiesOf(machineDriver(m, o.Driver), runtime.GOOS)
	if err != nil {
		return map[string]string{"driver.txt": err.Error()}
	}
	d, err := vm.New(name, describe(o, spec))
	if err != nil {
		return map[string]string{"driver.txt": fmt.Sprintf("the %s driver: %v", name, err)}
	}
	return vm.Report(ctx, d)
}
