package hostagent

import (
	"fmt"
	"os"
	"strings"
	"testing"

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
