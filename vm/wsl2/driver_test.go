package wsl2

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/guest/linkhello"
	"github.com/berth-dev/berth/internal/proc"
	"github.com/berth-dev/berth/vm"
	"github.com/berth-dev/berth/vm/wsl2/internal/fakewsl"
)

const (
	testMarker = "berth: guest init started"
	testVMID   = "3F2504E0-4F89-11D3-9A0C-0305E82C3301"
	testConfig = `C:\Users\u\.berth\default\guest.json`
)

func testMachine(t *testing.T) *vm.Machine {
	t.Helper()
	dir := t.TempDir()
	return &vm.Machine{
		Name: "default", Arch: "amd64", CPUs: 2, MemoryMiB: 2048,
		RootFS: testdataPath("list.utf8"), GuestConfig: testConfig,
		Network:    vm.Network{Socket: filepath.Join(dir, "net.sock"), MAC: "5a:94:ef:e4:0c:ee", Link: vm.LinkHvsock},
		ConsoleLog: filepath.Join(dir, "serial.log"), BootMarker: testMarker, StateDir: dir,
	}
}

// initArgs are the stand-in's args of the guest init and of wslinfo.
var (
	initCall    = []string{"-d", "berth-default", "-u", "root", "--exec", InitPath}
	wslinfoCall = []string{"-d", "berth-default", "-u", "root", "--exec", wslinfoPath}
)

// guestInit is a stand-in guest init that boots and stays until exitFile.
func guestInit(exitFile string) fakewsl.Reply {
	return fakewsl.Reply{Args: initCall, Print: "booting\n" + testMarker + "\n", StayUntil: exitFile}
}

func newTestDriver(t *testing.T, c *Client) (*Driver, *vm.Machine, *fakeHvsock) {
	t.Helper()
	m := testMachine(t)
	t.Cleanup(func() {
		// Under Wine a killed stand-in's handles (the console log it
		// writes) are let go a moment after its exit: the temporary
		// folder's removal would meet a sharing violation.
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if err := os.Remove(m.ConsoleLog); err == nil || errors.Is(err, os.ErrNotExist) {
				return
			}
		}
	})
	hv := &fakeHvsock{}
	d, err := newDriver(m, c, hv)
	if err != nil {
		t.Fatal(err)
	}
	hv.nonce = func() linkhello.Nonce {
		d.mu.Lock()
		defer d.mu.Unlock()
		return d.nonce
	}
	d.vms = &fakeVMs{}
	d.hello = 200 * time.Millisecond
	t.Cleanup(func() {
		if pid, done := d.running(); pid != 0 {
			_ = proc.Kill(pid)
			// The driver's notes and record go into StateDir as the init
			// exits: wait for them before t.TempDir is removed.
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Error("the stand-in guest init did not exit after a kill")
			}
		}
	})
	return d, m, hv
}

func TestDriverStartDialStop(t *testing.T) {
	ctx := context.Background()
	exitFile := filepath.Join(t.TempDir(), "terminated")
	c, s := newScene(t,
		reply("no-distros", -1, "-l"),
		reply("import-ok", 0, "--import"),
		guestInit(exitFile),
		fakewsl.Reply{Args: wslinfoCall, Print: testVMID + "\n"},
		fakewsl.Reply{Args: []string{"--terminate"}, Touch: exitFile},
	)
	d, m, hv := newTestDriver(t, c)
	if err := d.Start(ctx); err != nil {
		t.Fatal(err)
	}
	info := d.Info()
	if info.Driver != "wsl2" || info.Accelerator != "hyperv" || info.PID <= 0 || info.FileSharing != "wsl-drvfs" {
		t.Errorf("Info = %+v", info)
	}
	if _, err := os.Stat(filepath.Join(m.StateDir, recordFile)); err != nil {
		t.Errorf("the record while the init runs: %v", err)
	}
	for range 2 {
		conn, err := vm.DialLink(ctx, d)
		if err != nil {
			t.Fatal(err)
		}
		conn.Close()
	}
	if got := hv.dialed(); !slices.Equal(got, []string{strings.ToLower(testVMID), strings.ToLower(testVMID)}) || hv.port != LinkPort("berth-default") {
		t.Errorf("dialed %q on port %d, want VM %s port %d twice", got, hv.port, strings.ToLower(testVMID), LinkPort("berth-default"))
	}
	// The guest did not power off: Stop waits until ctx ends, then
	// terminates the distro, which ends the init.
	stopCtx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	if err := d.Stop(stopCtx); err != nil {
		t.Fatalf("Stop = %v", err)
	}
	waitCtx, cancel2 := context.WithTimeout(ctx, 10*time.Second)
	defer cancel2()
	if err := d.Wait(waitCtx); err != nil && errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait = %v", err)
	}
	dir := filepath.Join(m.StateDir, distroDir)
	want := [][]string{
		{"-l", "-q"},
		ImportArgs("berth-default", dir, m.RootFS),
		append(slices.Clone(initCall), "--wsl", "--config", "/mnt/c/Users/u/.berth/default/guest.json", "--link", "vsock:1745591998"),
		append(slices.Clone(wslinfoCall), "--vm-id"), // once: the id is kept
		{"--terminate", "berth-default"},
	}
	if got := s.args(); !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("calls\n%q\nwant\n%q", got, want)
	}
	log, err := os.ReadFile(m.ConsoleLog)
	if err != nil || !strings.Contains(string(log), "booting\n"+testMarker) {
		t.Errorf("console log %q, %v", log, err)
	}
	if _, err := os.Stat(filepath.Join(m.StateDir, recordFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the record is left after the init exited: %v", err)
	}
	if _, err := vm.DialLink(ctx, d); !errors.Is(err, vm.ErrNotRunning) {
		t.Errorf("DialLink after the exit = %v, want ErrNotRunning", err)
	}
}

// An existing distro is not imported again; a guest that powered off
// itself is terminated all the same.
func TestDriverStartExistingDistro(t *testing.T) {
	exitFile := filepath.Join(t.TempDir(), "exit")
	c, s := newScene(t, reply("list", 0, "-l"), guestInit(exitFile), fakewsl.Reply{Args: []string{"--terminate"}})
	d, _, _ := newTestDriver(t, c)
	if err := d.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(exitFile, nil, 0o600); err != nil { // the guest powers off
		t.Fatal(err)
	}
	if err := d.Wait(context.Background()); err != nil {
		t.Errorf("Wait = %v", err)
	}
	if err := d.Stop(context.Background()); err != nil {
		t.Errorf("Stop = %v", err)
	}
	got := s.args()
	if len(got) != 3 || got[1][0] != "-d" || !slices.Equal(got[2], []string{"--terminate", "berth-default"}) {
		t.Errorf("calls %q", got)
	}
}

func TestDriverStartWithoutWSL(t *testing.T) {
	check := func(t *testing.T, d *Driver, m *vm.Machine) {
		t.Helper()
		err := d.Start(context.Background())
		if !errors.Is(err, ErrNotInstalled) || !strings.Contains(err.Error(), installCmd) {
			t.Fatalf("Start = %v, want ErrNotInstalled naming %q", err, installCmd)
		}
		if pid, _ := d.running(); pid != 0 {
			t.Error("a guest init runs")
		}
		for _, f := range []string{distroDir, recordFile} {
			if _, err := os.Stat(filepath.Join(m.StateDir, f)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("%s is left: %v", f, err)
			}
		}
	}
	t.Run("no wsl.exe", func(t *testing.T) {
		d, m, _ := newTestDriver(t, New(filepath.Join(t.TempDir(), "wsl.exe")))
		check(t, d, m)
	})
	t.Run("the inbox stub", func(t *testing.T) {
		c, s := newScene(t, oldReply("not-installed", -1))
		d, m, _ := newTestDriver(t, c)
		check(t, d, m)
		if got := s.args(); len(got) != 1 {
			t.Errorf("calls %q, want the list alone", got)
		}
	})
}

func TestDriverInitExitsBeforeMarker(t *testing.T) {
	c, _ := newScene(t, reply("list", 0, "-l"),
		fakewsl.Reply{Args: initCall, Print: "berth-init: mounting /mnt/data: no such device\n", Exit: 1},
		fakewsl.Reply{Args: []string{"--terminate"}})
	d, m, _ := newTestDriver(t, c)
	err := d.Start(context.Background())
	if err == nil || !strings.Contains(err.Error(), "exited before it ran") || !strings.Contains(err.Error(), "mounting /mnt/data: no such device") {
		t.Fatalf("Start = %v", err)
	}
	if err := d.Kill(); err != nil {
		t.Errorf("Kill = %v", err)
	}
	if _, err := os.Stat(filepath.Join(m.StateDir, recordFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the record is left: %v", err)
	}
}

func TestDriverStartCanceled(t *testing.T) {
	exit := filepath.Join(t.TempDir(), "never")
	c, _ := newScene(t, reply("list", 0, "-l"), withoutMarker(guestInit(exit)))
	d, _, _ := newTestDriver(t, c)
	// Under Wine a stand-in killed while it was still starting has been
	// seen to run on (holding the console log): it ends at this file.
	t.Cleanup(func() { _ = os.WriteFile(exit, nil, 0o600) })
	// Long enough for the stand-in to have started (under Wine that takes
	// a good part of a second): killing a Wine process still starting has
	// left its handles open for many seconds.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := d.Start(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Start = %v", err)
	}
	_, done := d.running()
	select {
	case <-done:
	default:
		t.Error("the guest init still runs")
	}
}

func TestDriverGrowDataDisk(t *testing.T) {
	c, s := newScene(t, reply("list", 0, "-l"), fakewsl.Reply{Args: []string{"--manage"}})
	d, _, _ := newTestDriver(t, c)
	if err := d.EnsureDataDisk("ignored", 64); err != nil {
		t.Fatal(err)
	}
	if err := d.GrowDataDisk("ignored", 96); err != nil {
		t.Fatal(err)
	}
	want := [][]string{{"-l", "-q"}, {"--manage", "berth-default", "--resize", "96GB"}}
	if got := s.args(); !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("calls %q, want %q", got, want)
	}
	// Not imported yet: nothing to grow.
	c, s = newScene(t, reply("no-distros", -1, "-l"))
	d, _, _ = newTestDriver(t, c)
	if err := d.GrowDataDisk("ignored", 96); err != nil || len(s.args()) != 1 {
		t.Errorf("GrowDataDisk before the import = %v, calls %q", err, s.args())
	}
}

func TestDriverRemove(t *testing.T) {
	c, s := newScene(t, reply("unregister-ok", 0, "--unregister"))
	d, _, _ := newTestDriver(t, c)
	if err := vm.Remove(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	if got := s.args(); len(got) != 1 || !slices.Equal(got[0], []string{"--unregister", "berth-default"}) {
		t.Errorf("calls %q", got)
	}
	c, _ = newScene(t, reply("distro-not-found", -1, "--unregister"))
	d, _, _ = newTestDriver(t, c)
	if err := d.Remove(context.Background()); err != nil {
		t.Errorf("Remove of a distro that is gone = %v", err)
	}
}

func TestCapabilities(t *testing.T) {
	for _, goos := range []string{"windows", "linux", "darwin"} {
		name, c, err := vm.CapabilitiesOf("wsl2", goos)
		if err != nil || name != "wsl2" {
			t.Fatalf("%s: %v", goos, err)
		}
		if c.Boot != vm.BootRootFS || c.DataDisk != (vm.DataDisk{Format: vm.DiskDistro, CreatedBy: vm.PartyDriver}) ||
			!slices.Equal(c.Links, []vm.LinkSpec{{Link: vm.LinkHvsock, Listener: vm.PartyGuest}}) || !c.SurvivesAgent {
			t.Errorf("%s: %+v", goos, c)
		}
	}
}

func TestNewOffWindows(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("WSL's own OS")
	}
	if _, err := vm.New("wsl2", testMachine(t)); !errors.Is(err, ErrWindowsOnly) {
		t.Errorf("New = %v", err)
	}
}

func TestStartNeedsRootFSAndDrivePath(t *testing.T) {
	d, m, _ := newTestDriver(t, New(filepath.Join(t.TempDir(), "wsl.exe")))
	m.GuestConfig = `\\server\share\guest.json`
	if err := d.Start(context.Background()); err == nil || !strings.Contains(err.Error(), "UNC") {
		t.Errorf("Start with a UNC config = %v", err)
	}
	m.RootFS = ""
	if err := d.Start(context.Background()); err == nil || !strings.Contains(err.Error(), "rootFS") {
		t.Errorf("Start without a rootFS = %v", err)
	}
}

// withoutMarker is the reply of an init that never prints the marker.
func withoutMarker(r fakewsl.Reply) fakewsl.Reply {
	r.Print = "booting\n"
	return r
}

// TestDriverAdopt: an init that an agent which died left running is
// adopted by a new driver of the same machine (a new agent): the same
// process, the same link nonce; Stop ends it. A record whose process is
// gone is no VM.
func TestDriverAdopt(t *testing.T) {
	ctx := context.Background()
	exitFile := filepath.Join(t.TempDir(), "terminated")
	c, _ := newScene(t,
		reply("list-running", 0, "-l", "-q", "--running"),
		reply("no-distros", -1, "-l"),
		reply("import-ok", 0, "--import"),
		guestInit(exitFile),
		fakewsl.Reply{Args: []string{"--terminate"}, Touch: exitFile},
	)
	d, m, _ := newTestDriver(t, c)
	if err := d.Start(ctx); err != nil {
		t.Fatal(err)
	}
	pid, _ := d.running()
	d.mu.Lock()
	nonce := d.nonce
	d.mu.Unlock()

	d2, err := newDriver(m, c, &fakeHvsock{})
	if err != nil {
		t.Fatal(err)
	}
	if got, alive := d2.RunningPID(); got != pid || !alive {
		t.Fatalf("RunningPID of the new driver = %d, %v; want %d alive", got, alive, pid)
	}
	if err := d2.Adopt(ctx); err != nil {
		t.Fatalf("Adopt = %v", err)
	}
	d2.mu.Lock()
	got := d2.nonce
	d2.mu.Unlock()
	if got != nonce || d2.Info().PID != pid {
		t.Errorf("adopted pid %d nonce %v; want %d %v", d2.Info().PID, got, pid, nonce)
	}
	stopCtx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	if err := d2.Stop(stopCtx); err != nil {
		t.Fatalf("Stop of the adopted init = %v", err)
	}
	waitCtx, cancel2 := context.WithTimeout(ctx, 10*time.Second)
	defer cancel2()
	if err := d2.Wait(waitCtx); err != nil {
		t.Fatalf("Wait = %v", err)
	}
	// The first driver's wait reaps the child; then the record is gone and
	// nothing is adopted.
	_, done := d.running()
	<-done
	d3, _ := newDriver(m, c, &fakeHvsock{})
	if err := d3.Adopt(ctx); !errors.Is(err, vm.ErrNotRunning) {
		t.Errorf("Adopt with no init = %v, want ErrNotRunning", err)
	}
	// A record of a process that is gone (or another process under the pid).
	rec := `{"distro":"berth-default","pid":` + strconv.Itoa(pid) + `,"identity":"not-this-one","nonce":"` + nonce.String() + `"}`
	if err := os.WriteFile(filepath.Join(m.StateDir, recordFile), []byte(rec), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, alive := d3.RunningPID(); alive {
		t.Error("a stale record's process counts as alive")
	}
	if err := d3.Adopt(ctx); !errors.Is(err, vm.ErrNotRunning) {
		t.Errorf("Adopt of a stale record = %v, want ErrNotRunning", err)
	}
}
