//go:build !windows

package vz

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/hostagent/vnet/vnettest"

	"github.com/berth-dev/berth/guest/guestconfig"
	"github.com/berth-dev/berth/internal/atomicfile"
	"github.com/berth-dev/berth/internal/sockets"
	"github.com/berth-dev/berth/vm"
)

// testMac stands in for a Mac of the test's architecture on macOS 14.5.
func testMac() (string, error) { return "14.5", nil }

// testMachine is a machine as the agent describes it for the vz driver,
// with a kernel the driver accepts for this architecture.
func testMachine(t testing.TB) *vm.Machine {
	dir := vnettest.PrivateDir(t)
	kernel := bzImage(4096)
	if runtime.GOARCH == "arm64" {
		kernel = arm64Image(4096)
	}
	img := t.TempDir() // the image's, not the machine's
	if err := os.WriteFile(filepath.Join(img, "vmlinuz"), kernel, 0o644); err != nil {
		t.Fatal(err)
	}
	return &vm.Machine{
		Name: "m", Arch: runtime.GOARCH, CPUs: 2, MemoryMiB: 1024,
		Kernel: filepath.Join(img, "vmlinuz"), Initrd: filepath.Join(dir, "initrd.img"), Cmdline: "console=hvc0",
		Disks:      []vm.Disk{{Path: filepath.Join(dir, "rootfs.img"), ReadOnly: true}, {Path: filepath.Join(dir, "data.img")}},
		Network:    vm.Network{Socket: filepath.Join(dir, "net.sock"), MAC: guestconfig.GuestMAC, Link: vm.LinkVfkit},
		ConsoleLog: filepath.Join(dir, "serial.log"),
		BootMarker: fakeMarker,
		StateDir:   dir,
	}
}

// inProcessHelper runs the helper in this process with a fakeVZ, as the
// driver would have it run: the spec written, then runHelper until the
// VM is done. It returns once the VM runs.
type inProcessHelper struct {
	m    *vm.Machine
	fake *fakeVZ
	err  chan error
}

func startInProcess(t testing.TB, honourStop bool) *inProcessHelper {
	t.Helper()
	return startInProcessFor(t, testMachine(t), honourStop)
}

func startInProcessFor(t testing.TB, m *vm.Machine, honourStop bool) *inProcessHelper {
	t.Helper()
	spec, err := specFor(m)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(spec)
	if err := atomicfile.WriteFile(filepath.Join(m.StateDir, specFile), b, 0o600); err != nil {
		t.Fatal(err)
	}
	fakes := make(chan *fakeVZ, 1)
	newHV := func(_ Spec, files hypervisorFiles) (hypervisor, error) {
		f := newFakeVZ(files, honourStop)
		fakes <- f
		return f, nil
	}
	h := &inProcessHelper{m: m, err: make(chan error, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		h.err <- runHelper(ctx, HelperOptions{StateDir: m.StateDir, Log: slog.New(slog.DiscardHandler)}, newHV)
	}()
	t.Cleanup(func() {
		cancel() // a signal: the stop sequence
		select {
		case <-h.err:
		case <-time.After(time.Minute):
			t.Error("the helper did not end")
		}
	})
	select {
	case h.fake = <-fakes:
	case err := <-h.err:
		t.Fatalf("the helper ended before its VM ran: %v", err)
	}
	waitFile(t, filepath.Join(m.StateDir, recordFile))
	return h
}

func waitFile(t testing.TB, p string) {
	t.Helper()
	for range 500 {
		if _, err := os.Stat(p); err == nil {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s never appeared", p)
}

func (h *inProcessHelper) wait(t *testing.T) error {
	t.Helper()
	select {
	case err := <-h.err:
		h.err <- err // for the cleanup
		return err
	case <-time.After(30 * time.Second):
		t.Fatal("the helper did not end")
		return nil
	}
}

func (h *inProcessHelper) call(t *testing.T, req request) response {
	t.Helper()
	resp, err := callHelper(context.Background(), filepath.Join(h.m.StateDir, controlSock), req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// rawCall sends line as it is and decodes the answer.
func rawCall(t *testing.T, sock, line string) response {
	t.Helper()
	c, err := sockets.Dial(context.Background(), sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte(line)); err != nil {
		t.Fatal(err)
	}
	var resp response
	if err := json.NewDecoder(c).Decode(&resp); err != nil {
		t.Fatalf("answer to %q: %v", line, err)
	}
	return resp
}

// checkGone fails for each of the helper's files still there.
func checkGone(t *testing.T, m *vm.Machine, names ...string) {
	t.Helper()
	for _, p := range append([]string{m.Network.Socket}, names...) {
		if !filepath.IsAbs(p) {
			p = filepath.Join(m.StateDir, p)
		}
		if _, err := os.Lstat(p); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s is still there (%v)", filepath.Base(p), err)
		}
	}
}

func TestHelperControlProtocol(t *testing.T) {
	h := startInProcess(t, true)
	sock := filepath.Join(h.m.StateDir, controlSock)
	if resp := h.call(t, request{Op: opState}); resp.State != StateRunning || resp.PID != os.Getpid() {
		t.Fatalf("state: %+v, want running, pid %d", resp, os.Getpid())
	}
	for _, tc := range []struct{ line, want string }{
		{"not json\n", "malformed request"},
		{`{"op":"reboot"}` + "\n", `op "reboot"`},
		{`{"op":"state","force":true}` + "\n", "unknown field"},
		{`{"op":"stop","graceMs":-1}` + "\n", "negative"},
		{"\n", "malformed request"},
	} {
		resp := rawCall(t, sock, tc.line)
		if !strings.Contains(resp.Error, tc.want) || resp.State != "" {
			t.Errorf("%q answered %+v, want an error with %q", tc.line, resp, tc.want)
		}
	}
	if resp := h.call(t, request{Op: opState}); resp.State != StateRunning {
		t.Fatalf("after refused requests: %+v, want running", resp)
	}
	if resp := h.call(t, request{Op: opKill}); resp.PID != os.Getpid() {
		t.Fatalf("kill: %+v", resp)
	}
	if err := h.wait(t); err != nil {
		t.Fatalf("the helper after kill: %v", err)
	}
	if req, stops := h.fake.counts(); stops != 1 || req != 0 {
		t.Errorf("kill made %d stop requests and %d stops, want 0 and 1", req, stops)
	}
	checkGone(t, h.m, pidFile, recordFile, controlSock)
}

// The stop sequence never relies on the framework's stop request alone: a
// guest that ignores it is stopped when the grace is over, one that
// honours it is not.
func TestHelperStopSequence(t *testing.T) {
	const grace = 300 * time.Millisecond
	t.Run("guest ignores the request", func(t *testing.T) {
		h := startInProcess(t, false)
		start := time.Now()
		if resp := h.call(t, request{Op: opStop, GraceMs: grace.Milliseconds()}); resp.State != StateStopping {
			t.Errorf("stop answered %+v, want stopping", resp)
		}
		if resp := h.call(t, request{Op: opState}); resp.State != StateStopping {
			t.Errorf("state while stopping: %+v", resp)
		}
		if err := h.wait(t); err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took < grace {
			t.Errorf("stopped after %s, before the grace of %s", took, grace)
		}
		if req, stops := h.fake.counts(); req != 1 || stops != 1 {
			t.Errorf("%d stop requests and %d stops, want 1 and 1", req, stops)
		}
		checkGone(t, h.m, pidFile, recordFile, controlSock)
	})
	t.Run("guest honours the request", func(t *testing.T) {
		h := startInProcess(t, true)
		start := time.Now()
		h.call(t, request{Op: opStop, GraceMs: time.Minute.Milliseconds()})
		if err := h.wait(t); err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took > 10*time.Second {
			t.Errorf("the guest that powered off took %s", took)
		}
		if req, stops := h.fake.counts(); req != 1 || stops != 0 {
			t.Errorf("%d stop requests and %d stops, want 1 and 0", req, stops)
		}
		checkGone(t, h.m, pidFile, recordFile, controlSock)
	})
}

// A helper already running for the machine keeps it: a second one refuses
// through the pidfile and leaves the first one's files alone.
func TestHelperIsAlone(t *testing.T) {
	h := startInProcess(t, true)
	newHV := func(Spec, hypervisorFiles) (hypervisor, error) {
		t.Error("a second helper created a VM")
		return nil, errors.New("no")
	}
	// The pidfile names the first helper's process (this one), alive.
	err := runHelper(context.Background(), HelperOptions{StateDir: h.m.StateDir}, newHV)
	if err == nil || !strings.Contains(err.Error(), "already running") {
		t.Fatalf("second helper: %v, want already running", err)
	}
	if resp := h.call(t, request{Op: opState}); resp.State != StateRunning {
		t.Fatalf("the first helper after the second: %+v", resp)
	}
}

func TestHelperRefusesABadSpec(t *testing.T) {
	m := testMachine(t)
	newHV := func(Spec, hypervisorFiles) (hypervisor, error) { return nil, errors.New("unreachable") }
	o := HelperOptions{StateDir: m.StateDir}
	if err := runHelper(context.Background(), o, newHV); err == nil || !strings.Contains(err.Error(), "spec") {
		t.Errorf("no spec: %v", err)
	}
	if err := os.WriteFile(filepath.Join(m.StateDir, specFile), []byte(`{"cpus":0,"mtu":70000}`), 0o600); err != nil {
		t.Fatal(err)
	}
	err := runHelper(context.Background(), o, newHV)
	for _, want := range []string{"kernel", "consoleLog", "netSocket", "mac", "cpus", "mtu"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("bad spec: %v does not name %s", err, want)
		}
	}
	checkGone(t, m, pidFile, recordFile, controlSock)
}

func TestHelperWithoutVZCreatesNothing(t *testing.T) {
	m := testMachine(t)
	if err := runHelper(context.Background(), HelperOptions{StateDir: m.StateDir}, nil); !errors.Is(err, errNoVZ) {
		t.Fatalf("without a hypervisor: %v, want errNoVZ", err)
	}
	if entries, _ := os.ReadDir(m.StateDir); len(entries) != 0 {
		t.Errorf("it left %v", entries)
	}
}

// net.FileConn of the fake's card end, for deadlines.
func cardConn(t testing.TB, f *fakeVZ) net.Conn {
	t.Helper()
	c, err := net.FileConn(f.files.Net)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}
