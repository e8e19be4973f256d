package vm

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
)

// Driver runs one Machine on one hypervisor. The core is deliberately small;
// optional abilities are separate interfaces found by type assertion.
type Driver interface {
	// Start boots the machine and returns once the guest's init runs
	// (its BootMarker appeared), or with an error.
	Start(ctx context.Context) error
	// Stop asks the guest to power off (the ACPI power button or the
	// hypervisor's equivalent) and waits for it until ctx ends; it does not
	// force. It also works on a VM this process did not start, found
	// through the driver's own files in StateDir.
	Stop(ctx context.Context) error
	// Kill ends the VM at once.
	Kill() error
	// Wait returns when the VM has exited.
	Wait(ctx context.Context) error
	// Info describes the running VM.
	Info() Info
}

// Adopter is a driver that can take over a VM that an earlier process
// started for the same machine and left running (a host agent that
// crashed), so the VM and its containers live on.
type Adopter interface {
	// Adopt attaches to the machine's running VM, found through the
	// driver's own files in StateDir; Stop, Kill, Wait and Info then work
	// on it as on one this process started. ErrNotRunning: there is none.
	Adopt(ctx context.Context) error
}

// ErrNotRunning: the machine has no running VM.
var ErrNotRunning = errors.New("the VM is not running")

// Info is what a driver tells about its VM.
type Info struct {
	Driver string `json:"driver"`
	// Accelerator in use: kvm, hvf, whpx or tcg (software emulation).
	Accelerator string `json:"accelerator"`
	// AccelNote explains a fallback, e.g. why KVM is not used.
	AccelNote string `json:"accelNote,omitempty"`
	// PID of the hypervisor process, 0 when none.
	PID int `json:"pid,omitempty"`
	// FileSharing is how the machine's Shares reach the guest ("virtiofs",
	// "9p"); empty when it has none. FileSharingNote explains a fallback.
	FileSharing     string `json:"fileSharing,omitempty"`
	FileSharingNote string `json:"fileSharingNote,omitempty"`
}

// ErrUnsupported is returned for an ability a driver does not have.
var ErrUnsupported = errors.New("not supported by this driver")

// Factory creates a driver for a machine.
type Factory struct {
	Name string
	// Capabilities declares the driver's differences on a host OS.
	Capabilities func(goos string) Capabilities
	New          func(m *Machine) (Driver, error)
	// Available, when set, says whether this host and build can run the
	// driver at all (nil: it can); the OS default skips one that cannot, so
	// a Mac without macOS 13, or a build without cgo, falls back to QEMU.
	// A driver named explicitly is still tried, and its Start says why not.
	Available func() error
}

var (
	mu        sync.Mutex
	factories = map[string]Factory{}
)

// Register makes a driver available; drivers call it from their register.go.
func Register(f Factory) {
	mu.Lock()
	defer mu.Unlock()
	if _, dup := factories[f.Name]; dup {
		panic("vm: driver registered twice: " + f.Name)
	}
	factories[f.Name] = f
}

// CapabilitiesOf is what the named driver ("" for the OS default)
// declares on goos, with its name.
func CapabilitiesOf(name, goos string) (string, Capabilities, error) {
	if name == "" {
		name = DefaultDriver(usableDrivers())
	}
	mu.Lock()
	f, ok := factories[name]
	mu.Unlock()
	if !ok {
		return name, Capabilities{}, fmt.Errorf("vm driver %q is not available on this system (available: %v)", name, Drivers())
	}
	c := f.Capabilities(goos)
	if err := c.Validate(); err != nil {
		return name, c, fmt.Errorf("vm driver %q declares bad capabilities: %w", name, err)
	}
	return name, c, nil
}

// Drivers lists the registered drivers.
func Drivers() []string {
	mu.Lock()
	defer mu.Unlock()
	names := make([]string, 0, len(factories))
	for n := range factories {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// usableDrivers lists the registered drivers this host and build can run.
func usableDrivers() []string {
	mu.Lock()
	fs := make([]Factory, 0, len(factories))
	for _, f := range factories {
		fs = append(fs, f)
	}
	mu.Unlock()
	return usable(fs)
}

// usable is the names of the factories whose driver can run here, sorted.
func usable(fs []Factory) []string {
	var names []string
	for _, f := range fs {
		if f.Available == nil || f.Available() == nil {
			names = append(names, f.Name)
		}
	}
	sort.Strings(names)
	return names
}

// New creates the named driver ("" picks the default for this OS).
func New(name string, m *Machine) (Driver, error) {
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("invalid machine: %w", err)
	}
	if name == "" {
		name = DefaultDriver(usableDrivers())
	}
	mu.Lock()
	f, ok := factories[name]
	mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("vm driver %q is not available on this system (available: %v)", name, Drivers())
	}
	return f.New(m)
}

// preference is each OS's driver order, best first: the native hypervisor,
// then QEMU as the portable fallback. On Windows WSL 2 comes first, as on
// Docker Desktop: no administrator rights, and the VM Windows may already
// run; a Windows without it is told how to install it (`--driver qemu`
// still chooses QEMU). A machine keeps the driver it was made with.
var preference = map[string][]string{
	"darwin":  {"vz", "qemu"},
	"windows": {"wsl2", "hyperv", "qemu"},
	"linux":   {"qemu"},
}

// defaultDriver picks the first preferred driver that is registered.
func defaultDriver(goos string, available []string) string {
	has := map[string]bool{}
	for _, a := range available {
		has[a] = true
	}
	for _, p := range preference[goos] {
		if has[p] {
			return p
		}
	}
	if has["qemu"] {
		return "qemu"
	}
	return ""
}
