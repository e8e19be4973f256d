//go:build darwin && cgo

package vz

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"

	"github.com/Code-Hex/vz/v3"
)

func init() { newHypervisor = newVZ }

// vzMachine is the hypervisor over one *vz.VirtualMachine.
type vzMachine struct {
	vm     *vz.VirtualMachine
	states *vmStates
	// keep holds every file the VM reads or writes through a descriptor,
	// and the configuration, until the VM's life is over: vz v3.7.1 hands
	// the framework the raw descriptors without dup'ing them, so a file
	// collected by the GC (its finalizer closes it) would pull a
	// descriptor from under the running VM.
	keep []any
	// consoleIn is hvc0's input, a pipe nobody writes to; both ends are
	// ours and closed when the VM is over.
	consoleIn, consoleInW *os.File
}

var _ hypervisor = (*vzMachine)(nil)

// newVZ checks the host and spec, builds the configuration, has the
// framework validate it and creates the VM (not yet started).
func newVZ(spec Spec, files hypervisorFiles) (hypervisor, error) {
	if files.Net == nil || files.Console == nil {
		return nil, errors.New("vz: the network socket and the console file are both needed")
	}
	version, err := hostMacOSVersion()
	if err != nil {
		return nil, err
	}
	if err := checkMacOS(version); err != nil {
		return nil, err
	}
	if err := checkSpec(spec); err != nil {
		return nil, err
	}
	if err := checkResources(spec.CPUs, spec.MemoryMiB, hostLimits()); err != nil {
		return nil, err
	}
	m := &vzMachine{states: newVMStates()}
	m.consoleIn, m.consoleInW, err = os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("vz: console input: %w", err)
	}
	config, err := m.configure(spec, files)
	if err == nil {
		err = validate(config)
	}
	if err == nil {
		m.vm, err = vz.NewVirtualMachine(config)
	}
	if err != nil {
		m.closeOwn()
		return nil, err
	}
	m.keep = append(m.keep, config, files.Net, files.Console, m.consoleIn, m.consoleInW)
	go m.follow()
	return m, nil
}

func hostLimits() vzLimits {
	return vzLimits{
		minCPUs:   vz.VirtualMachineConfigurationMinimumAllowedCPUCount(),
		maxCPUs:   vz.VirtualMachineConfigurationMaximumAllowedCPUCount(),
		minMemory: vz.VirtualMachineConfigurationMinimumAllowedMemorySize(),
		maxMemory: vz.VirtualMachineConfigurationMaximumAllowedMemorySize(),
	}
}

func validate(config *vz.VirtualMachineConfiguration) error {
	ok, err := config.Validate()
	if err != nil {
		return fmt.Errorf("vz: the VM configuration is invalid: %w", err)
	}
	if !ok {
		return errors.New("vz: the VM configuration is invalid (the framework gave no reason)")
	}
	return nil
}

// configure builds the whole configuration from spec: boot loader, CPUs
// and memory, then one device kind after another.
func (m *vzMachine) configure(spec Spec, files hypervisorFiles) (*vz.VirtualMachineConfiguration, error) {
	boot, err := bootLoader(spec)
	if err != nil {
		return nil, err
	}
	config, err := vz.NewVirtualMachineConfiguration(boot, uint(spec.CPUs), uint64(spec.MemoryMiB)<<20)
	if err != nil {
		return nil, fmt.Errorf("vz: cpus %d, memory %d MiB: %w", spec.CPUs, spec.MemoryMiB, err)
	}
	for _, add := range []func(*vz.VirtualMachineConfiguration, Spec, hypervisorFiles) error{
		addDisks, addShares, addNetwork, m.addConsole, addPlumbing,
	} {
		if err := add(config, spec, files); err != nil {
			return nil, err
		}
	}
	return config, nil
}

func bootLoader(spec Spec) (*vz.LinuxBootLoader, error) {
	opts := []vz.LinuxBootLoaderOption{vz.WithCommandLine(appendArg(spec.Cmdline, "console=hvc0"))}
	if spec.Initrd != "" {
		opts = append(opts, vz.WithInitrd(spec.Initrd))
	}
	boot, err := vz.NewLinuxBootLoader(spec.Kernel, opts...)
	if err != nil {
		return nil, fmt.Errorf("vz: kernel %s, initrd %s: %w", spec.Kernel, spec.Initrd, err)
	}
	return boot, nil
}

// addDisks attaches the raw images as virtio-blk (vda, vdb, ... in
// order), cached, with the guest's flushes as fsync (as Lima does).
func addDisks(config *vz.VirtualMachineConfiguration, spec Spec, _ hypervisorFiles) error {
	var devs []vz.StorageDeviceConfiguration
	for i, d := range spec.Disks {
		att, err := vz.NewDiskImageStorageDeviceAttachmentWithCacheAndSync(d.Path, d.ReadOnly,
			vz.DiskImageCachingModeCached, vz.DiskImageSynchronizationModeFsync)
		if err != nil {
			return fmt.Errorf("vz: disks[%d] %s: %w", i, d.Path, err)
		}
		dev, err := vz.NewVirtioBlockDeviceConfiguration(att)
		if err != nil {
			return fmt.Errorf("vz: disks[%d] %s: %w", i, d.Path, err)
		}
		devs = append(devs, dev)
	}
	config.SetStorageDevicesVirtualMachineConfiguration(devs)
	return nil
}

// addShares makes one virtio-fs device per share, tagged Share.Tag, and
// Rosetta's when the spec asks for it.
func addShares(config *vz.VirtualMachineConfiguration, spec Spec, _ hypervisorFiles) error {
	var devs []vz.DirectorySharingDeviceConfiguration
	for i, sh := range spec.Shares {
		dir, err := vz.NewSharedDirectory(sh.HostPath, sh.ReadOnly)
		if err != nil {
			return fmt.Errorf("vz: shares[%d] %s: %w", i, sh.HostPath, err)
		}
		single, err := vz.NewSingleDirectoryShare(dir)
		if err != nil {
			return fmt.Errorf("vz: shares[%d] %s: %w", i, sh.HostPath, err)
		}
		dev, err := vz.NewVirtioFileSystemDeviceConfiguration(sh.Tag)
		if err != nil {
			return fmt.Errorf("vz: shares[%d].tag %q: %w", i, sh.Tag, err)
		}
		dev.SetDirectoryShare(single)
		devs = append(devs, dev)
	}
	if spec.Rosetta {
		dev, err := rosettaDevice()
		if err != nil {
			return err
		}
		devs = append(devs, dev)
	}
	config.SetDirectorySharingDevicesVirtualMachineConfiguration(devs)
	return nil
}

// addNetwork: the one card, on the helper's end of the datagram socket
// pair (one frame per datagram), with the spec's MAC and MTU.
func addNetwork(config *vz.VirtualMachineConfiguration, spec Spec, files hypervisorFiles) error {
	att, err := vz.NewFileHandleNetworkDeviceAttachment(files.Net)
	if err != nil {
		return fmt.Errorf("vz: network socket: %w", err)
	}
	if spec.MTU != 0 && spec.MTU != att.MaximumTransmissionUnit() {
		// macOS 13+, which the version gate has made sure of.
		if err := att.SetMaximumTransmissionUnit(spec.MTU); err != nil {
			return fmt.Errorf("vz: mtu %d: %w", spec.MTU, err)
		}
	}
	dev, err := vz.NewVirtioNetworkDeviceConfiguration(att)
	if err != nil {
		return fmt.Errorf("vz: network card: %w", err)
	}
	hw, err := net.ParseMAC(spec.MAC)
	if err != nil {
		return fmt.Errorf("vz: mac %q: %w", spec.MAC, err)
	}
	mac, err := vz.NewMACAddress(hw)
	if err != nil {
		return fmt.Errorf("vz: mac %q: %w", spec.MAC, err)
	}
	dev.SetMACAddress(mac)
	config.SetNetworkDevicesVirtualMachineConfiguration([]*vz.VirtioNetworkDeviceConfiguration{dev})
	return nil
}

// addConsole: a virtio console, hvc0 in the guest, writing to the
// console file; its input is a pipe nobody writes to.
func (m *vzMachine) addConsole(config *vz.VirtualMachineConfiguration, _ Spec, files hypervisorFiles) error {
	att, err := vz.NewFileHandleSerialPortAttachment(m.consoleIn, files.Console)
	if err != nil {
		return fmt.Errorf("vz: console: %w", err)
	}
	port, err := vz.NewVirtioConsoleDeviceSerialPortConfiguration(att)
	if err != nil {
		return fmt.Errorf("vz: console: %w", err)
	}
	config.SetSerialPortsVirtualMachineConfiguration([]*vz.VirtioConsoleDeviceSerialPortConfiguration{port})
	return nil
}

// addPlumbing: entropy, a memory balloon and a vsock device.
func addPlumbing(config *vz.VirtualMachineConfiguration, _ Spec, _ hypervisorFiles) error {
	entropy, err := vz.NewVirtioEntropyDeviceConfiguration()
	if err != nil {
		return fmt.Errorf("vz: entropy device: %w", err)
	}
	config.SetEntropyDevicesVirtualMachineConfiguration([]*vz.VirtioEntropyDeviceConfiguration{entropy})
	balloon, err := vz.NewVirtioTraditionalMemoryBalloonDeviceConfiguration()
	if err != nil {
		return fmt.Errorf("vz: memory balloon: %w", err)
	}
	config.SetMemoryBalloonDevicesVirtualMachineConfiguration([]vz.MemoryBalloonDeviceConfiguration{balloon})
	vsock, err := vz.NewVirtioSocketDeviceConfiguration()
	if err != nil {
		return fmt.Errorf("vz: vsock device: %w", err)
	}
	config.SetSocketDevicesVirtualMachineConfiguration([]vz.SocketDeviceConfiguration{vsock})
	return nil
}

// follow feeds the VM's state notifications to m.states until its life is
// over (or its start failed, which may bring no notification), then lets
// go of what the VM used. Until then this goroutine keeps m, and so every
// file in m.keep, reachable.
func (m *vzMachine) follow() {
	notify := m.vm.StateChangedNotify()
	for over := false; !over; {
		select {
		case s := <-notify:
			over = m.states.set(stateOf(s))
		case <-m.states.Done():
			over = true
		}
	}
	m.closeOwn()
	runtime.KeepAlive(m.keep)
}

// closeOwn closes the console input pipe, the one pair of files that is
// ours rather than the caller's.
func (m *vzMachine) closeOwn() {
	if m.consoleInW != nil {
		m.consoleInW.Close()
	}
	if m.consoleIn != nil {
		m.consoleIn.Close()
	}
}

// stateOf maps the framework's states onto the helper's: pausing, paused,
// resuming and saving are a VM that still exists (running to the helper),
// restoring one that is starting.
func stateOf(s vz.VirtualMachineState) State {
	switch s {
	case vz.VirtualMachineStateStopped:
		return StateStopped
	case vz.VirtualMachineStateStarting, vz.VirtualMachineStateRestoring:
		return StateStarting
	case vz.VirtualMachineStateRunning, vz.VirtualMachineStatePausing, vz.VirtualMachineStatePaused,
		vz.VirtualMachineStateResuming, vz.VirtualMachineStateSaving:
		return StateRunning
	case vz.VirtualMachineStateStopping:
		return StateStopping
	}
	return StateError // VirtualMachineStateError, or one this vz does not know
}

// Start boots the VM. If ctx ends first the VM, should it start after
// all, is stopped at once.
func (m *vzMachine) Start(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- m.vm.Start() }()
	select {
	case err := <-errc:
		if err != nil {
			err = fmt.Errorf("vz: starting the VM: %w", err)
			m.states.fail(err)
			return err
		}
		return nil
	case <-ctx.Done():
		go func() {
			if err := <-errc; err != nil {
				m.states.fail(fmt.Errorf("vz: starting the VM: %w", err))
			} else {
				_ = m.Stop()
			}
		}()
		return fmt.Errorf("vz: starting the VM: %w", ctx.Err())
	}
}

// RequestStop asks the guest to power off. On Apple silicon this is a
// power key the guest may not have (see FACTS: no KEYBOARD_GPIO).
func (m *vzMachine) RequestStop() error {
	if !m.vm.CanRequestStop() {
		return fmt.Errorf("vz: the VM cannot be asked to stop in state %s", m.State())
	}
	ok, err := m.vm.RequestStop()
	if err != nil {
		return fmt.Errorf("vz: stop request: %w", err)
	}
	if !ok {
		return errors.New("vz: the framework refused the stop request")
	}
	return nil
}

// Stop ends the VM at once; a VM already over is no error.
func (m *vzMachine) Stop() error {
	select {
	case <-m.states.Done():
		return nil
	default:
	}
	if !m.vm.CanStop() {
		return fmt.Errorf("vz: the VM cannot be stopped in state %s", m.State())
	}
	if err := m.vm.Stop(); err != nil {
		return fmt.Errorf("vz: stopping the VM: %w", err)
	}
	return nil
}

func (m *vzMachine) State() State          { return m.states.State() }
func (m *vzMachine) Done() <-chan struct{} { return m.states.Done() }
func (m *vzMachine) Err() error            { return m.states.Err() }
