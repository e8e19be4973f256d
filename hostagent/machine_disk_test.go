package hostagent

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/berth-dev/berth/kernel"
	"github.com/berth-dev/berth/store"
	"github.com/berth-dev/berth/vm"
)

// ownerDriver is a driver that makes its own data disk, recording calls.
type ownerDriver struct {
	vm.Driver
	calls []string
}

func (d *ownerDriver) EnsureDataDisk(path string, gib int) error {
	d.calls = append(d.calls, fmt.Sprintf("ensure %s %d", path, gib))
	return nil
}

func (d *ownerDriver) GrowDataDisk(path string, gib int) error {
	d.calls = append(d.calls, fmt.Sprintf("grow %s %d", path, gib))
	return nil
}

// A driver-made disk: Prepare writes no disk of its own, and the driver is
// asked to make it at creation and to grow it when the config grows it.
func TestDriverMadeDataDisk(t *testing.T) {
	m, err := store.Open(t.TempDir(), "default")
	if err != nil {
		t.Fatal(err)
	}
	disk := m.Path(store.DataDisk)
	spec := MachineSpec{Arch: "amd64", CPUs: 2, MemoryMiB: 2048, DiskGiB: 10}

	d := &driverDisk{}
	if _, created, _, err := PrepareWith(m, spec, d); err != nil || !created {
		t.Fatalf("PrepareWith: created %v, %v", created, err)
	}
	if _, err := os.Stat(disk); !os.IsNotExist(err) {
		t.Errorf("the agent made a data disk for a driver that makes its own: %v", err)
	}
	drv := &ownerDriver{}
	if err := d.apply(drv); err != nil {
		t.Fatal(err)
	}
	if want := []string{"ensure " + disk + " 10"}; fmt.Sprint(drv.calls) != fmt.Sprint(want) {
		t.Errorf("first start: driver asked %q, want %q", drv.calls, want)
	}

	spec.DiskGiB = 20
	d = &driverDisk{}
	if _, _, changes, err := PrepareWith(m, spec, d); err != nil || len(changes) != 1 {
		t.Fatalf("PrepareWith grown: %v, %v", changes, err)
	}
	drv = &ownerDriver{}
	if err := d.apply(drv); err != nil {
		t.Fatal(err)
	}
	if want := []string{"ensure " + disk + " 10", "grow " + disk + " 20"}; fmt.Sprint(drv.calls) != fmt.Sprint(want) {
		t.Errorf("grown: driver asked %q, want %q", drv.calls, want)
	}

	// A driver that declares a disk of its own but cannot make one.
	if err := d.apply(struct{ vm.Driver }{}); err == nil || !strings.Contains(err.Error(), "vm.DiskOwner") {
		t.Errorf("apply to a driver without the ability: %v, want an error naming vm.DiskOwner", err)
	}
}

// The machine keeps the driver it was created with: a start that names
// another is refused by name, one that names none uses it, and a machine
// from before drivers were recorded records the next start's.
func TestMachineKeepsItsDriver(t *testing.T) {
	m, err := store.Open(t.TempDir(), "default")
	if err != nil {
		t.Fatal(err)
	}
	spec := MachineSpec{Arch: "amd64", CPUs: 2, MemoryMiB: 2048, DiskGiB: 10, Driver: "qemu"}
	if _, _, _, err := Prepare(m, spec); err != nil {
		t.Fatal(err)
	}
	if got := machineDriver(m, ""); got != "qemu" {
		t.Errorf("the driver of a machine made with qemu, none asked: %q", got)
	}
	other := spec
	other.Driver = "wsl2"
	if _, _, _, err := Prepare(m, other); err == nil || !strings.Contains(err.Error(), "created with the qemu driver, not wsl2") {
		t.Errorf("another driver for the machine: %v, want a refusal naming both", err)
	}
	none := spec
	none.Driver = ""
	if got, _, changes, err := Prepare(m, none); err != nil || got.Driver != "qemu" || len(changes) != 0 {
		t.Errorf("no driver asked: %+v %v %v, want qemu kept and no change", got, changes, err)
	}

	// A machine.json without a driver (made before drivers were recorded).
	old := spec
	old.Driver = ""
	if err := writeSpec(m, old); err != nil {
		t.Fatal(err)
	}
	if _, _, changes, err := Prepare(m, spec); err != nil || len(changes) != 1 || RecordedDriver(m) != "qemu" {
		t.Errorf("recording the driver of an old machine: %v %v, recorded %q", changes, err, RecordedDriver(m))
	}
}

// The machine keeps the architecture it was created with, as it keeps its
// driver: a config that names another is refused by name, one that names
// none gets it, and a new machine without one is the host's.
func TestMachineKeepsItsArch(t *testing.T) {
	m, err := store.Open(t.TempDir(), "default")
	if err != nil {
		t.Fatal(err)
	}
	if got := MachineArch(m, ""); got != runtime.GOARCH {
		t.Errorf("arch of a machine not made yet, none asked: %q, want the host's", got)
	}
	if got := MachineArch(m, "arm64"); got != "arm64" {
		t.Errorf("arch of a machine not made yet, arm64 asked: %q", got)
	}
	spec := MachineSpec{Arch: "arm64", CPUs: 2, MemoryMiB: 2048, DiskGiB: 10}
	got, created, _, err := Prepare(m, spec)
	if err != nil || !created || got.Arch != "arm64" {
		t.Fatalf("creating an arm64 machine: %+v %v %v", got, created, err)
	}
	if got := MachineArch(m, "amd64"); got != "arm64" {
		t.Errorf("arch of an arm64 machine, amd64 asked: %q, want the machine's", got)
	}
	other := spec
	other.Arch = "amd64"
	if _, _, _, err := Prepare(m, other); err == nil || !strings.Contains(err.Error(), "arch: the machine was created for arm64, not amd64") {
		t.Errorf("another arch for the machine: %v, want a refusal naming the field and both", err)
	}
	none := spec
	none.Arch = ""
	if got, _, changes, err := Prepare(m, none); err != nil || got.Arch != "arm64" || len(changes) != 0 {
		t.Errorf("no arch asked: %+v %v %v, want arm64 kept and no change", got, changes, err)
	}

	fresh, err := store.Open(t.TempDir(), "default")
	if err != nil {
		t.Fatal(err)
	}
	if got, _, _, err := Prepare(fresh, none); err != nil || got.Arch != runtime.GOARCH {
		t.Errorf("a new machine, no arch asked: %+v %v, want the host's", got, err)
	}
	bad, err := store.Open(t.TempDir(), "default")
	if err != nil {
		t.Fatal(err)
	}
	other.Arch = "mips"
	if _, _, _, err := Prepare(bad, other); err == nil || !strings.Contains(err.Error(), `arch: "mips"`) {
		t.Errorf("a new machine for mips: %v", err)
	}
}

// The guest image must be the machine's architecture; the image's
// virtiofsd is used only on a host of the architecture it was built for.
func TestImageArch(t *testing.T) {
	man := &kernel.Manifest{Arch: "amd64"}
	if err := checkImageArch(man, "/img/amd64", "amd64"); err != nil {
		t.Error(err)
	}
	err := checkImageArch(man, "/img/amd64", "arm64")
	if err == nil || !strings.Contains(err.Error(), "/img/amd64 is for amd64, and the machine is arm64") || !strings.Contains(err.Error(), "make image ARCH=arm64") {
		t.Errorf("an amd64 image for an arm64 machine: %v", err)
	}

	prog := &kernel.HostProgram{Path: "virtiofsd/usr/libexec/virtiofsd", Loader: "virtiofsd/ld.so", LibraryPath: "virtiofsd/lib"}
	arm := &kernel.Manifest{Arch: "arm64", Virtiofsd: prog}
	// An image from before the host's architecture was recorded: its
	// virtiofsd is the guest's architecture.
	if p := bundledVirtiofsd("/img", arm, "amd64"); p != nil {
		t.Errorf("an unrecorded arm64 virtiofsd on an amd64 host: %+v, want none", p)
	}
	if p := bundledVirtiofsd("/img", arm, "arm64"); p == nil || p.Path != filepath.Join("/img", "virtiofsd/usr/libexec/virtiofsd") {
		t.Errorf("an unrecorded arm64 virtiofsd on an arm64 host: %+v", p)
	}
	prog.Arch = "amd64" // an arm64 image built on an amd64 host
	if p := bundledVirtiofsd("/img", arm, "amd64"); p == nil || p.Loader != filepath.Join("/img", "virtiofsd/ld.so") {
		t.Errorf("an amd64 virtiofsd in an arm64 image on an amd64 host: %+v", p)
	}
	if p := bundledVirtiofsd("/img", arm, "arm64"); p != nil {
		t.Errorf("an amd64 virtiofsd on an arm64 host: %+v, want none", p)
	}
}
