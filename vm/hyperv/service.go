// Package hyperv is the Hyper-V machine for Windows without WSL 2: a Linux VM
// run by the Host Compute Service (HCS schema 2), created by the elevated
// berth-service, reached by the unelevated host agent over hvsock.
package hyperv

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"time"

	"github.com/berth-dev/berth/guest/guestconfig"
	"github.com/berth-dev/berth/store"
)

// MachineRequest is everything the elevated service accepts from the user's
// agent about a Hyper-V machine: a name, sizes and the engine's settings
// inside the VM, never a host path, a command line or a VM document. The
// service derives the paths (its own kernel and initrd, the machine's disk
// under its data directory, per user SID) and builds the HCS document
// itself.
type MachineRequest struct {
	// Machine is the machine's name (the store's rules: lower-case letters,
	// digits and '-').
	Machine   string `json:"machine"`
	CPUs      int    `json:"cpus"`
	MemoryMiB int    `json:"memoryMiB"`
	DiskGiB   int    `json:"diskGiB"`
	// Guest is the user's configuration of what runs inside the VM.
	Guest GuestSettings `json:"guest,omitzero"`
}

// GuestSettings are the user's settings that reach a Hyper-V guest: the
// engine's daemon.json, its stop timeout, the guest's DNS servers. They
// configure only what runs inside the VM, which is the user's own (a user
// who can reach its engine is root there): nothing in them names a host
// path, runs on the host or loosens the VM's isolation, so the service may
// take them from an unelevated caller. Shares are among them as the guest
// sees them only, a tag and a mount point: their host folders are served
// by the user's own agent over SFTP (vm.ShareSFTP), with the user's
// rights; the service, which runs as SYSTEM, never touches them.
type GuestSettings struct {
	DaemonJSON  json.RawMessage      `json:"daemonJSON,omitempty"`
	StopTimeout guestconfig.Duration `json:"stopTimeout,omitempty"`
	DNS         []string             `json:"dns,omitempty"`
	// Shares are mounted over the agent's SFTP connections.
	Shares []guestconfig.Share `json:"shares,omitempty"`
}

// MaxShares bounds the shares a request carries.
const MaxShares = 32

// MaxDaemonJSON bounds the daemon.json a request carries (the service
// reads at most a few KiB per request).
const MaxDaemonJSON = 2 << 10

// Apply puts the settings into a guest config (the service's own, for
// its Hyper-V machine); those not given leave cfg's.
func (g GuestSettings) Apply(cfg guestconfig.Config) guestconfig.Config {
	if len(g.DaemonJSON) > 0 {
		cfg.Engine.DaemonJSON = slices.Clone(g.DaemonJSON)
	}
	if g.StopTimeout > 0 {
		cfg.Engine.StopTimeout = g.StopTimeout
	}
	if len(g.DNS) > 0 {
		cfg.Network.DNS = slices.Clone(g.DNS)
	}
	if len(g.Shares) > 0 {
		cfg.Shares, cfg.FileSharing = slices.Clone(g.Shares), guestconfig.FileSharingSFTP
	}
	return cfg
}

// GuestSettingsOf takes from the agent's guest config for this boot what
// a Hyper-V guest is given.
func GuestSettingsOf(cfg guestconfig.Config) GuestSettings {
	return GuestSettings{DaemonJSON: cfg.Engine.DaemonJSON, StopTimeout: cfg.Engine.StopTimeout, DNS: cfg.Network.DNS, Shares: cfg.Shares}
}

// Validate checks the settings as the guest config they make: every
// problem, named as guest.<field>.
func (g GuestSettings) Validate() error { return errors.Join(g.validate()...) }

func (g GuestSettings) validate() []error {
	var errs []error
	if len(g.DaemonJSON) > MaxDaemonJSON {
		errs = append(errs, fmt.Errorf("guest.daemonJSON: %d bytes, at most %d", len(g.DaemonJSON), MaxDaemonJSON))
	}
	if g.StopTimeout < 0 || time.Duration(g.StopTimeout) > time.Hour {
		errs = append(errs, fmt.Errorf("guest.stopTimeout: %s, want 0 to 1h", time.Duration(g.StopTimeout)))
	}
	if len(g.DNS) > 8 {
		errs = append(errs, fmt.Errorf("guest.dns: %d servers, at most 8", len(g.DNS)))
	}
	if len(g.Shares) > MaxShares {
		errs = append(errs, fmt.Errorf("guest.shares: %d shares, at most %d", len(g.Shares), MaxShares))
	}
	if len(errs) > 0 {
		return errs
	}
	if err := g.Apply(guestconfig.HyperV(guestconfig.Default())).Validate(); err != nil {
		errs = append(errs, fmt.Errorf("guest: %w", err))
	}
	return errs
}

// MachineState is the service's answer about one machine.
type MachineState struct {
	// State is StateRunning, StateStopped or StateAbsent.
	State string `json:"state"`
	// VMID is the compute system's id, which hvsock addresses dial
	// (winio.HvsockAddr{VMID: ...}); empty unless running.
	VMID string `json:"vmId,omitempty"`
}

// Manager is what the elevated service does for the Hyper-V driver, on
// behalf of the caller whose SID the service took from the pipe's client
// token (never from the request). The service implements it with HCS; the
// driver reaches it through the service's pipe client, which implements the
// same interface.
type Manager interface {
	Start(ctx context.Context, userSID string, req MachineRequest) (MachineState, error)
	Stop(ctx context.Context, userSID, machine string) error
	State(ctx context.Context, userSID, machine string) (MachineState, error)
}

// MachineState.State's values.
const (
	StateRunning = "running"
	StateStopped = "stopped"
	StateAbsent  = "absent"
)

// LinkPort is the AF_VSOCK port the guest init listens on for the network
// link in a Hyper-V VM (guestconfig.Config.Link): the VM is the machine's
// alone, so the one default port serves (WSL's shared VM needs one per
// distro). The VM's document lets the user connect to it, and the agent
// dials it as the Hyper-V socket service VsockServiceID(LinkPort).
const LinkPort = guestconfig.LinkVsockPort

// VsockServiceID is the Hyper-V socket service id of an AF_VSOCK port: the
// port in the first field of a fixed GUID (go-winio's VsockServiceID and
// Linux's hv_sock agree on it).
func VsockServiceID(port uint32) string {
	return fmt.Sprintf("%08x-facb-11e6-bd58-64006a7986d3", port)
}

// Limits of a machine, as the service takes them (Hyper-V's own maxima are
// higher; these keep a bad request from asking the host for everything).
const (
	MaxCPUs      = 64
	MinMemoryMiB = 256
	MaxMemoryMiB = 1 << 20 // 1 TiB
	// MaxDiskGiB: a VHDX holds up to 64 TiB.
	MaxDiskGiB = 64 << 10
)

// Validate reports every problem with the request at once, each naming
// its field (the JSON name).
func (r MachineRequest) Validate() error {
	var errs []error
	if err := store.ValidateName(r.Machine); err != nil {
		errs = append(errs, fmt.Errorf("machine: %w", err))
	}
	if r.CPUs < 1 || r.CPUs > MaxCPUs {
		errs = append(errs, fmt.Errorf("cpus: %d, want 1 to %d", r.CPUs, MaxCPUs))
	}
	if r.MemoryMiB < MinMemoryMiB || r.MemoryMiB > MaxMemoryMiB {
		errs = append(errs, fmt.Errorf("memoryMiB: %d, want %d to %d", r.MemoryMiB, MinMemoryMiB, MaxMemoryMiB))
	}
	if r.DiskGiB < 1 || r.DiskGiB > MaxDiskGiB {
		errs = append(errs, fmt.Errorf("diskGiB: %d, want 1 to %d", r.DiskGiB, MaxDiskGiB))
	}
	errs = append(errs, r.Guest.validate()...)
	return errors.Join(errs...)
}

// sidRE is a SID in its string form, S-1-<authority>-<sub>...: nothing
// else may go into a security descriptor.
var sidRE = regexp.MustCompile(`^S-1-[0-9]{1,14}(-[0-9]{1,10}){1,15}$`)

// ValidSID checks a SID's string form.
func ValidSID(sid string) error {
	if !sidRE.MatchString(sid) {
		return fmt.Errorf("user SID %q: not a SID (S-1-...)", sid)
	}
	return nil
}
