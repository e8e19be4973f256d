package hostagent

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"

	"github.com/berth-dev/berth/internal/atomicfile"
	"github.com/berth-dev/berth/store"
	"github.com/berth-dev/berth/vm"
)

// MachineSpec is what a machine was created with; it is kept in
// machine.json so later starts use the same resources.
type MachineSpec struct {
	Arch      string `json:"arch"`
	CPUs      int    `json:"cpus"`
	MemoryMiB int    `json:"memoryMiB"`
	DiskGiB   int    `json:"diskGiB"`
	// Driver is the driver the machine was created with: its disk and
	// state are that driver's, so it stays the machine's driver (empty in
	// a machine made before drivers were recorded: the next start records
	// its driver).
	Driver string `json:"driver,omitempty"`
}

// RecordedDriver is the driver machine m was created with, "" when none
// is recorded (or no machine exists).
func RecordedDriver(m store.Machine) string {
	s, err := readSpec(m)
	if err != nil {
		return ""
	}
	return s.Driver
}

// MachineArch is the architecture of machine m's guest: the one it was
// created with, else the one the config asks for (configArch, "" when
// unset), else the host's. The CLI picks the guest image by it.
func MachineArch(m store.Machine, configArch string) string {
	if s, err := readSpec(m); err == nil {
		return s.Arch
	}
	if configArch != "" {
		return configArch
	}
	return runtime.GOARCH
}

// machineDriver is the driver to use for m: the one asked for, else the
// one it was created with ("" lets the registry pick the host's default).
func machineDriver(m store.Machine, asked string) string {
	if asked != "" {
		return asked
	}
	return RecordedDriver(m)
}

// DefaultSpec sizes a new machine for this host.
func DefaultSpec() MachineSpec {
	return defaultSpec(runtime.NumCPU(), runtime.GOARCH)
}

func defaultSpec(hostCPUs int, arch string) MachineSpec {
	cpus := min(max(hostCPUs/2, 1), 4)
	if hostCPUs <= 2 {
		cpus = hostCPUs
	}
	return MachineSpec{Arch: arch, CPUs: cpus, MemoryMiB: 2048, DiskGiB: 64}
}

// Validate names every bad field.
func (s MachineSpec) Validate() error {
	var errs []error
	if s.Arch != "amd64" && s.Arch != "arm64" {
		errs = append(errs, fmt.Errorf("arch: %q is not supported (amd64, arm64)", s.Arch))
	}
	if s.CPUs < 1 {
		errs = append(errs, fmt.Errorf("cpus: %d, must be at least 1", s.CPUs))
	}
	if s.MemoryMiB < 512 {
		errs = append(errs, fmt.Errorf("memoryMiB: %d, must be at least 512", s.MemoryMiB))
	}
	if s.DiskGiB < 4 {
		errs = append(errs, fmt.Errorf("diskGiB: %d, must be at least 4", s.DiskGiB))
	}
	return errors.Join(errs...)
}

// Disk makes and grows the machine's data disk.
type Disk interface {
	// Ensure creates the disk at path with gib GiB if it does not exist;
	// an existing disk is never touched.
	Ensure(path string, gib int) error
	// Grow grows it to gib GiB.
	Grow(path string, gib int) error
}

// RawDisk is the sparse raw file the agent makes itself, on any OS.
type RawDisk struct{}

func (RawDisk) Ensure(path string, gib int) error { return ensureDisk(path, gib) }
func (RawDisk) Grow(path string, gib int) error   { return growDisk(path, gib) }

// Prepare makes the machine match want: on first use it creates the
// machine (directory, spec, sparse data disk); later it applies new CPUs and
// memory and grows the data disk. A disk never shrinks: that would cut the
// user's images and volumes. It reports whether the machine was created and
// what changed.
func Prepare(m store.Machine, want MachineSpec) (MachineSpec, bool, []string, error) {
	return PrepareWith(m, want, RawDisk{})
}

// PrepareWith is Prepare with the data disk made by disk.
//
// want.Arch "" is the machine's own architecture, or the host's for a new
// machine; a machine keeps the one it was created with, like its driver.
func PrepareWith(m store.Machine, want MachineSpec, disk Disk) (MachineSpec, bool, []string, error) {
	path := m.Path(store.DataDisk)
	have, err := readSpec(m)
	if errors.Is(err, os.ErrNotExist) {
		if want.Arch == "" {
			want.Arch = runtime.GOARCH
		}
		if err := want.Validate(); err != nil {
			return want, false, nil, err
		}
		if err := m.Ensure(); err != nil {
			return want, false, nil, err
		}
		if err := disk.Ensure(path, want.DiskGiB); err != nil {
			return want, false, nil, err
		}
		return want, true, nil, writeSpec(m, want)
	}
	if err != nil {
		return have, false, nil, err
	}
	if err := archChange(have.Arch, want.Arch); err != nil {
		return have, false, nil, err
	}
	if want.Arch == "" {
		want.Arch = have.Arch
	}
	if err := want.Validate(); err != nil {
		return want, false, nil, err
	}
	if err := disk.Ensure(path, have.DiskGiB); err != nil {
		return have, false, nil, err
	}
	var changes []string
	switch {
	case want.Driver == "":
		want.Driver = have.Driver
	case have.Driver == "":
		changes = append(changes, "driver recorded: "+want.Driver)
	case want.Driver != have.Driver:
		return have, false, nil, fmt.Errorf("driver: the machine was created with the %s driver, not %s, and its disk and state are that driver's; delete it (berth delete) to use another driver", have.Driver, want.Driver)
	}
	if err := diskGrowth(have.DiskGiB, want.DiskGiB); err != nil {
		return have, false, nil, err
	}
	if want.DiskGiB > have.DiskGiB {
		if err := disk.Grow(path, want.DiskGiB); err != nil {
			return have, false, nil, err
		}
		changes = append(changes, fmt.Sprintf("disk %dGiB → %dGiB", have.DiskGiB, want.DiskGiB))
	}
	if want.CPUs != have.CPUs {
		changes = append(changes, fmt.Sprintf("cpus %d → %d", have.CPUs, want.CPUs))
	}
	if want.MemoryMiB != have.MemoryMiB {
		changes = append(changes, fmt.Sprintf("memory %dMiB → %dMiB", have.MemoryMiB, want.MemoryMiB))
	}
	if len(changes) == 0 {
		return want, false, nil, nil
	}
	return want, false, changes, writeSpec(m, want)
}

// driverDisk is the data disk of a driver that makes its own
// (Capabilities.DataDisk.CreatedBy is the driver): Prepare records what it
// wants done, and the driver stage has the driver do it, once the driver
// exists.
type driverDisk struct {
	path               string
	ensureGiB, growGiB int
}

func (d *driverDisk) Ensure(path string, gib int) error {
	d.path, d.ensureGiB = path, gib
	return nil
}

func (d *driverDisk) Grow(path string, gib int) error {
	d.path, d.growGiB = path, gib
	return nil
}

// apply has the driver make, then grow, the disk as Prepare asked.
func (d *driverDisk) apply(driver vm.Driver) error {
	owner, err := vm.AsDiskOwner(driver)
	if err != nil {
		return fmt.Errorf("the driver declares that it makes the data disk, but cannot (not a vm.DiskOwner): %w", err)
	}
	if d.ensureGiB > 0 {
		if err := owner.EnsureDataDisk(d.path, d.ensureGiB); err != nil {
			return fmt.Errorf("data disk: %w", err)
		}
	}
	if d.growGiB > 0 {
		if err := owner.GrowDataDisk(d.path, d.growGiB); err != nil {
			return fmt.Errorf("growing the data disk to %dGiB: %w", d.growGiB, err)
		}
	}
	return nil
}

// diskGrowth refuses a data disk that would shrink: that would cut the
// user's images and volumes.
func diskGrowth(haveGiB, wantGiB int) error {
	if wantGiB < haveGiB {
		return fmt.Errorf("disk: %dGiB is smaller than the machine's %dGiB data disk; a disk can grow, not shrink (delete the machine to start smaller)", wantGiB, haveGiB)
	}
	return nil
}

// CheckDiskGrowth is the same check for a front end, before it starts the
// agent: nil for a machine not created yet.
func CheckDiskGrowth(m store.Machine, wantGiB int) error {
	have, err := readSpec(m)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return diskGrowth(have.DiskGiB, wantGiB)
}

// archChange refuses another architecture than the machine's ("" asks for
// none): its disk and state are that architecture's.
func archChange(have, want string) error {
	if want == "" || want == have {
		return nil
	}
	return fmt.Errorf("arch: the machine was created for %s, not %s, and its disk and state are that architecture's; delete it (berth delete) to use another architecture", have, want)
}

// CheckArch is the same check for a front end, before it starts the
// agent: nil for a machine not created yet.
func CheckArch(m store.Machine, want string) error {
	have, err := readSpec(m)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return archChange(have.Arch, want)
}

// LoadOrCreate is Prepare for callers that only want the spec.
func LoadOrCreate(m store.Machine, def MachineSpec) (MachineSpec, bool, error) {
	s, err := readSpec(m)
	if err == nil {
		return s, false, ensureDisk(m.Path(store.DataDisk), s.DiskGiB)
	}
	if !errors.Is(err, os.ErrNotExist) {
		return s, false, err
	}
	s, created, _, err := Prepare(m, def)
	return s, created, err
}

func writeSpec(m store.Machine, s MachineSpec) error {
	b, _ := json.MarshalIndent(s, "", "  ")
	return writeFileAtomic(m.Path(store.MachineFile), b)
}

// growDisk extends the sparse data disk; the guest grows its file system
// to fill it at boot.
func growDisk(path string, gib int) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("growing data disk: %w", err)
	}
	defer f.Close()
	if err := f.Truncate(int64(gib) << 30); err != nil {
		return fmt.Errorf("growing data disk to %dGiB: %w", gib, err)
	}
	return f.Sync()
}

// ensureDisk creates the sparse data disk if it does not exist. An existing
// disk is never touched: it holds the user's images and volumes.
func ensureDisk(path string, gib int) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if errors.Is(err, os.ErrExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("creating data disk: %w", err)
	}
	defer f.Close()
	if err := f.Truncate(int64(gib) << 30); err != nil {
		os.Remove(path)
		return fmt.Errorf("sizing data disk to %d GiB: %w", gib, err)
	}
	return nil
}

// writeFileAtomic writes through a temporary file and a rename, so a crash
// leaves the old file or the new one, never half of one.
func writeFileAtomic(path string, b []byte) error {
	return atomicfile.WriteFile(path, b, 0o600)
}

// ReadSpec reads the spec the machine was last started with.
func ReadSpec(m store.Machine) (MachineSpec, error) { return readSpec(m) }

// readSpec reads machine.json.
func readSpec(m store.Machine) (MachineSpec, error) {
	var s MachineSpec
	b, err := os.ReadFile(m.Path(store.MachineFile))
	if err != nil {
		return s, err
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return s, fmt.Errorf("%s is damaged: %w", m.Path(store.MachineFile), err)
	}
	if err := s.Validate(); err != nil {
		return s, fmt.Errorf("%s: %w", m.Path(store.MachineFile), err)
	}
	return s, nil
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
