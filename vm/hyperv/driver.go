package hyperv

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"regexp"
	"sync"
	"time"

	"github.com/berth-dev/berth/guest/guestconfig"
	"github.com/berth-dev/berth/internal/hvsock"
	"github.com/berth-dev/berth/store"
	"github.com/berth-dev/berth/vm"
)

// DriverName is the driver's name.
const DriverName = "hyperv"

// accelerator is what runs every Hyper-V VM.
const accelerator = "hyperv"

// How often the driver looks at the VM while it waits for it, and how
// long a Kill may take (the service shuts the guest down, then ends it).
const (
	pollState   = 2 * time.Second
	pollGuest   = 500 * time.Millisecond
	killTimeout = 45 * time.Second
)

// Driver runs one machine as a Hyper-V VM that berth-service creates and
// runs (the Manager: the service's pipe client, which acts for this
// process's user), and reaches the guest's link over hvsock: the VM's
// document lets this user connect to the link port, so the unelevated
// agent dials it itself.
type Driver struct {
	m       *vm.Machine
	mgr     Manager
	userSID string
	hv      hvsock.Dialer

	mu      sync.Mutex
	vmID    string // the running VM's id, once started or adopted
	diskGiB int    // the data disk's size, from EnsureDataDisk
}

var (
	_ vm.Driver     = (*Driver)(nil)
	_ vm.LinkDialer = (*Driver)(nil)
	_ vm.DiskOwner  = (*Driver)(nil)
	_ vm.Adopter    = (*Driver)(nil)
)

// NewDriver is the Hyper-V driver of m, asking mgr for the VM on behalf of
// userSID (this process's user: the service checks it against the pipe's
// client) and dialing the guest through hv.
func NewDriver(m *vm.Machine, mgr Manager, userSID string, hv hvsock.Dialer) (*Driver, error) {
	var errs []error
	if err := store.ValidateName(m.Name); err != nil {
		errs = append(errs, err)
	}
	if mgr == nil {
		errs = append(errs, errors.New("the hyperv driver needs berth-service (no service client)"))
	}
	if err := ValidSID(userSID); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &Driver{m: m, mgr: mgr, userSID: userSID, hv: hv}, nil
}

// request is what the service is asked for: the machine's name and sizes.
func (d *Driver) request() (MachineRequest, error) {
	d.mu.Lock()
	gib := d.diskGiB
	d.mu.Unlock()
	if gib == 0 {
		return MachineRequest{}, errors.New("the hyperv driver was not told the data disk's size (EnsureDataDisk)")
	}
	r := MachineRequest{Machine: d.m.Name, CPUs: d.m.CPUs, MemoryMiB: d.m.MemoryMiB, DiskGiB: gib}
	if d.m.GuestConfig != "" {
		// The agent's guest config for this boot (vm.BootService): the
		// engine's settings go with the request.
		b, err := os.ReadFile(d.m.GuestConfig)
		if err != nil {
			return MachineRequest{}, fmt.Errorf("this boot's guest config: %w", err)
		}
		var cfg guestconfig.Config
		if err := json.Unmarshal(b, &cfg); err != nil {
			return MachineRequest{}, fmt.Errorf("this boot's guest config %s: %w", d.m.GuestConfig, err)
		}
		r.Guest = GuestSettingsOf(cfg)
	}
	return r, r.Validate()
}

// Start asks the service to boot the machine (it boots its own copy of
// the image: the kernel, an initrd with its guest config for Hyper-V, the
// root disk as a VHD, the data disk as a VHDX) and returns once the
// guest's init listens on the link port: the VM has no console this
// process could read a boot marker from.
func (d *Driver) Start(ctx context.Context) error {
	req, err := d.request()
	if err != nil {
		return err
	}
	st, err := d.mgr.Start(ctx, d.userSID, req)
	if err != nil {
		return fmt.Errorf("berth-service could not start the Hyper-V machine %s: %w", d.m.Name, err)
	}
	if err := d.keep(st); err != nil {
		return err
	}
	return d.waitGuest(ctx, st.VMID)
}

// keep records a running VM's id.
func (d *Driver) keep(st MachineState) error {
	if st.State != StateRunning {
		return fmt.Errorf("berth-service says the Hyper-V machine %s is %s after its start", d.m.Name, st.State)
	}
	if !guidRE.MatchString(st.VMID) {
		return fmt.Errorf("berth-service gave the Hyper-V machine %s the VM id %q, which is no GUID", d.m.Name, st.VMID)
	}
	d.mu.Lock()
	d.vmID = st.VMID
	d.mu.Unlock()
	return nil
}

var guidRE = regexp.MustCompile(`^\{?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\}?$`)

// waitGuest dials the link port until the guest's init answers (the
// connection is closed at once: the init takes the agent's link next), or
// the VM stops, or ctx ends.
func (d *Driver) waitGuest(ctx context.Context, vmID string) error {
	var last error
	for {
		conn, err := d.hv.DialHvsock(ctx, vmID, LinkPort)
		if err == nil {
			conn.Close()
			return nil
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for the guest of the Hyper-V machine %s to listen on vsock port %d: %w (last: %w)", d.m.Name, LinkPort, ctx.Err(), last)
		case <-time.After(pollGuest):
		}
		st, err := d.mgr.State(ctx, d.userSID, d.m.Name)
		if err == nil && st.State != StateRunning {
			return fmt.Errorf("the Hyper-V machine %s stopped before its guest listened (%w)", d.m.Name, last)
		}
	}
}

// Stop asks the service to stop the machine: it asks the guest to shut
// down (Hyper-V's shutdown integration service), waits for it, and ends
// the VM when the guest does not stop in its own time.
func (d *Driver) Stop(ctx context.Context) error {
	if err := d.mgr.Stop(ctx, d.userSID, d.m.Name); err != nil {
		return fmt.Errorf("berth-service could not stop the Hyper-V machine %s: %w", d.m.Name, err)
	}
	d.forget()
	return nil
}

// Kill has the service stop the machine now; the service's stop is the
// only one it offers, so the guest gets its shutdown request first.
func (d *Driver) Kill() error {
	ctx, cancel := context.WithTimeout(context.Background(), killTimeout)
	defer cancel()
	return d.Stop(ctx)
}

func (d *Driver) forget() {
	d.mu.Lock()
	d.vmID = ""
	d.mu.Unlock()
}

// Wait returns once the service no longer reports the machine running.
func (d *Driver) Wait(ctx context.Context) error {
	for {
		st, err := d.mgr.State(ctx, d.userSID, d.m.Name)
		if err != nil {
			return err
		}
		if st.State != StateRunning {
			d.forget()
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pollState):
		}
	}
}

// Info describes the VM: Hyper-V runs it, no process of this user's.
func (d *Driver) Info() vm.Info {
	info := vm.Info{Driver: DriverName, Accelerator: accelerator}
	if len(d.m.Shares) > 0 {
		// The agent serves them (the guest config says so); the VM needs
		// nothing for them.
		info.FileSharing = vm.ShareSFTP
	}
	return info
}

// Adopt implements vm.Adopter: a machine the service still runs (its
// agent died) is taken over, and its link dialed again.
func (d *Driver) Adopt(ctx context.Context) error {
	st, err := d.mgr.State(ctx, d.userSID, d.m.Name)
	if err != nil {
		return err
	}
	if st.State != StateRunning {
		return vm.ErrNotRunning
	}
	return d.keep(st)
}

// DialLink connects to the guest's link port over hvsock. The VM is the
// machine's own and addressed by its id, so no other guest can answer:
// the link carries the switch's frames from the first byte.
func (d *Driver) DialLink(ctx context.Context) (net.Conn, error) {
	d.mu.Lock()
	id := d.vmID
	d.mu.Unlock()
	if id == "" {
		return nil, fmt.Errorf("the Hyper-V machine %s: %w", d.m.Name, vm.ErrNotRunning)
	}
	conn, err := d.hv.DialHvsock(ctx, id, LinkPort)
	if err != nil {
		return nil, fmt.Errorf("connecting to vsock port %d of the Hyper-V VM %s: %w", LinkPort, id, err)
	}
	return conn, nil
}

// EnsureDataDisk records the size: the service makes the disk (a dynamic
// VHDX in its own directory, never a path of the agent's) at the first
// start, and never touches an existing one.
func (d *Driver) EnsureDataDisk(_ string, gib int) error {
	if gib < 1 || gib > MaxDiskGiB {
		return fmt.Errorf("disk: %d GiB, want 1 to %d", gib, MaxDiskGiB)
	}
	d.mu.Lock()
	d.diskGiB = gib
	d.mu.Unlock()
	return nil
}

// GrowDataDisk asks for a disk of gib GiB from this start on: the service
// grows the VHDX before it boots the VM (never while it runs), and the
// guest grows its file system to the disk.
func (d *Driver) GrowDataDisk(_ string, gib int) error {
	return d.EnsureDataDisk("", gib)
}
