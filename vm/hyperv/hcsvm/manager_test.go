package hcsvm

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cavaliergopher/cpio"

	"github.com/berth-dev/berth/guest/guestconfig"
	"github.com/berth-dev/berth/vm/hyperv"
)

// fakeHCS is the Host Compute Service as the Manager sees it: compute
// systems by id, each with its document and state. It is not HCS: it
// checks the document only as JSON.
type fakeHCS struct {
	mu      sync.Mutex
	systems map[string]*fakeSystem
	calls   []string
	// failStart makes Start fail; deafGuest makes Shutdown change nothing
	// (a guest that ignores the request).
	failStart, deafGuest bool
}

type fakeSystem struct {
	doc   string
	state string
}

const fakeRuntimeID = "5e0c3e1a-9b1c-4d6e-8f3a-2b7c1d0e9f4a"

func newFakeHCS() *fakeHCS { return &fakeHCS{systems: map[string]*fakeSystem{}} }

func (f *fakeHCS) call(name, id string) (*fakeSystem, error) {
	f.calls = append(f.calls, name+" "+id)
	s, ok := f.systems[id]
	if !ok {
		return nil, errNotFound
	}
	return s, nil
}

func (f *fakeHCS) Create(_ context.Context, id, doc string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "create "+id)
	if _, ok := f.systems[id]; ok {
		return errors.New("already exists")
	}
	if !json.Valid([]byte(doc)) {
		return errors.New("invalid JSON")
	}
	f.systems[id] = &fakeSystem{doc: doc, state: "Created"}
	return nil
}

func (f *fakeHCS) Start(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, err := f.call("start", id)
	if err != nil {
		return err
	}
	if f.failStart {
		s.state = "Stopped"
		return errors.New("HRESULT 0x80370102: the virtual machine could not be started")
	}
	s.state = "Running"
	return nil
}

func (f *fakeHCS) Shutdown(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, err := f.call("shutdown", id)
	if err == nil && !f.deafGuest {
		s.state = "Stopped"
	}
	return err
}

func (f *fakeHCS) Terminate(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, err := f.call("terminate", id)
	if err == nil {
		s.state = "Stopped"
	}
	return err
}

func (f *fakeHCS) Close(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, err := f.call("close", id)
	if err == nil && s.state != "Running" {
		delete(f.systems, id)
	}
	return err
}

func (f *fakeHCS) Properties(_ context.Context, id string) (systemProperties, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.systems[id]
	if !ok {
		return systemProperties{}, errNotFound
	}
	b, _ := json.Marshal(map[string]any{"Id": id, "State": s.state, "RuntimeId": fakeRuntimeID, "Stopped": s.state == "Stopped"})
	return parseProperties(b)
}

func (f *fakeHCS) doc(id string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if s, ok := f.systems[id]; ok {
		return s.doc
	}
	return ""
}

// fileDisks makes a "VHDX" as a file holding its size, and counts.
type fileDisks struct {
	made, resized int
	fail          bool
}

func (d *fileDisks) SizeVHDX(path string) (uint64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	if len(b) != 4 {
		return 0, errors.New("not a VHDX")
	}
	return uint64(binary.BigEndian.Uint32(b)) << 30, nil
}

func (d *fileDisks) ResizeVHDX(path string, gib int) error {
	d.resized++
	return os.WriteFile(path, binary.BigEndian.AppendUint32(nil, uint32(gib)), 0o600)
}

func (d *fileDisks) CreateVHDX(path string, gib int) error {
	if !strings.HasSuffix(path, ".vhdx") {
		return errors.New("virtdisk wants a .vhdx name")
	}
	if d.fail {
		_ = os.WriteFile(path, []byte("half"), 0o600)
		return errors.New("the disk is full")
	}
	d.made++
	return os.WriteFile(path, binary.BigEndian.AppendUint32(nil, uint32(gib)), 0o600)
}

type testEnv struct {
	m      *manager
	hcs    *fakeHCS
	disks  *fileDisks
	images string
	data   string
}

func newTestEnv(t *testing.T) *testEnv {
	t.Helper()
	images, data := t.TempDir(), t.TempDir()
	for name, b := range map[string][]byte{
		"vmlinuz":       []byte("KERNEL"),
		"initramfs.img": []byte("BASE-INITRAMFS"),
		"rootfs.img":    bytes.Repeat([]byte{0xe4}, 4096),
	} {
		if err := os.WriteFile(filepath.Join(images, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	e := &testEnv{hcs: newFakeHCS(), disks: &fileDisks{}, images: images, data: data}
	e.m = newManager(runtime.GOOS, images, data, e.hcs, e.disks)
	e.m.stopTimeout = 2 * time.Second
	return e
}

var goodReq = hyperv.MachineRequest{Machine: "default", CPUs: 2, MemoryMiB: 2048, DiskGiB: 64}

func TestManagerStartMakesTheMachine(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	req := goodReq
	req.Guest = hyperv.GuestSettings{DaemonJSON: json.RawMessage(`{"registry-mirrors":["https://mirror.example"]}`), DNS: []string{"192.0.2.53"},
		Shares: []guestconfig.Share{{Tag: "berth0", Path: "/mnt/c/Users/me", ReadOnly: true}}}
	st, err := e.m.Start(ctx, testSID, req)
	if err != nil {
		t.Fatal(err)
	}
	if st.State != hyperv.StateRunning || st.VMID != fakeRuntimeID {
		t.Fatalf("state = %+v", st)
	}
	dir := filepath.Join(e.data, "machines", testSID, "default")
	// The data disk, made once, at the size asked.
	b, err := os.ReadFile(filepath.Join(dir, "data.vhdx"))
	if err != nil || binary.BigEndian.Uint32(b) != 64 {
		t.Fatalf("data disk: %v %x", err, b)
	}
	// The root disk: the image and a VHD footer.
	vhd, err := os.ReadFile(filepath.Join(e.data, "image", "rootfs.vhd"))
	if err != nil || len(vhd) != 4096+512 || string(vhd[4096:4104]) != "conectix" {
		t.Fatalf("root VHD: %v, %d bytes", err, len(vhd))
	}
	if size := binary.BigEndian.Uint64(vhd[4096+48:]); size != 4096 {
		t.Errorf("the VHD footer's size is %d, want the image's 4096", size)
	}
	// The initrd: the image's initramfs, then the service's Hyper-V config.
	cfg := readInitrdConfig(t, filepath.Join(dir, "initrd.img"), "BASE-INITRAMFS")
	if cfg.Root() != "/dev/sda" || cfg.DataDisk.Device != "/dev/sdb" || cfg.Link != "vsock:6215" {
		t.Errorf("guest config = root %s, data %s, link %q", cfg.Root(), cfg.DataDisk.Device, cfg.Link)
	}
	// The user's engine settings reach the guest; the rest is the service's.
	var daemon bytes.Buffer
	if err := json.Compact(&daemon, cfg.Engine.DaemonJSON); err != nil {
		t.Fatal(err)
	}
	if daemon.String() != `{"registry-mirrors":["https://mirror.example"]}` || !slices.Equal(cfg.Network.DNS, []string{"192.0.2.53"}) ||
		cfg.Engine.StopTimeout != guestconfig.Default().Engine.StopTimeout {
		t.Errorf("guest config engine %+v, dns %v", cfg.Engine, cfg.Network.DNS)
	}
	// The shares, as mount points the agent serves over SFTP.
	if cfg.FileSharing != guestconfig.FileSharingSFTP || !slices.Equal(cfg.Shares, req.Guest.Shares) {
		t.Errorf("guest config shares %v over %q", cfg.Shares, cfg.FileSharing)
	}
	// The document names the machine's own files and the caller's SID.
	id := computeSystemID(testSID, "default")
	doc := e.hcs.doc(id)
	for _, w := range []string{jsonText(filepath.Join(dir, "initrd.img")), jsonText(filepath.Join(dir, "data.vhdx")), jsonText(filepath.Join(e.images, "vmlinuz")), "(A;;FA;;;" + testSID + ")", `"Count": 2`, `"SizeInMB": 2048`} {
		if !strings.Contains(doc, w) {
			t.Errorf("document lacks %q:\n%s", w, doc)
		}
	}

	// Started again: it runs, nothing is made again.
	st2, err := e.m.Start(ctx, testSID, goodReq)
	if err != nil || st2 != st || e.disks.made != 1 {
		t.Fatalf("second start: %+v %v, disks made %d", st2, err, e.disks.made)
	}
	if got, _ := e.m.State(ctx, testSID, "default"); got != st {
		t.Errorf("State = %+v", got)
	}
}

// jsonText is s as it reads inside a JSON string (Windows' backslashes
// doubled).
func jsonText(s string) string {
	b, _ := json.Marshal(s)
	return string(b[1 : len(b)-1])
}

func readInitrdConfig(t *testing.T, path, base string) guestconfig.Config {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte(base)) {
		t.Fatal("the image's initramfs is not first")
	}
	r := cpio.NewReader(bytes.NewReader(b[(len(base)+3)/4*4:]))
	for {
		h, err := r.Next()
		if err != nil {
			t.Fatalf("no guest config in the initrd: %v", err)
		}
		if "/"+h.Name == guestconfig.Path {
			var cfg guestconfig.Config
			if err := json.NewDecoder(r).Decode(&cfg); err != nil {
				t.Fatal(err)
			}
			return cfg
		}
	}
}

func TestManagerRefusesBadRequests(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	for _, c := range []struct {
		name  string
		sid   string
		req   hyperv.MachineRequest
		wants []string
	}{
		{"empty", testSID, hyperv.MachineRequest{}, []string{"machine:", "cpus: 0", "memoryMiB: 0", "diskGiB: 0"}},
		{"path as the name", testSID, hyperv.MachineRequest{Machine: `..\..\Windows`, CPUs: 1, MemoryMiB: 512, DiskGiB: 8}, []string{"machine:"}},
		{"huge", testSID, hyperv.MachineRequest{Machine: "x", CPUs: 1000, MemoryMiB: 1 << 30, DiskGiB: 1 << 20}, []string{"cpus: 1000", "memoryMiB:", "diskGiB:"}},
		{"bad SID", "S-1-5-21-x", goodReq, []string{"not a SID"}},
		{"SDDL as the SID", "S-1-5-18)(A;;FA;;;WD", goodReq, []string{"not a SID"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := e.m.Start(ctx, c.sid, c.req)
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range c.wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
	if len(e.hcs.calls) != 0 {
		t.Errorf("HCS was called: %v", e.hcs.calls)
	}
	if ents, _ := os.ReadDir(e.data); len(ents) != 0 {
		t.Errorf("files made for a refused request: %v", ents)
	}
	if _, err := e.m.State(ctx, testSID, "Bad_Name"); err == nil || !strings.Contains(err.Error(), "machine:") {
		t.Errorf("State of a bad name: %v", err)
	}
	if err := e.m.Stop(ctx, "nobody", "default"); err == nil {
		t.Error("Stop with a bad SID accepted")
	}
}

func TestManagerUsersAreApart(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	other := "S-1-5-21-1-2-3-1001"
	if _, err := e.m.Start(ctx, testSID, goodReq); err != nil {
		t.Fatal(err)
	}
	st, err := e.m.State(ctx, other, "default")
	if err != nil || st.State != hyperv.StateAbsent {
		t.Fatalf("another user's machine of the same name: %+v %v", st, err)
	}
	if err := e.m.Stop(ctx, other, "default"); err != nil {
		t.Fatal(err)
	}
	if st, _ := e.m.State(ctx, testSID, "default"); st.State != hyperv.StateRunning {
		t.Fatalf("another user's stop stopped it: %+v", st)
	}
}

func TestManagerStop(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	if _, err := e.m.Start(ctx, testSID, goodReq); err != nil {
		t.Fatal(err)
	}
	if err := e.m.Stop(ctx, testSID, "default"); err != nil {
		t.Fatal(err)
	}
	if st, _ := e.m.State(ctx, testSID, "default"); st.State != hyperv.StateAbsent {
		t.Fatalf("after stop: %+v", st)
	}
	id := computeSystemID(testSID, "default")
	if strings.Contains(strings.Join(e.hcs.calls, ","), "terminate "+id+",close") == false {
		t.Errorf("calls = %v: want the system forgotten after the shutdown", e.hcs.calls)
	}
	// The disk stays for the next start.
	if _, err := os.Stat(filepath.Join(e.data, "machines", testSID, "default", "data.vhdx")); err != nil {
		t.Fatal(err)
	}
	if err := e.m.Stop(ctx, testSID, "default"); err != nil {
		t.Fatalf("stopping a stopped machine: %v", err)
	}
}

func TestManagerStopTerminatesADeafGuest(t *testing.T) {
	e := newTestEnv(t)
	e.m.stopTimeout = 700 * time.Millisecond
	ctx := context.Background()
	if _, err := e.m.Start(ctx, testSID, goodReq); err != nil {
		t.Fatal(err)
	}
	e.hcs.deafGuest = true
	start := time.Now()
	if err := e.m.Stop(ctx, testSID, "default"); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 700*time.Millisecond || d > 5*time.Second {
		t.Errorf("stop took %v: want the timeout, then the end", d)
	}
	if st, _ := e.m.State(ctx, testSID, "default"); st.State != hyperv.StateAbsent {
		t.Fatalf("after stop: %+v", st)
	}
}

func TestManagerStartFailureLeavesNoSystem(t *testing.T) {
	e := newTestEnv(t)
	e.hcs.failStart = true
	ctx := context.Background()
	_, err := e.m.Start(ctx, testSID, goodReq)
	if err == nil || !strings.Contains(err.Error(), "could not be started") {
		t.Fatalf("start: %v", err)
	}
	if st, _ := e.m.State(ctx, testSID, "default"); st.State != hyperv.StateAbsent {
		t.Fatalf("a failed start left %+v", st)
	}
	e.hcs.failStart = false
	if _, err := e.m.Start(ctx, testSID, goodReq); err != nil {
		t.Fatalf("the next start: %v", err)
	}
}

func TestManagerStartsAStoppedSystemAnew(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	id := computeSystemID(testSID, "default")
	// A system left from before (the guest powered off by itself).
	e.hcs.systems[id] = &fakeSystem{doc: "{}", state: "Stopped"}
	st, err := e.m.Start(ctx, testSID, goodReq)
	if err != nil || st.State != hyperv.StateRunning {
		t.Fatalf("%+v %v", st, err)
	}
	if e.hcs.doc(id) == "{}" {
		t.Error("the old document was kept")
	}
}

func TestManagerDataDiskFailureLeavesNoDisk(t *testing.T) {
	e := newTestEnv(t)
	e.disks.fail = true
	_, err := e.m.Start(context.Background(), testSID, goodReq)
	if err == nil || !strings.Contains(err.Error(), "data disk") {
		t.Fatalf("start: %v", err)
	}
	dir := filepath.Join(e.data, "machines", testSID, "default")
	ents, _ := os.ReadDir(dir)
	for _, ent := range ents {
		if strings.HasSuffix(ent.Name(), ".vhdx") {
			t.Errorf("%s left behind", ent.Name())
		}
	}
	if len(e.hcs.systems) != 0 {
		t.Error("a compute system was created without its disk")
	}
}

func TestManagerMissingImage(t *testing.T) {
	e := newTestEnv(t)
	os.Remove(filepath.Join(e.images, "rootfs.img"))
	_, err := e.m.Start(context.Background(), testSID, goodReq)
	if err == nil || !strings.Contains(err.Error(), "root file system") {
		t.Fatalf("start: %v", err)
	}
}

func TestRootVHDMadeAgainWhenTheImageChanges(t *testing.T) {
	dir := t.TempDir()
	img, vhd := filepath.Join(dir, "rootfs.img"), filepath.Join(dir, "out", "rootfs.vhd")
	os.WriteFile(img, bytes.Repeat([]byte{1}, 1024), 0o644)
	if err := ensureRootVHD(img, vhd); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(img, bytes.Repeat([]byte{2}, 2048), 0o644)
	if err := ensureRootVHD(img, vhd); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(vhd)
	if len(b) != 2048+512 || b[0] != 2 {
		t.Fatalf("the VHD was not made again: %d bytes", len(b))
	}
	os.WriteFile(img, bytes.Repeat([]byte{3}, 1000), 0o644)
	if err := ensureRootVHD(img, vhd); err == nil || !strings.Contains(err.Error(), "multiple of 512") {
		t.Fatalf("an odd-sized image: %v", err)
	}
	if b2, _ := os.ReadFile(vhd); !bytes.Equal(b, b2) {
		t.Error("a failed make replaced the VHD")
	}
	if ents, _ := os.ReadDir(filepath.Dir(vhd)); len(ents) != 1 {
		t.Errorf("temporary files left: %v", ents)
	}
}

func TestParseProperties(t *testing.T) {
	// As HcsGetComputeSystemProperties answers (schema 1 properties,
	// shaped after hcsshim's schema1.ContainerProperties).
	running := `{"Id":"berth-default-s-1-5-21-1","SystemType":"VirtualMachine","Name":"berth-default-s-1-5-21-1","Owner":"berth-service","RuntimeId":"{5E0C3E1A-9B1C-4D6E-8F3A-2B7C1D0E9F4A}","State":"Running","Stopped":false}`
	p, err := parseProperties([]byte(running))
	if err != nil || !p.running() || p.RuntimeID != "5E0C3E1A-9B1C-4D6E-8F3A-2B7C1D0E9F4A" {
		t.Fatalf("%+v %v", p, err)
	}
	if st := stateOf(p); st.State != hyperv.StateRunning || st.VMID != p.RuntimeID {
		t.Errorf("state = %+v", st)
	}
	p, err = parseProperties([]byte(`{"State":"Stopped","Stopped":true,"ExitType":"GracefulExit"}`))
	if err != nil || p.running() || stateOf(p).State != hyperv.StateStopped {
		t.Fatalf("%+v %v", p, err)
	}
	for _, bad := range []string{`not json`, `{}`, `{"State":"Running","RuntimeId":"nope"}`} {
		if _, err := parseProperties([]byte(bad)); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

func TestLayoutIsPerUserAndMachine(t *testing.T) {
	img, data := filepath.Join("/", "img"), filepath.Join("/", "data")
	a, err := newLayout(img, data, testSID, "default")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := newLayout(img, data, "S-1-5-21-1-2-3-1001", "default")
	c, _ := newLayout(img, data, testSID, "work")
	if a.dir == b.dir || a.dir == c.dir || a.id == b.id || a.id == c.id || a.dataDisk == c.dataDisk {
		t.Errorf("layouts collide: %+v %+v %+v", a, b, c)
	}
	if a.rootVHD != b.rootVHD || a.kernel != filepath.Join(img, "vmlinuz") {
		t.Errorf("the image's files: %+v", a)
	}
}

// A larger disk size grows the data disk at the next start; a smaller one
// leaves it as it is; a running machine is not touched.
func TestManagerGrowsTheDataDisk(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	disk := filepath.Join(e.data, "machines", testSID, "default", "data.vhdx")
	size := func() uint32 {
		b, err := os.ReadFile(disk)
		if err != nil {
			t.Fatal(err)
		}
		return binary.BigEndian.Uint32(b)
	}
	if _, err := e.m.Start(ctx, testSID, goodReq); err != nil {
		t.Fatal(err)
	}
	bigger := goodReq
	bigger.DiskGiB = 100
	// Running: the request's sizes do not apply until the next start.
	if _, err := e.m.Start(ctx, testSID, bigger); err != nil {
		t.Fatal(err)
	}
	if size() != 64 || e.disks.resized != 0 {
		t.Fatalf("a running machine's disk changed: %d GiB, %d resizes", size(), e.disks.resized)
	}
	if err := e.m.Stop(ctx, testSID, "default"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.m.Start(ctx, testSID, bigger); err != nil {
		t.Fatal(err)
	}
	if size() != 100 || e.disks.resized != 1 || e.disks.made != 1 {
		t.Fatalf("after a start at 100 GiB: %d GiB, %d resizes, %d made", size(), e.disks.resized, e.disks.made)
	}
	if err := e.m.Stop(ctx, testSID, "default"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.m.Start(ctx, testSID, goodReq); err != nil {
		t.Fatal(err)
	}
	if size() != 100 || e.disks.resized != 1 {
		t.Fatalf("a smaller size shrank the disk: %d GiB, %d resizes", size(), e.disks.resized)
	}
	// A disk whose size cannot be read is not booted with.
	if err := e.m.Stop(ctx, testSID, "default"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(disk, []byte("torn"+"x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := e.m.Start(ctx, testSID, bigger); err == nil || !strings.Contains(err.Error(), "reading its size") {
		t.Fatalf("an unreadable disk: %v", err)
	}
}
