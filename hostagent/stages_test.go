package hostagent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/proc"
	"github.com/berth-dev/berth/kernel"
	"github.com/berth-dev/berth/store"
	"github.com/berth-dev/berth/vm"
)

// fakeDriverName is a driver registered by this test only: its "VM" is a
// sleeping process (TestFakeVMProcess) (a stand-in, so that a leaked VM is a leaked process the
// test can see), and it has no guest: nothing ever answers on the network.
const fakeDriverName = "fake-test"

const fakePIDFile = "fake.pid"

// fakeVMs holds each test machine's fake, by its directory.
var fakeVMs sync.Map

type fakeVM struct {
	m         *vm.Machine
	failStart bool

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
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
			f, ok := fakeVMs.Load(m.StateDir)
			if !ok {
				return nil, errors.New("no fake for " + m.StateDir)
			}
			f.(*fakeVM).m = m
			return f.(*fakeVM), nil
		},
	})
}

func (f *fakeVM) Start(context.Context) error {
	if f.failStart {
		return errors.New("the fake hypervisor refuses to boot")
	}
	// The test binary itself, as TestFakeVMProcess: it runs on every OS
	// (Windows under Wine has no sleep program).
	cmd := exec.Command(os.Args[0], "-test.run=^TestFakeVMProcess$")
	cmd.Env = append(os.Environ(), envFakeVM+"=1")
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	f.mu.Lock()
	f.cmd, f.done = cmd, done
	f.mu.Unlock()
	return os.WriteFile(filepath.Join(f.m.StateDir, fakePIDFile), fmt.Appendf(nil, "%d", cmd.Process.Pid), 0o600)
}

func (f *fakeVM) Stop(ctx context.Context) error { return f.Kill() }

func (f *fakeVM) Kill() error {
	f.mu.Lock()
	cmd, done := f.cmd, f.done
	f.mu.Unlock()
	if cmd != nil {
		_ = cmd.Process.Kill()
		<-done
	}
	return os.Remove(filepath.Join(f.m.StateDir, fakePIDFile))
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
	time.Sleep(60 * time.Second)
}

// fakeImage is a guest image's files, enough for the image stage.
func fakeImage(t *testing.T) string {
	dir := t.TempDir()
	for f, body := range map[string]string{kernel.ManifestFile: `{"version":"test"}`, kernel.KernelFile: "k", kernel.InitramfsFile: "initramfs", kernel.RootfsFile: "r"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// The whole agent runs against the fake driver; each case makes one stage
// fail, and the run must leave nothing behind: no socket, no pidfile, no
// process.
func TestStartStagesFailCleanly(t *testing.T) {
	for _, tc := range []struct {
		stage  string
		config string
		setup  func(t *testing.T, m store.Machine, o *Options, f *fakeVM)
		want   string
	}{
		{stage: "config", config: "cpus: 0\n", want: "cpus"},
		{stage: "machine files", config: "disk: 8GiB\n", want: "can grow, not shrink", setup: func(t *testing.T, m store.Machine, _ *Options, _ *fakeVM) {
			if _, _, _, err := Prepare(m, defaultSpec(2, "amd64")); err != nil {
				t.Fatal(err)
			}
		}},
		{stage: "image", want: "make image", setup: func(t *testing.T, _ store.Machine, o *Options, _ *fakeVM) { o.ImageDir = t.TempDir() }},
		{stage: "network", want: "offers", setup: func(t *testing.T, _ store.Machine, _ *Options, _ *fakeVM) { t.Setenv(EnvNetLink, "vhost-user") }},
		{stage: "driver", want: "booting the VM: the fake hypervisor refuses", setup: func(_ *testing.T, _ store.Machine, _ *Options, f *fakeVM) { f.failStart = true }},
		{stage: "guest handshake", want: "the guest agent did not answer within 1s"},
	} {
		t.Run(tc.stage, func(t *testing.T) {
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
			if err := os.WriteFile(cfg, []byte(tc.config), 0o600); err != nil {
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
			if tc.setup != nil {
				tc.setup(t, m, &o, f)
			}
			err = Run(context.Background(), o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Run: %v, want an error with %q", err, tc.want)
			}
			for _, left := range []string{store.AgentSock, store.DockerSock, store.NetSock, store.AgentPIDFile, fakePIDFile} {
				if _, err := os.Lstat(m.Path(left)); err == nil {
					t.Errorf("%s left behind", left)
				}
			}
			if pid := f.pid(); pid != 0 && proc.Alive(pid) {
				t.Errorf("the VM's process %d still runs", pid)
			}
		})
	}
}
