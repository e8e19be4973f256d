package vz

import (
	"errors"
	"fmt"
	"net"
	"path"

	"github.com/berth-dev/berth/guest/guestconfig"
	"github.com/berth-dev/berth/vm"
)

// linkMTU is the card's MTU: the link's (the agent's switch and the guest
// use guestconfig.LinkMTU), as long as vz takes it.
func linkMTU() int { return min(guestconfig.LinkMTU, maxMTU) }

// specFor translates m into the helper's Spec, naming every field it
// cannot use. It is pure, so every OS tests it.
func specFor(m *vm.Machine) (Spec, error) {
	var errs []error
	abs := func(field, p string) {
		if p == "" {
			errs = append(errs, fmt.Errorf("%s: must be set", field))
		} else if !path.IsAbs(p) {
			errs = append(errs, fmt.Errorf("%s: %q must be an absolute path (the helper runs elsewhere)", field, p))
		}
	}
	abs("kernel", m.Kernel)
	abs("initrd", m.Initrd)
	abs("consoleLog", m.ConsoleLog)
	abs("network.socket", m.Network.Socket)
	if m.Network.Link != vm.LinkVfkit {
		errs = append(errs, fmt.Errorf("network.link: %q; the vz driver carries frames as datagrams (%q)", m.Network.Link, vm.LinkVfkit))
	}
	if _, err := net.ParseMAC(m.Network.MAC); err != nil {
		errs = append(errs, fmt.Errorf("network.mac: %w", err))
	}
	if m.CPUs < 1 {
		errs = append(errs, fmt.Errorf("cpus: %d, must be at least 1", m.CPUs))
	}
	if m.MemoryMiB < 256 {
		errs = append(errs, fmt.Errorf("memory: %d MiB, must be at least 256 MiB", m.MemoryMiB))
	}
	if m.Accel != "" && m.Accel != accelerator {
		errs = append(errs, fmt.Errorf("accel: %q; the vz driver runs on %q only", m.Accel, accelerator))
	}
	for i, d := range m.Disks {
		abs(fmt.Sprintf("disks[%d].path", i), d.Path)
	}
	for i, s := range m.Shares {
		abs(fmt.Sprintf("shares[%d].hostPath", i), s.HostPath)
		if s.Tag == "" || s.Tag == RosettaTag {
			errs = append(errs, fmt.Errorf("shares[%d].tag: %q is empty or reserved", i, s.Tag))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return Spec{}, err
	}
	return Spec{
		Kernel:     m.Kernel,
		Initrd:     m.Initrd,
		Cmdline:    m.Cmdline,
		CPUs:       m.CPUs,
		MemoryMiB:  m.MemoryMiB,
		Disks:      append([]vm.Disk(nil), m.Disks...),
		Shares:     append([]vm.Share(nil), m.Shares...),
		MAC:        m.Network.MAC,
		MTU:        linkMTU(),
		NetSocket:  m.Network.Socket,
		ConsoleLog: m.ConsoleLog,
	}, nil
}

// forHost fits spec to this Mac (goarch, its macOS productVersion): the
// kernel checked, and unpacked into stateDir when it is gzipped; the
// command line with hvc0 and, on an Intel Mac before macOS 15.5, nopku;
// Rosetta shared when the machine asks for it and this Mac can (an error
// that says why otherwise).
func forHost(spec Spec, rosetta bool, stateDir, goarch, productVersion string) (Spec, error) {
	var err error
	if spec.Kernel, err = prepareKernel(spec.Kernel, stateDir, goarch); err != nil {
		return Spec{}, err
	}
	if spec.Cmdline, err = kernelCmdline(spec.Cmdline, goarch, productVersion); err != nil {
		return Spec{}, err
	}
	if spec.Rosetta, err = rosettaEnabled(rosetta, goarch, productVersion); err != nil {
		return Spec{}, err
	}
	return spec, nil
}

// checkArch refuses a guest the host cannot run: vz runs the host's own
// architecture (amd64 binaries on arm64 go through Rosetta in the guest).
func checkArch(hostArch, guestArch string) error {
	if hostArch != guestArch {
		return fmt.Errorf("arch: the vz driver runs %s guests on this %s host, not %s (use --driver qemu to emulate)", hostArch, hostArch, guestArch)
	}
	return nil
}
