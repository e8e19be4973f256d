package qemu

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/berth-dev/berth/vm"
)

// adoptable lays out a machine directory as a QEMU run leaves it: a
// pidfile naming a live process (this test), its record, its monitor.
func adoptable(t *testing.T, status string, recordPID int) *Driver {
	t.Helper()
	sock := fakeMonitor(t, status)
	dir := filepath.Dir(sock)
	d, err := New(&vm.Machine{Name: "m", StateDir: dir, Network: vm.Network{Socket: filepath.Join(dir, "net.sock")}})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(d.files.PID, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	rec := vm.Info{Driver: "qemu", Accelerator: "tcg", PID: recordPID, FileSharing: "virtiofs"}
	if err := writeJSONFile(d.files.Info, rec); err != nil {
		t.Fatal(err)
	}
	return d
}

func TestAdoptRunningVM(t *testing.T) {
	d := adoptable(t, "running", os.Getpid())
	if err := d.Adopt(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := d.Info(); got.PID != os.Getpid() || got.Accelerator != "tcg" || got.FileSharing != "virtiofs" {
		t.Fatalf("adopted info %+v", got)
	}
	if pid, alive := d.RunningPID(); !alive || pid != os.Getpid() {
		t.Fatalf("RunningPID = %d, %v", pid, alive)
	}
}

// A VM the resource saver of an agent that died left paused is resumed
// and adopted; Pause and Resume go through the monitor and check the run
// state they lead to.
func TestAdoptPausedVMAndPauseResume(t *testing.T) {
	d := adoptable(t, "paused", os.Getpid())
	if err := d.Adopt(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st, err := queryStatus(d.files.QMP); err != nil || st != "running" {
		t.Fatalf("after adopting a paused VM: %q, %v; want it running", st, err)
	}
	if err := d.Pause(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st, _ := queryStatus(d.files.QMP); st != "paused" {
		t.Fatalf("after Pause: %q", st)
	}
	if err := d.Resume(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st, _ := queryStatus(d.files.QMP); st != "running" {
		t.Fatalf("after Resume: %q", st)
	}
	// A VM stopped on an error does not resume by cont: Resume says so.
	d = adoptable(t, "internal-error", os.Getpid())
	if err := d.Resume(context.Background()); err == nil || !strings.Contains(err.Error(), "the VM is internal-error, not running") {
		t.Fatalf("Resume of a failed VM: %v", err)
	}
}

func TestAdoptRefusals(t *testing.T) {
	for _, tt := range []struct {
		name, status string
		recordPID    int
		prep         func(d *Driver)
		want         string
	}{
		{"stopped VM", "running", os.Getpid(), func(d *Driver) { os.Remove(d.files.PID) }, "not running"},
		{"no record", "running", os.Getpid(), func(d *Driver) { os.Remove(d.files.Info) }, "record is unreadable"},
		{"record of another QEMU", "running", 1, nil, "names pid 1"},
		{"paused on an error", "internal-error", os.Getpid(), nil, "is internal-error"},
		{"no monitor", "running", os.Getpid(), func(d *Driver) { d.files.QMP = filepath.Join(t.TempDir(), "none.sock") }, "does not answer"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d := adoptable(t, tt.status, tt.recordPID)
			if tt.prep != nil {
				tt.prep(d)
			}
			err := d.Adopt(context.Background())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Adopt = %v, want %q", err, tt.want)
			}
			if tt.name == "stopped VM" && !errors.Is(err, vm.ErrNotRunning) {
				t.Errorf("a stopped VM is not ErrNotRunning: %v", err)
			}
			if d.Info().PID != 0 {
				t.Errorf("a refused adoption set the info: %+v", d.Info())
			}
		})
	}
}
