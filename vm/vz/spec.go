// Package vz runs a vm.Machine under Apple's Virtualization.framework
// (macOS 13+, through github.com/Code-Hex/vz/v3).
//
// A vz VM lives inside the process that created it, so the VM is owned by a
// small helper process per machine (`berth vz-helper`), started detached:
// the host agent can crash and a later agent adopts the running helper, as
// it adopts a QEMU it finds running. The package has three parts:
//
//   - spec.go: Spec, the whole VM as the helper builds it, a pure
//     translation of vm.Machine (tested on every OS);
//   - the helper (pidfile, control socket, the network relay, the stop
//     sequence) and the vm.Driver that starts and adopts it; both run on
//     any OS against the hypervisor interface below, so their tests run on
//     Linux with a fake VM;
//   - vz_darwin.go: the one implementation of hypervisor, with vz (cgo,
//     darwin only; type-checked here by make typecheck-darwin).
package vz

import (
	"context"
	"errors"
	"os"

	"github.com/berth-dev/berth/vm"
)

// Spec is everything the helper needs to create the VM. It is written as
// JSON into the machine's state directory for the helper to read, so every
// field is plain data; paths are absolute.
type Spec struct {
	// Kernel is an uncompressed arm64 Image (or an x86_64 bzImage on an
	// Intel Mac), checked and, if it was gzipped, unpacked before the
	// helper starts; Initrd and Cmdline as for a direct boot.
	Kernel  string `json:"kernel"`
	Initrd  string `json:"initrd"`
	Cmdline string `json:"cmdline"`

	CPUs      int `json:"cpus"`
	MemoryMiB int `json:"memoryMiB"`

	// Disks in order (vda, vdb, ...): raw images attached cached, with
	// fsync; a ReadOnly one is attached read-only.
	Disks []vm.Disk `json:"disks"`
	// Shares are one virtio-fs device each, tagged with Share.Tag.
	Shares []vm.Share `json:"shares,omitempty"`

	// MAC and MTU of the VM's one card, a file-handle attachment on a
	// datagram socket pair (one frame per datagram).
	MAC string `json:"mac"`
	MTU int    `json:"mtu"`
	// NetSocket is where the helper meets the agent's network: a unixgram
	// socket it binds (vm.LinkVfkit), relaying each datagram to and from
	// its end of the card's socket pair. The hypervisor does not use it.
	NetSocket string `json:"netSocket"`

	// ConsoleLog receives hvc0, the guest's console.
	ConsoleLog string `json:"consoleLog"`

	// Rosetta shares Apple's Rosetta (Apple silicon, macOS 13+) with the
	// guest as the virtio-fs tag RosettaTag, for amd64 binaries.
	Rosetta bool `json:"rosetta,omitempty"`
}

// RosettaTag is the virtio-fs tag of the Rosetta share; the guest mounts it
// and registers its binfmt handler.
const RosettaTag = "rosetta"

// State is a VM's state as the helper reports it.
type State string

const (
	StateStarting State = "starting"
	StateRunning  State = "running"
	StateStopping State = "stopping"
	StateStopped  State = "stopped"
	StateError    State = "error"
)

// hypervisor is the one VM inside a helper process. vz_darwin.go
// implements it with Virtualization.framework; tests use a fake.
type hypervisor interface {
	// Start boots the VM and returns once the framework says it started.
	Start(ctx context.Context) error
	// RequestStop asks the guest to power off (the framework's stop
	// request). It may never reach an arm64 guest; callers do not rely on
	// it alone.
	RequestStop() error
	// Stop ends the VM at once.
	Stop() error
	// State is the VM's state now.
	State() State
	// Done is closed when the VM has stopped, for any reason; Err then
	// says why, nil for a clean power-off.
	Done() <-chan struct{}
	Err() error
}

// hypervisorFiles are the host ends the VM uses for its life: the helper
// keeps every one referenced (and open) until Done, since vz v3.7.1 does
// not dup the descriptors it is given.
type hypervisorFiles struct {
	// Net is the VM's end of the datagram socket pair.
	Net *os.File
	// Console receives the guest's console output (hvc0).
	Console *os.File
}

// newHypervisor creates the VM described by spec. It is set by
// vz_darwin.go; elsewhere it is nil and the helper refuses to run with
// errNoVZ.
var newHypervisor func(spec Spec, files hypervisorFiles) (hypervisor, error)

// errNoVZ: this build has no Virtualization.framework.
var errNoVZ = errors.New("the vz driver needs macOS 13 or later and a build with cgo")
