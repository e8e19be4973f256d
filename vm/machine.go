// Package vm describes a virtual machine independently of any hypervisor and
// defines the small interface every hypervisor driver implements. The
// translation of a Machine into a hypervisor's terms lives in the driver
// packages (vm/qemu today; vm/vz, vm/wsl2 and vm/hyperv have room here).
package vm

import (
	"errors"
	"fmt"
	"net"
	"path/filepath"
)

// Machine is a platform-neutral description of one VM.
type Machine struct {
	// Name of the machine, for logs and process titles.
	Name string `json:"name"`
	// Arch is the guest architecture in Go terms (amd64, arm64).
	Arch string `json:"arch"`
	// CPUs and MemoryMiB size the VM.
	CPUs      int `json:"cpus"`
	MemoryMiB int `json:"memoryMiB"`
	// Kernel, Initrd and Cmdline boot the guest directly, without firmware
	// (vm.BootKernel).
	Kernel  string `json:"kernel,omitempty"`
	Initrd  string `json:"initrd,omitempty"`
	Cmdline string `json:"cmdline,omitempty"`
	// RootFS is the image's root file system for a driver that imports it
	// (vm.BootRootFS: a tar) or boots it through firmware (vm.BootUEFI: a
	// disk image); GuestConfig is then this boot's guest config (JSON),
	// which the driver puts where the guest's init reads it.
	RootFS      string `json:"rootFS,omitempty"`
	GuestConfig string `json:"guestConfig,omitempty"`
	// Disks in order: the guest sees them as vda, vdb, ...
	Disks []Disk `json:"disks"`
	// Network is the VM's one NIC.
	Network Network `json:"network"`
	// Shares are host folders exposed to the guest.
	Shares []Share `json:"shares,omitempty"`
	// FileSharing is the way, of the driver's Capabilities.ShareTypes, the
	// agent chose for the Shares; "" is the driver's first. With
	// ShareSFTP the host agent serves them itself over the VM's network,
	// and the driver has nothing to do for them.
	FileSharing string `json:"fileSharing,omitempty"`
	// Rosetta shares Apple's Rosetta with the guest (a driver whose
	// Capabilities.Rosetta is true).
	Rosetta bool `json:"rosetta,omitempty"`
	// Virtiofsd, when set, is the virtiofsd that came with the guest image;
	// a driver that serves Shares with virtiofsd prefers it to the host's.
	Virtiofsd *Program `json:"virtiofsd,omitempty"`
	// ConsoleLog receives the guest's serial console.
	ConsoleLog string `json:"consoleLog"`
	// BootMarker is a line the guest prints on its console once its own
	// init runs; a driver uses it to tell a guest that boots from one that
	// the accelerator cannot run.
	BootMarker string `json:"bootMarker"`
	// Accel asks for an accelerator ("kvm", "hvf", "whpx", "tcg"); empty
	// picks the best one that really runs the guest.
	Accel string `json:"accel,omitempty"`
	// StateDir holds the driver's own files (pid, monitor socket).
	StateDir string `json:"stateDir"`
	// SaveKey, when set, lets a Saver restore a VM saved under the same
	// key: a digest of everything of the guest's boot the driver does not
	// see (the guest config, the image). Empty: Start always boots.
	SaveKey string `json:"saveKey,omitempty"`
}

// Disk is a raw disk image.
type Disk struct {
	Path     string `json:"path"`
	ReadOnly bool   `json:"readOnly,omitempty"`
}

// Network joins the VM to the host agent's in-process virtual network over
// a unix socket. The hypervisor listens on Socket and the agent connects:
// a VM outlives an agent that crashed, and the next agent joins it again.
type Network struct {
	Socket string `json:"socket"`
	MAC    string `json:"mac"`
	// Link is what the agent and the hypervisor speak on Socket.
	Link Link `json:"link,omitempty"`
}

// Link is how frames pass between the VM's card and the agent.
type Link string

const (
	// LinkStream carries frames over the socket, each behind its length
	// (QEMU's stream netdev): any OS, the hypervisor emulates the card.
	LinkStream Link = ""
	// LinkVhostUser makes the agent the card's back end (vhost-user): it
	// reads and writes the guest's queues in shared memory and offers
	// checksum offload. Linux hosts only.
	LinkVhostUser Link = "vhost-user"
	// LinkVfkit carries one frame per datagram on a unixgram socket pair
	// (Virtualization.framework's file-handle attachment, vfkit framing).
	LinkVfkit Link = "vfkit"
	// LinkHvsock carries the stream's length-prefixed frames over a
	// Hyper-V socket (WSL2, Hyper-V guests). Windows hosts only.
	LinkHvsock Link = "hvsock"
)

// Valid tells a link this package knows.
func (l Link) Valid() bool {
	switch l {
	case LinkStream, LinkVhostUser, LinkVfkit, LinkHvsock:
		return true
	}
	return false
}

// Share is a host folder the guest mounts by tag.
type Share struct {
	Tag      string `json:"tag"`
	HostPath string `json:"hostPath"`
	ReadOnly bool   `json:"readOnly,omitempty"`
}

// Program is a host program that brings its own C library: it runs as
// Loader --library-path LibraryPath Path (all absolute), independent of
// the host's glibc. Without a Loader it runs directly.
type Program struct {
	Path        string `json:"path"`
	Loader      string `json:"loader,omitempty"`
	LibraryPath string `json:"libraryPath,omitempty"`
}

// Command is the program's command line with args.
func (p Program) Command(args ...string) []string {
	if p.Loader == "" {
		return append([]string{p.Path}, args...)
	}
	return append([]string{p.Loader, "--library-path", p.LibraryPath, p.Path}, args...)
}

// Validate reports every problem with the description at once.
func (m *Machine) Validate() error {
	var errs []error
	if m.Name == "" {
		errs = append(errs, errors.New("name: must not be empty"))
	}
	switch m.Arch {
	case "amd64", "arm64":
	default:
		errs = append(errs, fmt.Errorf("arch: %q is not supported (amd64, arm64)", m.Arch))
	}
	if m.CPUs < 1 {
		errs = append(errs, fmt.Errorf("cpus: %d, must be at least 1", m.CPUs))
	}
	if m.MemoryMiB < 256 {
		errs = append(errs, fmt.Errorf("memory: %d MiB, must be at least 256 MiB", m.MemoryMiB))
	}
	if m.Kernel == "" && m.RootFS == "" {
		errs = append(errs, errors.New("kernel: must be set (or rootFS, for a driver that imports it)"))
	}
	for i, d := range m.Disks {
		if d.Path == "" {
			errs = append(errs, fmt.Errorf("disks[%d].path: must be set", i))
		}
	}
	if m.Network.Socket == "" {
		errs = append(errs, errors.New("network.socket: must be set"))
	}
	if _, err := net.ParseMAC(m.Network.MAC); err != nil {
		errs = append(errs, fmt.Errorf("network.mac: %w", err))
	}
	if !m.Network.Link.Valid() {
		errs = append(errs, fmt.Errorf("network.link: %q, want none (stream), %q, %q or %q", m.Network.Link, LinkVhostUser, LinkVfkit, LinkHvsock))
	}
	if m.StateDir == "" {
		errs = append(errs, errors.New("stateDir: must be set"))
	}
	if p := m.Virtiofsd; p != nil {
		if !filepath.IsAbs(p.Path) {
			errs = append(errs, fmt.Errorf("virtiofsd.path: %q must be an absolute path", p.Path))
		}
		if p.Loader != "" && (!filepath.IsAbs(p.Loader) || !filepath.IsAbs(p.LibraryPath)) {
			errs = append(errs, fmt.Errorf("virtiofsd.loader, virtiofsd.libraryPath: %q, %q must both be absolute paths", p.Loader, p.LibraryPath))
		}
	}
	return errors.Join(errs...)
}
