package hostagent

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"

	"github.com/berth-dev/berth/store"
)

// MachineSpec is what a machine was created with; it is kept in
// machine.json so later starts use the same resources.
type MachineSpec struct {
	Arch      string `json:"arch"`
	CPUs      int    `json:"cpus"`
	MemoryMiB int    `json:"memoryMiB"`
	DiskGiB   int    `json:"diskGiB"`
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

// LoadOrCreate reads the machine's spec, creating the machine (directory,
// spec, sparse data disk) with def on first use. It reports whether the
// machine was created now.
func LoadOrCreate(m store.Machine, def MachineSpec) (MachineSpec, bool, error) {
	s, err := readSpec(m)
	if err == nil {
		return s, false, ensureDisk(m.Path(store.DataDisk), s.DiskGiB)
	}
	if !errors.Is(err, os.ErrNotExist) {
		return MachineSpec{}, false, err
	}
	if err := def.Validate(); err != nil {
		return def, false, err
	}
	if err := m.Ensure(); err != nil {
		return def, false, err
	}
	if err := ensureDisk(m.Path(store.DataDisk), def.DiskGiB); err != nil {
		return def, false, err
	}
	b, _ := json.MarshalIndent(def, "", "  ")
	if err := writeFileAtomic(m.Path(store.MachineFile), b); err != nil {
		return def, false, err
	}
	return def, true, nil
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
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}

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
