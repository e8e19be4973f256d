package hyperv

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth-dev/berth/guest/guestconfig"
	"github.com/berth-dev/berth/vm"
)

const (
	testSID  = "S-1-5-21-3623811015-3361044348-30300820-1013"
	testVMID = "5e0c3e1a-9b1c-4d6e-8f3a-2b7c1d0e9f4a"
)

// fakeManager is berth-service as the driver sees it: machines by user and
// name. It is not the service; it records the requests.
type fakeManager struct {
	mu       sync.Mutex
	running  map[string]bool
	requests []MachineRequest
	sids     []string
	startErr error
}

func newFakeManager() *fakeManager { return &fakeManager{running: map[string]bool{}} }

func (f *fakeManager) Start(_ context.Context, sid string, req MachineRequest) (MachineState, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, req)
	f.sids = append(f.sids, sid)
	if f.startErr != nil {
		return MachineState{}, f.startErr
	}
	if err := req.Validate(); err != nil {
		return MachineState{}, err
	}
	f.running[sid+"/"+req.Machine] = true
	return MachineState{State: StateRunning, VMID: testVMID}, nil
}

func (f *fakeManager) Stop(_ context.Context, sid, machine string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.running, sid+"/"+machine)
	return nil
}

func (f *fakeManager) State(_ context.Context, sid, machine string) (MachineState, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.running[sid+"/"+machine] {
		return MachineState{State: StateRunning, VMID: testVMID}, nil
	}
	return MachineState{State: StateAbsent}, nil
}

// fakeHvsock answers a dial to the link port of testVMID once listening
// is set, with one end of a pipe whose other end it keeps.
type fakeHvsock struct {
	mu        sync.Mutex
	listening bool
	dials     []string
	peers     []net.Conn
}

func (h *fakeHvsock) DialHvsock(_ context.Context, vmID string, port uint32) (net.Conn, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.dials = append(h.dials, vmID)
	if !h.listening || vmID != testVMID || port != LinkPort {
		return nil, errors.New("connection refused")
	}
	a, b := net.Pipe()
	h.peers = append(h.peers, b)
	return a, nil
}

func (h *fakeHvsock) listen() {
	h.mu.Lock()
	h.listening = true
	h.mu.Unlock()
}

func testMachine() *vm.Machine {
	return &vm.Machine{Name: "default", Arch: "amd64", CPUs: 2, MemoryMiB: 2048, Kernel: "vmlinuz"}
}

func TestDriverStartsThroughTheService(t *testing.T) {
	mgr, hv := newFakeManager(), &fakeHvsock{}
	d, err := NewDriver(testMachine(), mgr, testSID, hv)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.DialLink(context.Background()); !errors.Is(err, vm.ErrNotRunning) {
		t.Fatalf("DialLink before the start: %v", err)
	}
	if err := d.Start(context.Background()); err == nil || !strings.Contains(err.Error(), "EnsureDataDisk") {
		t.Fatalf("a start without the disk's size: %v", err)
	}
	if err := d.EnsureDataDisk(`C:\ignored\data.img`, 64); err != nil {
		t.Fatal(err)
	}
	// The guest listens a little after the VM started.
	time.AfterFunc(700*time.Millisecond, hv.listen)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := d.Start(ctx); err != nil {
		t.Fatal(err)
	}
	want := MachineRequest{Machine: "default", CPUs: 2, MemoryMiB: 2048, DiskGiB: 64}
	if len(mgr.requests) != 1 || !reflect.DeepEqual(mgr.requests[0], want) || mgr.sids[0] != testSID {
		t.Fatalf("requests %+v for %v", mgr.requests, mgr.sids)
	}
	if len(hv.dials) < 2 {
		t.Errorf("dials = %v: want the link dialed until the guest listened", hv.dials)
	}
	conn, err := d.DialLink(ctx)
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
	if info := d.Info(); info.Driver != "hyperv" || info.Accelerator != "hyperv" {
		t.Errorf("info = %+v", info)
	}

	// A second agent adopts it.
	d2, _ := NewDriver(testMachine(), mgr, testSID, hv)
	if err := d2.Adopt(ctx); err != nil {
		t.Fatal(err)
	}
	if conn, err := d2.DialLink(ctx); err != nil {
		t.Fatal(err)
	} else {
		conn.Close()
	}

	if err := d.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := d2.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := d.DialLink(ctx); !errors.Is(err, vm.ErrNotRunning) {
		t.Fatalf("DialLink after the stop: %v", err)
	}
	if err := d2.Adopt(ctx); !errors.Is(err, vm.ErrNotRunning) {
		t.Fatalf("Adopt of a stopped machine: %v", err)
	}
}

func TestDriverStartFailures(t *testing.T) {
	mgr, hv := newFakeManager(), &fakeHvsock{}
	d, _ := NewDriver(testMachine(), mgr, testSID, hv)
	_ = d.EnsureDataDisk("", 8)
	mgr.startErr = errors.New("the Hyper-V feature is off")
	err := d.Start(context.Background())
	if err == nil || !strings.Contains(err.Error(), "berth-service could not start") || !strings.Contains(err.Error(), "feature is off") {
		t.Fatalf("start: %v", err)
	}
	// The VM runs but the guest never listens: the start ends with ctx.
	mgr.startErr = nil
	ctx, cancel := context.WithTimeout(context.Background(), 1200*time.Millisecond)
	defer cancel()
	err = d.Start(ctx)
	if err == nil || !strings.Contains(err.Error(), "to listen on vsock port 6215") {
		t.Fatalf("start of a silent guest: %v", err)
	}
}

func TestDriverRefusesBadInput(t *testing.T) {
	mgr := newFakeManager()
	if _, err := NewDriver(testMachine(), mgr, "not-a-sid", &fakeHvsock{}); err == nil || !strings.Contains(err.Error(), "not a SID") {
		t.Errorf("bad SID: %v", err)
	}
	if _, err := NewDriver(testMachine(), nil, testSID, &fakeHvsock{}); err == nil || !strings.Contains(err.Error(), "berth-service") {
		t.Errorf("no service: %v", err)
	}
	m := testMachine()
	m.Name = "Bad Name"
	if _, err := NewDriver(m, mgr, testSID, &fakeHvsock{}); err == nil || !strings.Contains(err.Error(), "machine name") {
		t.Errorf("bad name: %v", err)
	}
	d, _ := NewDriver(testMachine(), mgr, testSID, &fakeHvsock{})
	if err := d.EnsureDataDisk("", 0); err == nil || !strings.Contains(err.Error(), "disk: 0 GiB") {
		t.Errorf("no disk size: %v", err)
	}
	if err := d.GrowDataDisk("", 128); err != nil {
		t.Errorf("grow: %v", err)
	}
	if r, err := d.request(); err != nil || r.DiskGiB != 128 {
		t.Errorf("the request after a grow: %+v %v", r, err)
	}
	if err := d.GrowDataDisk("", MaxDiskGiB+1); err == nil {
		t.Error("a grow past a VHDX's size was taken")
	}
}

func TestMachineRequestValidate(t *testing.T) {
	good := MachineRequest{Machine: "work", CPUs: 4, MemoryMiB: 4096, DiskGiB: 100}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	err := MachineRequest{Machine: "C:\\x", CPUs: 0, MemoryMiB: 1, DiskGiB: -1}.Validate()
	for _, w := range []string{"machine:", "cpus: 0", "memoryMiB: 1", "diskGiB: -1"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("error %v does not say %q", err, w)
		}
	}
}

func TestCapabilities(t *testing.T) {
	for _, goos := range []string{"windows", "linux", "darwin"} {
		f := Factory(nil)
		c := f.Capabilities(goos)
		if f.Name != DriverName || c.Boot != vm.BootService {
			t.Errorf("%s: %s boots %q", goos, f.Name, c.Boot)
		}
		if c.Links[0] != (vm.LinkSpec{Link: vm.LinkHvsock, Listener: vm.PartyGuest}) || c.DataDisk.Format != vm.DiskVHDX || c.DataDisk.CreatedBy != vm.PartyDriver || !c.SurvivesAgent {
			t.Errorf("%s: %+v", goos, c)
		}
	}
}

func TestFactoryWithoutServiceIsUnavailable(t *testing.T) {
	f := Factory(nil)
	if err := f.Available(); !errors.Is(err, ErrNoService) {
		t.Errorf("available: %v", err)
	}
	if _, err := f.New(testMachine()); !errors.Is(err, ErrNoService) {
		t.Errorf("new: %v", err)
	}
	connected := 0
	f = Factory(func() (Manager, error) { connected++; return newFakeManager(), nil })
	d, err := f.New(testMachine())
	if connected != 1 {
		t.Errorf("the service was connected %d times", connected)
	}
	// Windows: a driver for this process's user; elsewhere: none, saying why.
	if runtime.GOOS == "windows" {
		if err != nil || d == nil || f.Available() != nil {
			t.Errorf("new: %v %v, available: %v", d, err, f.Available())
		}
	} else if err == nil || f.Available() == nil || !strings.Contains(err.Error(), "Windows only") {
		t.Errorf("new: %v, available: %v", err, f.Available())
	}
}

func TestVsockServiceID(t *testing.T) {
	if got := VsockServiceID(6215); got != "00001847-facb-11e6-bd58-64006a7986d3" {
		t.Errorf("VsockServiceID(6215) = %s", got)
	}
}

// The engine's settings of the agent's guest config for this boot
// (vm.BootService) go with the request; a config that does not load, or
// one the service would refuse, stops the start before the service is
// asked.
func TestRequestCarriesTheGuestSettings(t *testing.T) {
	dir := t.TempDir()
	cfg := guestconfig.Default()
	cfg.Engine.DaemonJSON = json.RawMessage(`{"registry-mirrors":["https://mirror.example"]}`)
	cfg.Network.DNS = []string{"192.0.2.53"}
	cfg.Shares = []guestconfig.Share{{Tag: "s0", Path: "/c/Users"}}
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "guest.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	m := testMachine()
	m.GuestConfig = path
	m.Shares, m.FileSharing = []vm.Share{{Tag: "s0", HostPath: `C:\Users`}}, vm.ShareSFTP
	mgr := newFakeManager()
	d, err := NewDriver(m, mgr, testSID, &fakeHvsock{})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.EnsureDataDisk(`C:\ignored\data.img`, 64); err != nil {
		t.Fatal(err)
	}
	req, err := d.request()
	if err != nil {
		t.Fatal(err)
	}
	// The shares go as the guest sees them (tag, mount point): the agent
	// serves their folders itself, over SFTP.
	want := GuestSettings{DaemonJSON: cfg.Engine.DaemonJSON, StopTimeout: cfg.Engine.StopTimeout, DNS: cfg.Network.DNS, Shares: cfg.Shares}
	if !reflect.DeepEqual(req.Guest, want) {
		t.Errorf("guest settings %+v, want %+v", req.Guest, want)
	}
	if got := req.Guest.Apply(guestconfig.HyperV(guestconfig.Default())); got.FileSharing != guestconfig.FileSharingSFTP || len(got.Shares) != 1 {
		t.Errorf("the service's guest config: fileSharing %q, shares %v", got.FileSharing, got.Shares)
	}
	if d.Info().FileSharing != vm.ShareSFTP {
		t.Errorf("info %+v", d.Info())
	}
	for _, bad := range []struct{ file, want string }{
		{`not json`, "guest config"},
		{`{"engine":{"daemonJSON":{"hosts":["tcp://0.0.0.0:2375"]}}}`, `"hosts" is set by the guest`},
		{`{"shares":[{"tag":"s0","path":"C:\\Users"}]}`, "shares[0].path"},
	} {
		if err := os.WriteFile(path, []byte(bad.file), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := d.request(); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("config %s: %v, want %q", bad.file, err, bad.want)
		}
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if _, err := d.request(); err == nil || !strings.Contains(err.Error(), "guest config") {
		t.Errorf("no config file: %v", err)
	}
}
