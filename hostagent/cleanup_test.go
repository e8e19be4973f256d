package hostagent

import (
	"context"
	"os"
	"runtime"
	"strconv"
	"testing"

	"github.com/berth-dev/berth/store"
	"github.com/berth-dev/berth/vm"
)

// A binary that cannot make the machine's driver must not take the live
// VM's files for stale ones: the tray once removed qemu.pid of a QEMU that
// still ran, and the next start could not see that VM any more.
func TestCleanupLeavesTheDriversFilesWhenItCannotAsk(t *testing.T) {
	m := store.Machine{Name: "default", Dir: t.TempDir()}
	if err := writeSpec(m, defaultSpec(2, runtime.GOARCH)); err != nil {
		t.Fatal(err)
	}
	pid := m.Path("qemu.pid")
	if err := os.WriteFile(pid, []byte(strconv.Itoa(os.Getpid())), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Cleanup(context.Background(), Options{Machine: m, Driver: "no-such-driver"})
	if err == nil {
		t.Fatal("cleanup without the machine's driver succeeded")
	}
	if _, err := os.Stat(pid); err != nil {
		t.Fatalf("the VM's pidfile was removed: %v", err)
	}
}

// Cleanup removes the driver's runtime files once the driver says no VM
// runs, and only those the driver declares.
func TestCleanupRemovesTheDriversStaleFiles(t *testing.T) {
	m := store.Machine{Name: "default", Dir: t.TempDir()}
	if err := writeSpec(m, defaultSpec(2, runtime.GOARCH)); err != nil {
		t.Fatal(err)
	}
	_, caps, err := vm.CapabilitiesOf("qemu", runtime.GOOS)
	if err != nil {
		t.Fatal(err)
	}
	// A pid that no process has: the VM is gone.
	for _, f := range []string{"qemu.pid", "qmp.sock", "vfs0.sock", "qemu.log"} {
		if err := os.WriteFile(m.Path(f), []byte("999999999"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	found, err := Cleanup(context.Background(), Options{Machine: m, Driver: "qemu"})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"qemu.pid", "qmp.sock", "vfs0.sock"} {
		if _, err := os.Stat(m.Path(f)); !os.IsNotExist(err) {
			t.Errorf("%s left behind (%v); found %v", f, err, found)
		}
	}
	if _, err := os.Stat(m.Path("qemu.log")); err != nil {
		t.Errorf("the driver's log was removed: %v (its logs are %v)", err, caps.LogFiles)
	}
}

// The vz helper's files, and the agent's end of its link, left by a helper
// and an agent that died, go; the helper's log stays.
func TestCleanupRemovesTheVZHelpersStaleFiles(t *testing.T) {
	m := store.Machine{Name: "default", Dir: t.TempDir()}
	if err := writeSpec(m, defaultSpec(2, runtime.GOARCH)); err != nil {
		t.Fatal(err)
	}
	files := []string{"vz.pid", "vz.json", "vz.sock", "vz-spec.json", store.NetSock, store.LinkSock}
	for _, f := range append(files, "vz.log") {
		if err := os.WriteFile(m.Path(f), []byte("999999999"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	found, err := Cleanup(context.Background(), Options{Machine: m, Driver: "vz"})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if _, err := os.Stat(m.Path(f)); !os.IsNotExist(err) {
			t.Errorf("%s left behind (%v); found %v", f, err, found)
		}
	}
	if _, err := os.Stat(m.Path("vz.log")); err != nil {
		t.Errorf("the helper's log was removed: %v", err)
	}
}
