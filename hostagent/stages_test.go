package hostagent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth-dev/berth/hostagent/api"
	"github.com/berth-dev/berth/internal/engine"
	"github.com/berth-dev/berth/internal/proc"
	"github.com/berth-dev/berth/internal/sockets"
	"github.com/berth-dev/berth/internal/wine"
	"github.com/berth-dev/berth/kernel"
	"github.com/berth-dev/berth/store"
	"github.com/berth-dev/berth/vm"
)

// fakeDriverName is a driver registered by this test only: its "VM" is a
// process (TestFakeVMProcess) (a stand-in, so that a leaked VM is a leaked
// process the test can see). By default it has no guest: it sleeps, and
// nothing ever answers on the network; a test can give it a fake guest
// (fakeguest_test.go) that answers.
const fakeDriverName = "fake-test"

const fakePIDFile = "fake.pid"

// fakeVMs holds each test machine's fake, by its directory.
var fakeVMs sync.Map

type fakeVM struct {
	m         *vm.Machine
	failStart bool
	// guest is what answers on the VM's network (fakeguest_test.go);
	// none by default.
	guest fakeGuest

	mu      sync.Mutex
	cmd     *exec.Cmd
	done    chan struct{}
	exitErr error // the VM process's, once done is closed
	stops   int   // calls to Stop
	kills   int   // calls to Kill
	// linkDials and diskCalls: what the agent asked of guestLinkVM.
	linkDials int
	diskCalls []string
	removes   int
	// paused: the VM process is stopped (vm.Pauser); pauses and resumes
	// count the calls that did it.
	paused          bool
	pauses, resumes int
}

// Pause implements vm.Pauser: the fake VM's process stops.
func (f *fakeVM) Pause(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cmd == nil {
		return vm.ErrNotRunning
	}
	if err := stopProcess(f.cmd.Process); err != nil {
		return err
	}
	f.paused = true
	f.pauses++
	return nil
}

// Resume implements vm.Pauser.
func (f *fakeVM) Resume(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cmd == nil {
		return vm.ErrNotRunning
	}
	if err := contProcess(f.cmd.Process); err != nil {
		return err
	}
	f.paused = false
	f.resumes++
	return nil
}

func init() {
	vm.Register(vm.Factory{
		Name: fakeDriverName,
		Capabilities: func(string) vm.Capabilities {
			return vm.Capabilities{
				Boot:         vm.BootKernel,
				DataDisk:     vm.DataDisk{Format: vm.DiskRaw, CreatedBy: vm.PartyAgent},
				Links:        []vm.LinkSpec{{Link: vm.LinkStream, Listener: vm.PartyHypervisor}},
				RuntimeFiles: []string{fakePIDFile},
			}
		},
		New: func(m *vm.Machine) (vm.Driver, error) {
			f, err := fakeFor(m)
			if err != nil {
				return nil, err
			}
			return f, nil
		},
	})
}

// fakeGuestLinkDriverName is the fake with the other side of each
// difference: a guest that listens on its link (the driver dials it), a
// disk the driver makes, a root file system boot.
const fakeGuestLinkDriverName = "fake-guestlink-test"

// guestLinkVM is the fake as that driver: a vm.LinkDialer (the fake guest
// listens on the machine's net.sock) and a vm.DiskOwner.
type guestLinkVM struct{ *fakeVM }

func (g guestLinkVM) DialLink(ctx context.Context) (net.Conn, error) {
	g.mu.Lock()
	g.linkDials++
	g.mu.Unlock()
	var d net.Dialer
	return d.DialContext(ctx, "unix", g.m.Network.Socket)
}

func (g guestLinkVM) Remove(context.Context) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.removes++
	return nil
}

func (g guestLinkVM) Info() vm.Info { return vm.Info{Driver: fakeGuestLinkDriverName} }

func (g guestLinkVM) EnsureDataDisk(path string, _ int) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.diskCalls = append(g.diskCalls, "ensure "+path)
	return nil
}

func (g guestLinkVM) GrowDataDisk(path string, gib int) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.diskCalls = append(g.diskCalls, fmt.Sprintf("grow %s %d", path, gib))
	return nil
}

func init() {
	vm.Register(vm.Factory{
		Name: fakeGuestLinkDriverName,
		Capabilities: func(string) vm.Capabilities {
			return vm.Capabilities{
				Boot:         vm.BootRootFS,
				DataDisk:     vm.DataDisk{Format: vm.DiskDistro, CreatedBy: vm.PartyDriver},
				Links:        []vm.LinkSpec{{Link: vm.LinkHvsock, Listener: vm.PartyGuest}},
				RuntimeFiles: []string{fakePIDFile},
			}
		},
		New: func(m *vm.Machine) (vm.Driver, error) {
			f, err := fakeFor(m)
			if err != nil {
				return nil, err
			}
			return guestLinkVM{f}, nil
		},
	})
}

// fakeFor is the test machine's fake, given the machine it runs.
func fakeFor(m *vm.Machine) (*fakeVM, error) {
	f, ok := fakeVMs.Load(m.StateDir)
	if !ok {
		return nil, errors.New("no fake for " + m.StateDir)
	}
	f.(*fakeVM).m = m
	return f.(*fakeVM), nil
}

func (f *fakeVM) Start(context.Context) error {
	if f.failStart {
		return errors.New("the fake hypervisor refuses to boot")
	}
	// The test binary itself, as TestFakeVMProcess: it runs on every OS
	// (Windows under Wine has no sleep program).
	cmd := exec.Command(os.Args[0], "-test.run=^TestFakeVMProcess$")
	cmd.Env = append(os.Environ(), envFakeVM+"=1")
	if f.guest != "" {
		cmd.Env = append(cmd.Env, envFakeGuest+"="+string(f.guest),
			envFakeNetSock+"="+f.m.Network.Socket, envFakeConsole+"="+f.m.ConsoleLog)
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	pidFile := filepath.Join(f.m.StateDir, fakePIDFile)
	werr := os.WriteFile(pidFile, fmt.Appendf(nil, "%d", cmd.Process.Pid), 0o600)
	done := make(chan struct{})
	go func() {
		err := cmd.Wait()
		// Like QEMU, the VM process's pidfile goes with it.
		_ = os.Remove(pidFile)
		f.mu.Lock()
		f.exitErr = err
		f.mu.Unlock()
		close(done)
	}()
	f.mu.Lock()
	f.cmd, f.done = cmd, done
	f.mu.Unlock()
	return werr
}

func (f *fakeVM) Stop(ctx context.Context) error {
	f.mu.Lock()
	f.stops++
	f.mu.Unlock()
	return f.Kill()
}

func (f *fakeVM) Kill() error {
	f.mu.Lock()
	cmd, done := f.cmd, f.done
	f.kills++
	f.mu.Unlock()
	if cmd != nil {
		_ = cmd.Process.Kill()
		<-done
	}
	if err := os.Remove(filepath.Join(f.m.StateDir, fakePIDFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

func (f *fakeVM) Wait(ctx context.Context) error {
	f.mu.Lock()
	done := f.done
	f.mu.Unlock()
	if done == nil {
		return nil
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (f *fakeVM) Info() vm.Info { return vm.Info{Driver: fakeDriverName} }

func (f *fakeVM) pid() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cmd == nil {
		return 0
	}
	return f.cmd.Process.Pid
}

const envFakeVM = "BERTH_TEST_FAKE_VM"

// TestFakeVMProcess is the fake driver's VM process when the fake starts
// the test binary with envFakeVM set; otherwise it does nothing.
func TestFakeVMProcess(t *testing.T) {
	if os.Getenv(envFakeVM) != "1" {
		t.Skip("only the fake driver's VM process")
	}
	if ok, err := fakeGuestFromEnv(); ok {
		if err != nil {
			t.Fatal(err)
		}
		return
	}
	time.Sleep(fakeGuestLifetime)
}

// fakeImage is a guest image's files, enough for the image stage.
func fakeImage(t testing.TB) string {
	dir := t.TempDir()
	for f, body := range map[string]string{kernel.ManifestFile: `{"version":"test","wslRootfs":"` + kernel.WSLRootfsFile + `"}`, kernel.KernelFile: "k", kernel.InitramfsFile: "initramfs", kernel.RootfsFile: "r", kernel.WSLRootfsFile: "tar"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// stageMachine is a machine for a whole-agent run against the fake driver:
// its own home (short, for the sockets' path limits), config file and fake.
func stageMachine(t testing.TB, config string) (store.Machine, Options, *fakeVM) {
	t.Helper()
	home, err := os.MkdirTemp("", "berth-stages")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(home) })
	m, err := store.Open(home, "default")
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(home, "config.yaml")
	if err := os.WriteFile(cfg, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	f := &fakeVM{}
	fakeVMs.Store(m.Dir, f)
	t.Cleanup(func() { fakeVMs.Delete(m.Dir) })
	if err := m.Ensure(); err != nil {
		t.Fatal(err)
	}
	o := Options{Machine: m, ImageDir: fakeImage(t), Driver: fakeDriverName, ConfigPath: cfg,
		Log: slog.New(slog.DiscardHandler), EngineTimeout: time.Second}
	return m, o, f
}

// checkNothingLeft fails t for each socket, pidfile or process the run
// left behind.
func checkNothingLeft(t testing.TB, m store.Machine, f *fakeVM) {
	t.Helper()
	for _, left := range []string{store.AgentSock, store.DockerSock, store.NetSock, store.AgentPIDFile, fakePIDFile} {
		if _, err := os.Lstat(m.Path(left)); err == nil {
			t.Errorf("%s left behind", left)
		}
	}
	if pid := f.pid(); pid != 0 && proc.Alive(pid) {
		t.Errorf("the VM's process %d still runs", pid)
	}
}

// The whole agent runs against the fake driver; each case makes one stage
// fail, and the run must leave nothing behind: no socket, no pidfile, no
// process. A case with a guest has the fake guest answer, and the stop
// must have asked it to shut down.
func TestStartStagesFailCleanly(t *testing.T) {
	for _, tc := range []struct {
		name    string
		config  string
		guest   fakeGuest
		timeout time.Duration
		setup   func(t *testing.T, m store.Machine, o *Options, f *fakeVM)
		want    string
	}{
		{name: "config", config: "cpus: 0\n", want: "cpus"},
		{name: "machine files", config: "disk: 8GiB\n", want: "can grow, not shrink", setup: func(t *testing.T, m store.Machine, _ *Options, _ *fakeVM) {
			if _, _, _, err := Prepare(m, defaultSpec(2, "amd64")); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "image", want: "make image", setup: func(t *testing.T, _ store.Machine, o *Options, _ *fakeVM) { o.ImageDir = t.TempDir() }},
		{name: "network", want: "offers", setup: func(t *testing.T, _ store.Machine, _ *Options, _ *fakeVM) { t.Setenv(EnvNetLink, "vhost-user") }},
		{name: "driver", want: "booting the VM: the fake hypervisor refuses", setup: func(_ *testing.T, _ store.Machine, _ *Options, f *fakeVM) { f.failStart = true }},
		{name: "guest handshake", want: "the guest agent did not answer within 1s"},
		// The guest answers; the engine does not come up.
		{name: "engine starting", guest: guestEngineStarting, timeout: 4 * time.Second, want: "the engine did not answer within 4s (last: engine starting)"},
		{name: "engine failed", guest: guestEngineFailed, timeout: 10 * time.Second, want: "the engine failed to start in the guest: " + fakeGuestEngineFailure},
		{name: "engine unreachable", guest: guestNoDockerd, timeout: 4 * time.Second, want: "the engine did not answer within 4s (last: docker version: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.guest != "" {
				wine.Skip(t, "Wine has no AF_UNIX sockets, and the fake guest's network link is one")
				// These wait out their timeout: together, not one by one.
				t.Parallel()
			}
			m, o, f := stageMachine(t, tc.config)
			f.guest = tc.guest
			if tc.timeout != 0 {
				o.EngineTimeout = tc.timeout
			}
			if tc.setup != nil {
				tc.setup(t, m, &o, f)
			}
			err := Run(context.Background(), o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Run: %v, want an error with %q", err, tc.want)
			}
			checkNothingLeft(t, m, f)
			if tc.guest != "" {
				if console, _ := os.ReadFile(m.Path(store.SerialLogFile)); !strings.Contains(string(console), consoleShutdown) {
					t.Errorf("the guest was not asked to shut down; its console:\n%s", console)
				}
			}
		})
	}
}

// A whole start against the fake driver with a fake guest that answers:
// the agent reaches running, serves the docker socket (a docker API call
// through it reaches the guest's stand-in engine), follows the engine for
// the forwards, and a stop through the control API asks the guest to shut
// down, lets the VM power off by itself and leaves nothing behind.
func TestRunServesAndStopsCleanly(t *testing.T) {
	wine.Skip(t, "Wine has no AF_UNIX sockets, and the fake guest's network link is one")
	runServesAndStops(t, fakeDriverName)
}

// The same run with a driver whose guest listens on the link (as a WSL2
// guest does on AF_VSOCK) and that makes its own data disk and boots a
// root file system: the agent dials the link through the driver, asks the
// driver for the disk, and hands the guest its config as a file.
func TestRunThroughAGuestLink(t *testing.T) {
	wine.Skip(t, "Wine has no AF_UNIX sockets, and the fake guest's network link is one")
	m, f := runServesAndStops(t, fakeGuestLinkDriverName)
	f.mu.Lock()
	dials, disk := f.linkDials, f.diskCalls
	f.mu.Unlock()
	if dials == 0 {
		t.Error("the network never dialled the link through the driver")
	}
	if want := []string{"ensure " + m.Path(store.DataDisk)}; fmt.Sprint(disk) != fmt.Sprint(want) {
		t.Errorf("the driver was asked %q for its disk, want %q", disk, want)
	}
	if _, err := os.Stat(m.Path(store.DataDisk)); err == nil {
		t.Error("the agent made a raw data disk for a driver that makes its own")
	}
	if _, err := os.Stat(m.Path(store.GuestConfig)); err != nil {
		t.Errorf("no guest config for the rootfs boot: %v", err)
	}
	if _, err := os.Stat(m.Path(store.InitrdFile)); err == nil {
		t.Error("an initrd for a rootfs boot")
	}
	f.mu.Lock()
	mach := *f.m
	f.mu.Unlock()
	// The machine remembers its driver: stopping it and deleting it need
	// no --driver, and deleting asks the driver to remove its VM.
	if got := RecordedDriver(m); got != fakeGuestLinkDriverName {
		t.Errorf("recorded driver %q, want %q", got, fakeGuestLinkDriverName)
	}
	if err := RemoveVM(context.Background(), Options{Machine: m, ImageDir: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	removes := f.removes
	f.mu.Unlock()
	if removes != 1 {
		t.Errorf("the driver was asked %d times to remove its VM, want once", removes)
	}
	if filepath.Base(mach.RootFS) != kernel.WSLRootfsFile || mach.GuestConfig != m.Path(store.GuestConfig) || mach.Kernel != "" || len(mach.Disks) != 0 {
		t.Errorf("the driver was given rootFS %q, guest config %q, kernel %q, disks %v; want the image's %s, %s, and no kernel or disks",
			mach.RootFS, mach.GuestConfig, mach.Kernel, mach.Disks, kernel.WSLRootfsFile, m.Path(store.GuestConfig))
	}
}

// servingAgent is the agent run by startAgent, serving.
type servingAgent struct {
	ctx    context.Context // ends a minute after the start
	m      store.Machine
	f      *fakeVM
	ctl    *api.Client
	runErr chan error // Run's end
	status *api.Status
}

// startAgent runs the agent with the config text over the fake driver (""
// for the default) whose guest runs, and returns once it serves. The
// agent's log and the fake guest's console are shown if the test fails.
func startAgent(t testing.TB, config, driver string) servingAgent {
	return startAgentAfter(t, config, driver, nil)
}

// startAgentAfter is startAgent with before run on the machine directory
// just before the agent starts.
func startAgentAfter(t testing.TB, config, driver string, before func(store.Machine)) servingAgent {
	m, o, f := stageMachine(t, config)
	if before != nil {
		before(m)
	}
	if driver != "" {
		o.Driver = driver
	}
	f.guest = guestRunning
	// Generous: a slow host only makes the test slower, not fail.
	o.EngineTimeout = 30 * time.Second
	o.StandbyGrace = 300 * time.Millisecond
	var logBuf syncBuffer
	o.Log = slog.New(slog.NewTextHandler(&logBuf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the agent's log:\n%s", logBuf.String())
			console, _ := os.ReadFile(m.Path(store.SerialLogFile))
			t.Logf("the fake guest's console:\n%s", console)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	runErr := make(chan error, 1)
	go func() { runErr <- Run(ctx, o) }()
	ctl := api.NewClient(m.AgentSocket())
	return servingAgent{ctx: ctx, m: m, f: f, ctl: ctl, runErr: runErr, status: waitRunning(ctx, t, ctl, runErr)}
}

func runServesAndStops(t *testing.T, driver string) (store.Machine, *fakeVM) {
	a := startAgent(t, "", driver)
	ctx, m, f, ctl, runErr, st := a.ctx, a.m, a.f, a.ctl, a.runErr, a.status
	if st.EngineVersion != standinVersion || st.Driver != driver || st.DockerSocket != m.DockerSocket() {
		t.Errorf("status: engine %q, driver %q, docker socket %q; want %q, %q, %q",
			st.EngineVersion, st.Driver, st.DockerSocket, standinVersion, driver, m.DockerSocket())
	}
	// The start's timeline: every stage in order, and the guest's boot as
	// its agent told it.
	var names []string
	if st.Timeline != nil {
		for _, s := range st.Timeline.Stages {
			names = append(names, s.Name)
		}
	}
	var stageNames []string
	for _, s := range (&Agent{}).stages() {
		stageNames = append(stageNames, s.name)
	}
	if st.Timeline == nil || !slices.Equal(names, stageNames) || !reflect.DeepEqual(st.Timeline.Guest, fakeGuestBoot) || st.Timeline.Adopted {
		t.Errorf("timeline %+v; want the stages %q and the guest's boot %v", st.Timeline, stageNames, fakeGuestBoot)
	}

	// The docker socket, as any client uses it: plain HTTP over it...
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return sockets.Dial(ctx, m.DockerSocket())
	}}}
	defer hc.CloseIdleConnections()
	for path, want := range map[string]string{"/_ping": "OK", "/v" + standinAPIVersion + "/version": `"Version":"` + standinVersion + `"`} {
		body, err := httpGet(ctx, hc, "http://docker"+path)
		if err != nil || !strings.Contains(body, want) {
			t.Errorf("GET %s through the docker socket: %q, %v; want %q in the body", path, body, err, want)
		}
	}
	// ...and the docker API client.
	ec, err := engine.New(func(ctx context.Context) (net.Conn, error) { return sockets.Dial(ctx, m.DockerSocket()) })
	if err != nil {
		t.Fatal(err)
	}
	if v, err := ec.Version(ctx); err != nil || v != standinVersion {
		t.Errorf("docker version through the docker socket: %q, %v; want %q", v, err, standinVersion)
	}
	_ = ec.Close()

	// The forwards follow the engine: subscribed to its events, listed its
	// containers.
	if fw, err := ctl.Forwards(ctx); err != nil || len(fw) != 0 {
		t.Errorf("forwards: %v, %v; want none", fw, err)
	}
	waitConsole(ctx, t, m.Path(store.SerialLogFile), consoleEngine+"GET /v"+standinAPIVersion+"/events", consoleEngine+"GET /v"+standinAPIVersion+"/containers/json")

	hc.CloseIdleConnections()
	if err := ctl.Stop(ctx); err != nil {
		t.Fatalf("stop: %v", err)
	}
	select {
	case err := <-runErr:
		if err != nil {
			t.Fatalf("Run after a stop: %v", err)
		}
	case <-ctx.Done():
		t.Fatal("Run did not return after a stop")
	}
	checkNothingLeft(t, m, f)
	f.mu.Lock()
	stops, kills, exitErr := f.stops, f.kills, f.exitErr
	f.mu.Unlock()
	if stops != 0 || kills != 0 || exitErr != nil {
		t.Errorf("the VM was stopped %d and killed %d times, and exited with %v; want it to power off by itself after the guest's shutdown", stops, kills, exitErr)
	}
	if console, _ := os.ReadFile(m.Path(store.SerialLogFile)); !strings.Contains(string(console), consoleShutdown) {
		t.Errorf("the guest was not asked to shut down")
	}
	return m, f
}

// waitRunning follows the agent's status until it is running; a run that
// ends first fails t.
func waitRunning(ctx context.Context, t testing.TB, ctl *api.Client, runErr <-chan error) *api.Status {
	t.Helper()
	var last string
	for {
		st, err := ctl.Status(ctx)
		if err == nil && st.State == api.StateRunning {
			return st
		}
		if err == nil {
			last = fmt.Sprintf("%s %s %s", st.State, st.Phase, st.Error)
		}
		select {
		case err := <-runErr:
			t.Fatalf("Run ended before the machine was running: %v", err)
		case <-ctx.Done():
			t.Fatalf("the machine is not running (last: %s)", last)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// waitConsole waits, up to ten seconds, until the console log has each of
// lines.
func waitConsole(ctx context.Context, t *testing.T, path string, lines ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for {
		b, _ := os.ReadFile(path)
		missing := slices.DeleteFunc(slices.Clone(lines), func(l string) bool { return strings.Contains(string(b), l) })
		if len(missing) == 0 {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the guest's console never showed %q", missing)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func httpGet(ctx context.Context, hc *http.Client, url string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return string(b), fmt.Errorf("%s", resp.Status)
	}
	return string(b), err
}

// syncBuffer is a bytes.Buffer for writers on several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
