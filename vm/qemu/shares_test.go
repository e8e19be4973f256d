package qemu

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/proc"
	"github.com/berth-dev/berth/vm"
)

func TestShareArgs(t *testing.T) {
	m := &vm.Machine{MemoryMiB: 1024, StateDir: "/s,d", Shares: []vm.Share{{Tag: "berth0", HostPath: "/home/me"}, {Tag: "berth1", HostPath: "/ro", ReadOnly: true}}}
	got := strings.Join(shareArgs(m, shareVirtiofs), " ")
	want := "-device pcie-root-port,id=vfsport0,chassis=16,bus=pcie.0 -chardev socket,id=vfs0,path=" + escapeOpt(filepath.Join("/s,d", "vfs0.sock")) +
		" -device vhost-user-fs-pci,id=vfsdev0,chardev=vfs0,tag=berth0,bus=vfsport0 " +
		"-device pcie-root-port,id=vfsport1,chassis=17,bus=pcie.0 -chardev socket,id=vfs1,path=" + escapeOpt(filepath.Join("/s,d", "vfs1.sock")) +
		" -device vhost-user-fs-pci,id=vfsdev1,chardev=vfs1,tag=berth1,bus=vfsport1"
	if got != want {
		t.Errorf("virtiofs:\n%s\nwant\n%s", got, want)
	}
	// A restored VM: the ports and sockets, the devices plugged later
	// with the same properties.
	restore := strings.Join(shareArgsWith(m, shareVirtiofs, false), " ")
	if strings.Contains(restore, "vhost-user-fs-pci") || !strings.Contains(restore, "id=vfsport1") || !strings.Contains(restore, "id=vfs1,") {
		t.Errorf("restore arguments: %s", restore)
	}
	if d := shareDevices(m)[1].arg(); d != "vhost-user-fs-pci,id=vfsdev1,chardev=vfs1,tag=berth1,bus=vfsport1" {
		t.Errorf("device of share 1: %v", d)
	}
	// The guest kernel has no 9p: without virtiofs, QEMU gets no share
	// device at all (a -virtfs device would share nothing).
	if got := shareArgs(m, ""); got != nil {
		t.Errorf("no sharing method: %q, want no arguments", got)
	}
	if shareArgs(&vm.Machine{}, shareVirtiofs) != nil {
		t.Error("no shares, no arguments")
	}
}

func TestSharedRAMArgs(t *testing.T) {
	ram := "-object memory-backend-memfd,id=mem,size=1024M,share=on -numa node,memdev=mem"
	shares := []vm.Share{{Tag: "berth0", HostPath: "/home/me"}}
	for _, tc := range []struct {
		name   string
		link   vm.Link
		shares []vm.Share
		mode   string
		want   string
	}{
		{"stream link, no shares", vm.LinkStream, nil, "", ""},
		{"stream link, virtiofs", vm.LinkStream, shares, shareVirtiofs, ram},
		{"stream link, shares not served", vm.LinkStream, shares, "", ""},
		{"vhost-user link, no shares", vm.LinkVhostUser, nil, "", ram},
		{"vhost-user link, virtiofs", vm.LinkVhostUser, shares, shareVirtiofs, ram},
	} {
		m := &vm.Machine{MemoryMiB: 1024, Shares: tc.shares, Network: vm.Network{Link: tc.link}}
		if got := strings.Join(sharedRAMArgs(m, tc.mode), " "); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestChooseSharing(t *testing.T) {
	bundled := &vm.Program{Path: "/img/virtiofsd/usr/libexec/virtiofsd", Loader: "/img/ld.so", LibraryPath: "/img/lib"}
	const cVfsd, rustVfsd = "/usr/lib/qemu/virtiofsd", "/usr/libexec/virtiofsd"
	broken := errors.New("exit status 127")
	cases := []struct {
		name string
		h    virtiofsdHost
		// want: the daemon's path ("" none), Rust or not, unprivileged,
		// the mode, and words the note must contain ("" for no note).
		prog               string
		rust, unprivileged bool
		mode, note         string
	}{
		{"bundled, root", virtiofsdHost{goos: "linux", bundled: bundled, system: cVfsd, root: true},
			bundled.Path, true, false, shareVirtiofs, ""},
		{"bundled, user", virtiofsdHost{goos: "linux", bundled: bundled, system: cVfsd, uid: 1000, gid: 1000},
			bundled.Path, true, true, shareVirtiofs, ""},
		{"bundled preferred to the host's Rust one", virtiofsdHost{goos: "linux", bundled: bundled, system: rustVfsd, systemRust: true},
			bundled.Path, true, true, shareVirtiofs, ""},
		{"no bundled, C daemon, root (as before)", virtiofsdHost{goos: "linux", system: cVfsd, root: true},
			cVfsd, false, false, shareVirtiofs, ""},
		{"no bundled, C daemon, user", virtiofsdHost{goos: "linux", system: cVfsd},
			"", false, false, "", "has no virtiofsd of its own (rebuild it: make image), and /usr/lib/qemu/virtiofsd (QEMU's C virtiofsd) runs as root only"},
		{"bundled broken, C daemon, user", virtiofsdHost{goos: "linux", bundled: bundled, bundledErr: broken, system: cVfsd},
			"", false, false, "", "does not run here (exit status 127)"},
		{"bundled broken, C daemon, root", virtiofsdHost{goos: "linux", bundled: bundled, bundledErr: broken, system: cVfsd, root: true},
			cVfsd, false, false, shareVirtiofs, "does not run here (exit status 127); using /usr/lib/qemu/virtiofsd"},
		{"no bundled, host Rust daemon, user", virtiofsdHost{goos: "linux", system: rustVfsd, systemRust: true},
			rustVfsd, true, true, shareVirtiofs, ""},
		{"nothing", virtiofsdHost{goos: "linux"},
			"", false, false, "", "the host has none"},
		{"macOS", virtiofsdHost{goos: "darwin", bundled: bundled},
			"", false, false, "", "Linux hosts only"},
	}
	for _, c := range cases {
		d, mode, note := chooseSharing(c.h)
		prog := ""
		if d != nil {
			prog = d.prog.Path
			if d.rust != c.rust || d.unprivileged != c.unprivileged {
				t.Errorf("%s: rust %v unprivileged %v, want %v %v", c.name, d.rust, d.unprivileged, c.rust, c.unprivileged)
			}
		}
		if prog != c.prog || mode != c.mode {
			t.Errorf("%s: %q %q, want %q %q", c.name, prog, mode, c.prog, c.mode)
		}
		if (c.note == "") != (note == "") || !strings.Contains(note, c.note) {
			t.Errorf("%s: note %q, want one with %q", c.name, note, c.note)
		}
		if mode == "" && !strings.Contains(note, "not shared") {
			t.Errorf("%s: the note does not say that folders are not shared: %q", c.name, note)
		}
	}
}

func TestVirtiofsdArgs(t *testing.T) {
	rw, ro := vm.Share{Tag: "berth0", HostPath: "/home/me"}, vm.Share{Tag: "berth1", HostPath: "/data", ReadOnly: true}
	bundled := vm.Program{Path: "/i/vfsd", Loader: "/i/ld.so", LibraryPath: "/i/lib"}

	c := &virtiofsd{prog: vm.Program{Path: "/usr/lib/qemu/virtiofsd"}}
	got := strings.Join(c.prog.Command(c.args("/s/vfs0.sock", rw)...), " ")
	if want := "/usr/lib/qemu/virtiofsd --socket-path=/s/vfs0.sock -o source=/home/me -o cache=auto -o timeout=0 -o log_level=warn"; got != want {
		t.Errorf("C daemon:\n%s\nwant\n%s", got, want)
	}

	root := &virtiofsd{prog: bundled, rust: true}
	got = strings.Join(root.prog.Command(root.args("/s/vfs1.sock", ro)...), " ")
	if !strings.HasPrefix(got, "/i/ld.so --library-path /i/lib /i/vfsd --socket-path=/s/vfs1.sock --shared-dir=/data ") ||
		!strings.Contains(got, " --sandbox=namespace") || !strings.Contains(got, " --readonly") || strings.Contains(got, "translate") {
		t.Errorf("Rust daemon as root, read-only share: %s", got)
	}

	user := &virtiofsd{prog: bundled, rust: true, unprivileged: true, uid: 1000, gid: 1001}
	got = strings.Join(user.args("/s/vfs0.sock", rw), " ")
	for _, want := range []string{"--sandbox=namespace", "--translate-uid=squash-guest:0:1000:4294967295", "--translate-gid=squash-guest:0:1001:4294967295"} {
		if !strings.Contains(got, want) {
			t.Errorf("Rust daemon as a user: %s lacks %s", got, want)
		}
	}
	if strings.Contains(got, "--readonly") {
		t.Errorf("read-write share made read-only: %s", got)
	}
}

// A stop of an earlier agent's VM returns once that agent's share daemons
// (their pid files next to their sockets) have exited, and waits no longer
// than its bound for one that does not.
func TestWaitSharesExit(t *testing.T) {
	dir := t.TempDir()
	// The share daemon's stand-in: this test binary, living half a second.
	daemon := exec.Command(os.Args[0], "-test.run=^TestShareDaemonStandIn$")
	daemon.Env = append(os.Environ(), envStandIn+"=500ms")
	if err := daemon.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = daemon.Wait(); close(exited) }()
	if err := os.WriteFile(filepath.Join(dir, "vfs0.sock.pid"), []byte(fmt.Sprintf("%d\n", daemon.Process.Pid)), 0o600); err != nil {
		t.Fatal(err)
	}
	// Not a share daemon's: never waited for.
	if err := os.WriteFile(filepath.Join(dir, "other.pid"), []byte(fmt.Sprint(os.Getpid())), 0o600); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	waitSharesExit(t.Context(), dir, 10*time.Second)
	took := time.Since(t0)
	if proc.Alive(daemon.Process.Pid) {
		t.Fatalf("returned after %s with the daemon still running", took)
	}
	if took < 200*time.Millisecond || took > 5*time.Second {
		t.Errorf("took %s for a daemon that ran 0.5s", took)
	}
	<-exited

	// One that outlives the bound (this test's own pid) costs the bound.
	if err := os.WriteFile(filepath.Join(dir, "vfs0.sock.pid"), []byte(fmt.Sprint(os.Getpid())), 0o600); err != nil {
		t.Fatal(err)
	}
	t0 = time.Now()
	waitSharesExit(t.Context(), dir, 300*time.Millisecond)
	if took := time.Since(t0); took < 300*time.Millisecond || took > 3*time.Second {
		t.Errorf("a daemon that does not exit: returned after %s, want the 300ms bound", took)
	}
}

// envStandIn makes TestShareDaemonStandIn, run as a process of its own, a
// stand-in for a share daemon that lives that long.
const envStandIn = "BERTH_TEST_SHARE_DAEMON"

func TestShareDaemonStandIn(t *testing.T) {
	d, err := time.ParseDuration(os.Getenv(envStandIn))
	if err != nil {
		t.Skip("a stand-in process for TestWaitSharesExit, not a test of its own")
	}
	time.Sleep(d)
}

func TestShareServerGone(t *testing.T) {
	alive := func(pid int) bool { return pid == 42 }
	for _, c := range []struct {
		name    string
		file    string
		readErr error
		want    string
	}{
		{"running", "42\n", nil, ""},
		{"exited", "43\n", nil, "its virtiofsd (pid 43) exited"},
		{"no pid file", "", os.ErrNotExist, ""},
		{"garbage", "virtiofsd", nil, ""},
		{"zero", "0", nil, ""},
	} {
		if got := shareServerGone([]byte(c.file), c.readErr, alive); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}
