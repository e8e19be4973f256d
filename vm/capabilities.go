package vm

import (
	"context"
	"errors"
	"fmt"
	"net"
)

// Capabilities declares how a driver differs from the others, as data the
// host agent reads: it branches on these fields, never on a driver's name.
// A driver's factory computes them for a host OS (a pure function of goos,
// so every OS's answer is tested anywhere).
type Capabilities struct {
	// Boot is how the guest starts, and so what the agent prepares.
	Boot Boot
	// DataDisk is the engine's persistent disk: its format and who makes it.
	DataDisk DataDisk
	// Links the driver can give the VM's card, best first; the agent takes
	// the first one its network serves (or the one BERTH_NET_LINK names,
	// when it is in this list).
	Links []LinkSpec
	// SurvivesAgent: the VM keeps running when its host agent dies, and a
	// later agent adopts it (the driver is an Adopter). A VM that lives
	// inside the agent's process is false.
	SurvivesAgent bool
	// Accelerators the driver may use, best first.
	Accelerators []string
	// ShareTypes are the ways the driver can expose folders that the
	// guest can mount ("virtiofs", ShareSFTP), best first; empty: no
	// shared folders.
	ShareTypes []string
	// Rosetta: the driver can share Apple's Rosetta with the guest
	// (Machine.Rosetta), so an arm64 guest runs amd64 binaries through it.
	Rosetta bool
	// RuntimeFiles are the driver's files in the machine directory that
	// exist only while its VM runs (sockets, pidfiles, records): removed
	// when the driver says no VM runs, never while one does.
	RuntimeFiles []string
	// LogFiles are the driver's own logs in the machine directory, for
	// `berth diagnose`.
	LogFiles []string
}

// Boot is how a driver starts the guest.
type Boot string

const (
	// BootKernel boots the image's kernel directly with an initrd that the
	// agent prepares: the image's initramfs followed by this boot's guest
	// config (Machine.Kernel, Initrd, Cmdline).
	BootKernel Boot = "kernel+initrd"
	// BootRootFS imports the image's root file system into a system that
	// brings its own kernel and init (a WSL2 distro); the guest config
	// reaches it as a file (Machine.GuestConfig).
	BootRootFS Boot = "rootfs"
	// BootUEFI boots a disk image through firmware (Hyper-V generation 2);
	// the guest config reaches it as a file (Machine.GuestConfig).
	BootUEFI Boot = "uefi"
	// BootService: a privileged service boots its own copy of the image
	// (berth-service, for the Hyper-V machine); the agent writes this
	// boot's guest config as a file (Machine.GuestConfig), from which the
	// driver passes the settings the service accepts.
	BootService Boot = "service"
)

// DataDisk says what the engine's persistent disk is.
type DataDisk struct {
	Format DiskFormat
	// CreatedBy is who creates and grows it: the agent (a raw sparse file
	// it can make and truncate on any OS) or the driver (a DiskOwner).
	CreatedBy Party
}

// DiskFormat is a data disk's format.
type DiskFormat string

const (
	// DiskRaw is a sparse raw file.
	DiskRaw DiskFormat = "raw"
	// DiskVHDX is a Hyper-V virtual disk.
	DiskVHDX DiskFormat = "vhdx"
	// DiskDistro is the WSL distro's own disk (ext4.vhdx under the distro's
	// directory), made by `wsl --import`.
	DiskDistro DiskFormat = "distro"
)

// Party is a side of the machine: the host agent, the hypervisor, the
// driver, or the guest itself.
type Party string

const (
	PartyAgent      Party = "agent"
	PartyHypervisor Party = "hypervisor"
	PartyDriver     Party = "driver"
	// PartyGuest: the guest's init listens (on AF_VSOCK in a WSL2 or
	// Hyper-V VM) and the agent dials it through the driver, a LinkDialer.
	PartyGuest Party = "guest"
)

// LinkSpec is one way the VM's card can meet the agent's network.
type LinkSpec struct {
	Link Link
	// Listener is the side that listens; the agent connects. The
	// hypervisor listens on Machine.Network.Socket (a VM outlives the
	// agent: the next agent connects again); a guest that listens is
	// reached through the driver's DialLink.
	Listener Party
}

// String is the link's name and who listens, for logs and errors.
func (l LinkSpec) String() string {
	name := string(l.Link)
	if name == "" {
		name = "stream"
	}
	return fmt.Sprintf("%s (%s listens)", name, l.Listener)
}

// Validate checks a driver's declaration for what the agent relies on.
func (c Capabilities) Validate() error {
	var errs []error
	switch c.Boot {
	case BootKernel, BootRootFS, BootUEFI, BootService:
	default:
		errs = append(errs, fmt.Errorf("boot: %q is not a boot method", c.Boot))
	}
	switch c.DataDisk.Format {
	case DiskRaw, DiskVHDX, DiskDistro:
	default:
		errs = append(errs, fmt.Errorf("dataDisk.format: %q is not a disk format", c.DataDisk.Format))
	}
	switch c.DataDisk.CreatedBy {
	case PartyAgent:
		if c.DataDisk.Format != DiskRaw {
			errs = append(errs, fmt.Errorf("dataDisk: the agent creates raw disks only, not %s", c.DataDisk.Format))
		}
	case PartyDriver:
	default:
		errs = append(errs, fmt.Errorf("dataDisk.createdBy: %q, want agent or driver", c.DataDisk.CreatedBy))
	}
	if len(c.Links) == 0 {
		errs = append(errs, errors.New("links: the driver offers no network link"))
	}
	for i, l := range c.Links {
		if l.Listener != PartyAgent && l.Listener != PartyHypervisor && l.Listener != PartyGuest {
			errs = append(errs, fmt.Errorf("links[%d].listener: %q, want agent, hypervisor or guest", i, l.Listener))
		}
	}
	return errors.Join(errs...)
}

// Optional abilities. A driver has one when it implements the interface;
// callers go through the functions below, which answer ErrUnsupported for
// a driver without it, so no call site asserts an anonymous interface.

// ProcessFinder is a driver whose VM is a host process it can find again
// from its files in StateDir, whoever started it: every binary that can
// stop a machine can find its VM.
type ProcessFinder interface {
	// RunningPID is the VM's process and whether it is alive.
	RunningPID() (pid int, alive bool)
}

// Pauser stops and resumes the VM's CPUs (memory stays).
type Pauser interface {
	Pause(ctx context.Context) error
	Resume(ctx context.Context) error
}

// Saver is a driver that can save a stopped engine's VM (its memory and
// devices, with the data disk synced and untouched after) and boot the
// next start from it: the guest's kernel, init and engine are then already
// up. Start restores only a VM saved with the same Machine.SaveKey and the
// same command line, whose writable disks nothing changed since, and uses
// the saved state once: it is gone before the restored guest runs, so an
// old state never meets a newer data disk.
type Saver interface {
	// Save saves the running VM and ends it. Devices that cannot be saved
	// (shared folders) are unplugged first: the guest must not use them.
	// On an error the VM still runs, unless it says otherwise.
	Save(ctx context.Context) error
	// Restored says whether the last Start restored a saved VM.
	Restored() bool
	// DiscardSaved forgets a saved VM, so the next Start boots.
	DiscardSaved() error
}

// DiskOwner is a driver that makes and grows the data disk itself
// (Capabilities.DataDisk.CreatedBy is PartyDriver).
type DiskOwner interface {
	// EnsureDataDisk creates the disk at path with gib GiB if it does not
	// exist; an existing disk is never touched.
	EnsureDataDisk(path string, gib int) error
	// GrowDataDisk grows it to gib GiB.
	GrowDataDisk(path string, gib int) error
}

// Remover is a driver whose VM keeps state outside the machine directory
// (a registered WSL distro): Remove deletes it when the machine is deleted.
// The VM must not run.
type Remover interface {
	Remove(ctx context.Context) error
}

// Remove deletes what d keeps of the machine outside its directory; a
// driver that keeps nothing there (not a Remover) answers nil.
func Remove(ctx context.Context, d Driver) error {
	r, ok := d.(Remover)
	if !ok {
		return nil
	}
	return r.Remove(ctx)
}

// Reporter is a driver with facts for a diagnostics bundle beyond its log
// files: the hypervisor's version and state, as its own tools print them.
type Reporter interface {
	// Report names each fact by a file name for the bundle; a fact that
	// could not be read says why in its text.
	Report(ctx context.Context) map[string]string
}

// Report is what d tells a diagnostics bundle, nil when it is no Reporter.
func Report(ctx context.Context, d Driver) map[string]string {
	r, ok := d.(Reporter)
	if !ok {
		return nil
	}
	return r.Report(ctx)
}

// LinkDialer is a driver that connects the agent to a network link the
// guest listens on (LinkSpec.Listener is PartyGuest): an hvsock to the
// guest's AF_VSOCK port, found through the VM's id.
type LinkDialer interface {
	// DialLink connects to the running guest's link, or fails (the VM is
	// not up yet: the agent tries again).
	DialLink(ctx context.Context) (net.Conn, error)
}

// DialLink connects to d's guest-side link, or ErrUnsupported.
func DialLink(ctx context.Context, d Driver) (net.Conn, error) {
	l, ok := d.(LinkDialer)
	if !ok {
		return nil, ErrUnsupported
	}
	return l.DialLink(ctx)
}

// RunningPID asks d for its VM's process: ErrUnsupported when the driver
// cannot find one, ErrNotRunning when none runs.
func RunningPID(d Driver) (int, error) {
	f, ok := d.(ProcessFinder)
	if !ok {
		return 0, ErrUnsupported
	}
	pid, alive := f.RunningPID()
	if !alive {
		return 0, ErrNotRunning
	}
	return pid, nil
}

// Adopt attaches d to a VM an earlier process left running; ErrUnsupported
// when the driver cannot, ErrNotRunning when there is none.
func Adopt(ctx context.Context, d Driver) error {
	a, ok := d.(Adopter)
	if !ok {
		return ErrUnsupported
	}
	return a.Adopt(ctx)
}

// Pause stops the VM's CPUs, or ErrUnsupported.
func Pause(ctx context.Context, d Driver) error {
	p, ok := d.(Pauser)
	if !ok {
		return ErrUnsupported
	}
	return p.Pause(ctx)
}

// Resume restarts the VM's CPUs, or ErrUnsupported.
func Resume(ctx context.Context, d Driver) error {
	p, ok := d.(Pauser)
	if !ok {
		return ErrUnsupported
	}
	return p.Resume(ctx)
}

// AsDiskOwner is d's disk ability, or ErrUnsupported.
func AsDiskOwner(d Driver) (DiskOwner, error) {
	o, ok := d.(DiskOwner)
	if !ok {
		return nil, ErrUnsupported
	}
	return o, nil
}

// ShareWatcher is a driver whose shares are served by host processes of
// their own (virtiofsd) that can die while the VM runs.
type ShareWatcher interface {
	// SharesDown lists the shares whose server is gone, each with why
	// ("its virtiofsd (pid 123) exited"); nil when all are served.
	SharesDown() []ShareDown
}

// ShareDown is a share whose host server is gone: the guest's mount of it
// fails until the machine restarts.
type ShareDown struct {
	HostPath string
	Reason   string
}

// SharesDown asks d which shares lost their server; nil for a driver that
// is no ShareWatcher.
func SharesDown(d Driver) []ShareDown {
	w, ok := d.(ShareWatcher)
	if !ok {
		return nil
	}
	return w.SharesDown()
}

// StallWatcher is a driver whose VM can stop by itself while its process
// lives: QEMU stops the CPUs when a write to the data disk finds the
// host's disk full, rather than fail the guest's write.
type StallWatcher interface {
	// Stalled says why the VM stopped, "" when it runs. A VM whose
	// cause went away (space freed on the host) goes on by itself here.
	Stalled(ctx context.Context) string
}

// Stalled asks d whether its VM stopped by itself, and why; "" for a
// driver that is no StallWatcher.
func Stalled(ctx context.Context, d Driver) string {
	w, ok := d.(StallWatcher)
	if !ok {
		return ""
	}
	return w.Stalled(ctx)
}

// ShareSFTP is the share type the host agent serves itself: it connects
// to the guest over the VM's network and speaks SFTP, and the guest
// mounts each share with sshfs. Any driver whose VM is on the agent's
// network can offer it; it needs nothing of the hypervisor.
const ShareSFTP = "sftp"
