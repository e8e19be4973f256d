package hcsvm

import (
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"runtime"
	"strings"
	"time"

	"github.com/berth-dev/berth/guest/guestconfig"
	"github.com/berth-dev/berth/internal/initrd"
	"github.com/berth-dev/berth/vm/hyperv"
)

var guidRE = regexp.MustCompile(`^\{?([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\}?$`)

// diskMaker makes the machine's data disk: a dynamic VHDX (virtdisk.dll
// on Windows), which takes no more of the host's disk than the guest has
// written, and which the guest formats on its first boot.
type diskMaker interface {
	CreateVHDX(path string, gib int) error
	// SizeVHDX is the disk's size as the guest sees it, in bytes.
	SizeVHDX(path string) (uint64, error)
	// ResizeVHDX grows the disk to gib GiB; its VM must not run. The
	// guest grows its file system to the disk at its next boot.
	ResizeVHDX(path string, gib int) error
}

// How long the guest has to shut down once asked, and how often its
// state is looked at meanwhile.
const (
	defaultStopTimeout = 30 * time.Second
	stopPoll           = 500 * time.Millisecond
)

// manager is the service's Manager: it keeps each user's machines under
// its own data directory and runs them through HCS.
type manager struct {
	goos        string
	images      string // the installation's guest image
	data        string // the service's data directory
	hcs         computeService
	disks       diskMaker
	stopTimeout time.Duration
}

var _ hyperv.Manager = (*manager)(nil)

// NewManager is the Manager berth-service serves: it boots the guest image
// in images (the installation's own vmlinuz, initramfs.img, rootfs.img)
// and keeps the root disk as a VHD, and each user's machines (per SID and
// name: the initrd with the service's guest config, the data disk), under
// data, a directory only SYSTEM and administrators may write
// (%ProgramData%\Berth\hyperv). It drives HCS through computecore.dll and
// makes disks with virtdisk.dll: Windows only; elsewhere every request
// fails, saying so.
func NewManager(images, data string) hyperv.Manager {
	return newManager(runtime.GOOS, images, data, newComputeService(), newDiskMaker())
}

func newManager(goos, images, data string, hcs computeService, disks diskMaker) *manager {
	return &manager{goos: goos, images: images, data: data, hcs: hcs, disks: disks, stopTimeout: defaultStopTimeout}
}

// Start boots the machine unless it runs, and answers its state with the
// VM's id. A machine that runs already is left as it is (its sizes are
// those it booted with). The root disk, the initrd and the data disk are
// made first when missing or stale; a compute system that fails to start
// is terminated and forgotten.
func (m *manager) Start(ctx context.Context, userSID string, req hyperv.MachineRequest) (hyperv.MachineState, error) {
	if err := req.Validate(); err != nil {
		return hyperv.MachineState{}, fmt.Errorf("the machine request: %w", err)
	}
	l, err := newLayout(m.images, m.data, userSID, req.Machine)
	if err != nil {
		return hyperv.MachineState{}, err
	}
	p, err := m.hcs.Properties(ctx, l.id)
	switch {
	case err == nil && p.running():
		return stateOf(p), nil
	case err == nil: // created or stopped: made anew from its document
		if err := m.forget(ctx, l.id); err != nil {
			return hyperv.MachineState{}, err
		}
	case !errors.Is(err, errNotFound):
		return hyperv.MachineState{}, fmt.Errorf("the Hyper-V machine %s: %w", req.Machine, err)
	}
	doc, err := m.prepare(l, userSID, req)
	if err != nil {
		return hyperv.MachineState{}, err
	}
	if err := m.hcs.Create(ctx, l.id, string(doc)); err != nil {
		return hyperv.MachineState{}, fmt.Errorf("creating the Hyper-V machine %s: %w", req.Machine, err)
	}
	if err := m.hcs.Start(ctx, l.id); err != nil {
		return hyperv.MachineState{}, errors.Join(fmt.Errorf("starting the Hyper-V machine %s: %w", req.Machine, err), m.forget(context.WithoutCancel(ctx), l.id))
	}
	p, err = m.hcs.Properties(ctx, l.id)
	if err != nil {
		return hyperv.MachineState{}, fmt.Errorf("the Hyper-V machine %s started, but: %w", req.Machine, err)
	}
	if !p.running() {
		return hyperv.MachineState{}, fmt.Errorf("the Hyper-V machine %s stopped right after it started (state %s)", req.Machine, p.State)
	}
	return stateOf(p), nil
}

// prepare makes what the VM boots from, and its document.
func (m *manager) prepare(l layout, userSID string, req hyperv.MachineRequest) ([]byte, error) {
	if err := os.MkdirAll(l.dir, 0o700); err != nil {
		return nil, fmt.Errorf("the machine's directory: %w", err)
	}
	if err := ensureRootVHD(l.rootImage, l.rootVHD); err != nil {
		return nil, err
	}
	cfg := req.Guest.Apply(guestconfig.HyperV(guestconfig.Default()))
	cfg.HostTime = time.Now()
	if err := initrd.Write(l.initrd, l.initramfs, cfg); err != nil {
		return nil, fmt.Errorf("the machine's initrd: %w", err)
	}
	if err := m.ensureDataDisk(l.dataDisk, req.DiskGiB); err != nil {
		return nil, err
	}
	return document(m.goos, Spec{
		Kernel: l.kernel, Initrd: l.initrd, Cmdline: Cmdline(),
		RootDisk: l.rootVHD, DataDisk: l.dataDisk,
		CPUs: req.CPUs, MemoryMiB: req.MemoryMiB, UserSID: userSID,
	})
}

// ensureDataDisk makes the data disk when there is none, and grows an
// existing one that is smaller than asked (the user raised the machine's
// disk size); a disk is never shrunk, which would cut the engine's data.
// A new disk is made under a temporary name and renamed, so a failure
// leaves no disk the next start would take for the machine's.
func (m *manager) ensureDataDisk(path string, gib int) error {
	if _, err := os.Stat(path); err == nil {
		size, err := m.disks.SizeVHDX(path)
		if err != nil {
			return fmt.Errorf("the data disk: reading its size: %w", err)
		}
		if size < uint64(gib)<<30 {
			if err := m.disks.ResizeVHDX(path, gib); err != nil {
				return fmt.Errorf("growing the data disk from %d to %d GiB: %w", size>>30, gib, err)
			}
		}
		return nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("the data disk: %w", err)
	}
	tmp := strings.TrimSuffix(path, ".vhdx") + ".tmp.vhdx" // virtdisk wants the extension
	_ = os.Remove(tmp)
	if err := m.disks.CreateVHDX(tmp, gib); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("creating the data disk (%d GiB): %w", gib, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("the data disk: %w", err)
	}
	return nil
}

// Stop asks the guest to shut down and waits up to the stop timeout (or
// ctx's end) for the VM to stop, then terminates it; the compute system
// is forgotten either way. A machine HCS does not know is stopped.
func (m *manager) Stop(ctx context.Context, userSID, machine string) error {
	l, err := newLayout(m.images, m.data, userSID, machine)
	if err != nil {
		return err
	}
	p, err := m.hcs.Properties(ctx, l.id)
	if errors.Is(err, errNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("the Hyper-V machine %s: %w", machine, err)
	}
	if p.running() {
		wait, cancel := context.WithTimeout(ctx, m.stopTimeout)
		err := m.hcs.Shutdown(wait, l.id)
		if err == nil {
			err = m.waitStopped(wait, l.id)
		}
		cancel()
		if err != nil {
			// Not shut down in time, or it could not be asked: end it.
			if terr := m.hcs.Terminate(context.WithoutCancel(ctx), l.id); terr != nil && !errors.Is(terr, errNotFound) {
				return fmt.Errorf("stopping the Hyper-V machine %s: %w (after the shutdown: %w)", machine, terr, err)
			}
		}
	}
	return m.forget(context.WithoutCancel(ctx), l.id)
}

// waitStopped polls the VM's state until it has stopped or ctx ends.
func (m *manager) waitStopped(ctx context.Context, id string) error {
	for {
		p, err := m.hcs.Properties(ctx, id)
		if errors.Is(err, errNotFound) || err == nil && !p.running() {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the guest did not shut down: %w", ctx.Err())
		case <-time.After(stopPoll):
		}
	}
}

// forget terminates a compute system that may still run and closes it.
func (m *manager) forget(ctx context.Context, id string) error {
	err := m.hcs.Terminate(ctx, id)
	if errors.Is(err, errNotFound) {
		return nil
	}
	// A stopped system refuses to terminate; it is closed all the same.
	if cerr := m.hcs.Close(ctx, id); cerr != nil && !errors.Is(cerr, errNotFound) {
		return fmt.Errorf("forgetting the compute system %s: %w (terminate: %w)", id, cerr, err)
	}
	return nil
}

// State is the machine's state: absent when HCS does not know it.
func (m *manager) State(ctx context.Context, userSID, machine string) (hyperv.MachineState, error) {
	l, err := newLayout(m.images, m.data, userSID, machine)
	if err != nil {
		return hyperv.MachineState{}, err
	}
	p, err := m.hcs.Properties(ctx, l.id)
	if errors.Is(err, errNotFound) {
		return hyperv.MachineState{State: hyperv.StateAbsent}, nil
	}
	if err != nil {
		return hyperv.MachineState{}, fmt.Errorf("the Hyper-V machine %s: %w", machine, err)
	}
	return stateOf(p), nil
}
