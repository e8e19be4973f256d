package hcsvm

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/berth-dev/berth/vm/hyperv"
)

// The Host Compute Service takes a VM as a JSON document of its schema 2
// (hcsshim's internal/hcs/schema2 has the generated types; they are
// internal, so the few this driver needs are written out below with the
// same field names). Only what a Berth machine uses is here.

// computeSystem is the document's root (schema2.ComputeSystem).
type computeSystem struct {
	Owner         string         `json:"Owner"`
	SchemaVersion schemaVersion  `json:"SchemaVersion"`
	VM            virtualMachine `json:"VirtualMachine"`
	// ShouldTerminateOnLastHandleClosed stays false: the service closes
	// its handle after each request, and the VM runs on until it is
	// stopped (its agent may die and a later one dial it again).
	ShouldTerminateOnLastHandleClosed bool `json:"ShouldTerminateOnLastHandleClosed"`
}

type schemaVersion struct {
	Major int `json:"Major"`
	Minor int `json:"Minor"`
}

type virtualMachine struct {
	// StopOnReset: a guest reboot (or a panic with panic=-1) stops the VM
	// instead of booting it again behind the agent's back.
	StopOnReset     bool     `json:"StopOnReset"`
	Chipset         chipset  `json:"Chipset"`
	ComputeTopology topology `json:"ComputeTopology"`
	Devices         devices  `json:"Devices"`
}

type chipset struct {
	LinuxKernelDirect linuxKernelDirect `json:"LinuxKernelDirect"`
}

type linuxKernelDirect struct {
	KernelFilePath string `json:"KernelFilePath"`
	InitRdPath     string `json:"InitRdPath"`
	KernelCmdLine  string `json:"KernelCmdLine"`
}

type topology struct {
	Memory    memory    `json:"Memory"`
	Processor processor `json:"Processor"`
}

type memory struct {
	SizeInMB uint64 `json:"SizeInMB"`
	// AllowOvercommit backs the guest's memory with the host's pageable
	// virtual memory: unused guest memory costs the host nothing.
	AllowOvercommit bool `json:"AllowOvercommit"`
}

type processor struct {
	Count uint32 `json:"Count"`
}

type devices struct {
	Scsi     map[string]scsi `json:"Scsi"`
	HvSocket hvSocket        `json:"HvSocket"`
}

type scsi struct {
	Attachments map[string]attachment `json:"Attachments"`
}

type attachment struct {
	Type     string `json:"Type"`
	Path     string `json:"Path"`
	ReadOnly bool   `json:"ReadOnly,omitempty"`
}

type hvSocket struct {
	HvSocketConfig hvSocketConfig `json:"HvSocketConfig"`
}

// hvSocketConfig says who on the host may bind or connect to the VM's
// Hyper-V sockets: by default only SYSTEM; the service table opens the
// guest's link to the user (schema2.HvSocketSystemConfig).
type hvSocketConfig struct {
	DefaultBindSecurityDescriptor    string                   `json:"DefaultBindSecurityDescriptor"`
	DefaultConnectSecurityDescriptor string                   `json:"DefaultConnectSecurityDescriptor"`
	ServiceTable                     map[string]hvSocketEntry `json:"ServiceTable"`
}

type hvSocketEntry struct {
	BindSecurityDescriptor    string `json:"BindSecurityDescriptor"`
	ConnectSecurityDescriptor string `json:"ConnectSecurityDescriptor"`
}

// scsiController is the first SCSI controller's key, the one hcsshim
// gives it (internal/protocol/guestrequest.ScsiControllerGuids[0]); LUN 0
// is the guest's /dev/sda, LUN 1 its /dev/sdb.
const scsiController = "df6d0690-79e5-55b6-a5ec-c1e2f77f580a"

// owner is the name HCS shows for the compute systems Berth creates.
const owner = "berth-service"

// Spec is what a Berth machine's compute system is made of. The service
// fills it from its own paths (Layout) and a checked MachineRequest.
type Spec struct {
	// Kernel and Initrd are the guest's boot files, Cmdline the kernel's
	// command line.
	Kernel, Initrd, Cmdline string
	// RootDisk is the image's root file system as a VHD (read-only,
	// /dev/sda); DataDisk the machine's disk for the engine (/dev/sdb).
	RootDisk, DataDisk string
	CPUs               int
	MemoryMiB          int
	// UserSID is the only account besides SYSTEM that may connect to the
	// guest's link.
	UserSID string
}

// Validate reports every problem with s at once, each naming its field.
func (s Spec) Validate() error { return s.validate("windows") }

// validate checks s with goos's rules for paths: HCS opens Windows paths;
// the Manager's tests on other systems hand it their own.
func (s Spec) validate(goos string) error {
	var errs []error
	for _, f := range []struct{ name, path string }{
		{"kernel", s.Kernel}, {"initrd", s.Initrd}, {"rootDisk", s.RootDisk}, {"dataDisk", s.DataDisk},
	} {
		if err := checkPath(goos, f.path); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", f.name, err))
		}
	}
	if ext := strings.ToLower(filepath.Ext(s.RootDisk)); s.RootDisk != "" && ext != ".vhd" && ext != ".vhdx" {
		errs = append(errs, fmt.Errorf("rootDisk: %q is no .vhd or .vhdx file", s.RootDisk))
	}
	if ext := strings.ToLower(filepath.Ext(s.DataDisk)); s.DataDisk != "" && ext != ".vhd" && ext != ".vhdx" {
		errs = append(errs, fmt.Errorf("dataDisk: %q is no .vhd or .vhdx file", s.DataDisk))
	}
	if s.CPUs < 1 || s.CPUs > hyperv.MaxCPUs {
		errs = append(errs, fmt.Errorf("cpus: %d, want 1 to %d", s.CPUs, hyperv.MaxCPUs))
	}
	if s.MemoryMiB < hyperv.MinMemoryMiB || s.MemoryMiB > hyperv.MaxMemoryMiB {
		errs = append(errs, fmt.Errorf("memoryMiB: %d, want %d to %d", s.MemoryMiB, hyperv.MinMemoryMiB, hyperv.MaxMemoryMiB))
	}
	if strings.ContainsAny(s.Cmdline, "\x00\r\n") {
		errs = append(errs, errors.New("cmdline: has a NUL or line break"))
	}
	if err := hyperv.ValidSID(s.UserSID); err != nil {
		errs = append(errs, fmt.Errorf("userSID: %w", err))
	}
	return errors.Join(errs...)
}

// checkPath accepts an absolute path of goos; on Windows a drive path
// (C:\...) or a UNC one (\\server\share\...), which is what HCS opens.
func checkPath(goos, p string) error {
	if goos != "windows" {
		if p == "" {
			return errors.New("must be set")
		}
		if !strings.HasPrefix(p, "/") || strings.ContainsRune(p, 0) {
			return fmt.Errorf("%q is not an absolute path", p)
		}
		return nil
	}
	switch {
	case p == "":
		return errors.New("must be set")
	case strings.ContainsAny(p, "\x00\"*?<>|\r\n"):
		return fmt.Errorf("%q has a character a Windows path cannot hold", p)
	case len(p) >= 3 && isLetter(p[0]) && p[1] == ':' && p[2] == '\\':
		return nil
	case strings.HasPrefix(p, `\\`) && !strings.HasPrefix(p, `\\.\`) && !strings.HasPrefix(p, `\\?\`):
		return nil
	}
	return fmt.Errorf("%q is not an absolute Windows path (C:\\... or \\\\server\\share\\...)", p)
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// systemOnly lets SYSTEM alone (the service, HCS) bind or connect.
const systemOnly = "D:P(A;;FA;;;SY)"

// userAndSystem is the security descriptor that admits SYSTEM and sid:
// who may connect to the guest's link from the host.
func userAndSystem(sid string) string { return "D:P(A;;FA;;;SY)(A;;FA;;;" + sid + ")" }

// Document is the compute system's JSON document for s: a Linux VM that
// boots s's kernel and initrd directly (schema 2.1 LinuxKernelDirect),
// with the root disk and the data disk on one SCSI controller, and
// Hyper-V sockets closed to everyone but SYSTEM, except the guest's link
// port, which the user may connect to: the unelevated host agent dials
// the guest itself, and only the service ever handles the VM.
func Document(s Spec) ([]byte, error) { return document("windows", s) }

func document(goos string, s Spec) ([]byte, error) {
	if err := s.validate(goos); err != nil {
		return nil, fmt.Errorf("the Hyper-V VM: %w", err)
	}
	doc := computeSystem{
		Owner:         owner,
		SchemaVersion: schemaVersion{Major: 2, Minor: 1},
		VM: virtualMachine{
			StopOnReset: true,
			Chipset: chipset{LinuxKernelDirect: linuxKernelDirect{
				KernelFilePath: s.Kernel,
				InitRdPath:     s.Initrd,
				KernelCmdLine:  s.Cmdline,
			}},
			ComputeTopology: topology{
				Memory:    memory{SizeInMB: uint64(s.MemoryMiB), AllowOvercommit: true},
				Processor: processor{Count: uint32(s.CPUs)},
			},
			Devices: devices{
				Scsi: map[string]scsi{scsiController: {Attachments: map[string]attachment{
					"0": {Type: "VirtualDisk", Path: s.RootDisk, ReadOnly: true},
					"1": {Type: "VirtualDisk", Path: s.DataDisk},
				}}},
				HvSocket: hvSocket{HvSocketConfig: hvSocketConfig{
					DefaultBindSecurityDescriptor:    systemOnly,
					DefaultConnectSecurityDescriptor: systemOnly,
					ServiceTable: map[string]hvSocketEntry{
						hyperv.VsockServiceID(hyperv.LinkPort): {
							// Nothing on the host listens for the guest.
							BindSecurityDescriptor:    systemOnly,
							ConnectSecurityDescriptor: userAndSystem(s.UserSID),
						},
					},
				}},
			},
		},
	}
	return json.MarshalIndent(doc, "", "  ")
}

// Cmdline is the guest kernel's command line in a Hyper-V VM: no legacy
// serial ports to probe (HCS gives the VM none), no PCI bus (every device
// is on VMBus), hv_sock rather than virtio's vsock, and a panic stops the
// VM (StopOnReset) rather than rebooting it.
func Cmdline() string {
	return "8250_core.nr_uarts=0 pci=off initcall_blacklist=virtio_vsock_init panic=-1 quiet"
}
