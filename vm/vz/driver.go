package vz

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/berth-dev/berth/internal/atomicfile"
	"github.com/berth-dev/berth/internal/pidfile"
	"github.com/berth-dev/berth/internal/proc"
	"github.com/berth-dev/berth/vm"
)

// HelperCommand is the CLI's hidden command that runs the helper; the
// driver runs it from its own executable with --state-dir.
const HelperCommand = "vz-helper"

// Driver runs one machine under Virtualization.framework through its
// helper process (`berth vz-helper`), which it starts detached: the VM
// outlives the agent, and a later agent adopts the helper through its
// pidfile, its record and its control socket.
type Driver struct {
	m      *vm.Machine
	helper []string // the helper's command line, without --state-dir
	// host says whether this host and build can run the VM and, when they
	// can, the macOS version (hostVersion; tests stand in for a Mac).
	host func() (string, error)
	boot time.Duration

	mu      sync.Mutex
	cmd     *exec.Cmd     // the helper, when this driver started it
	pid     int           // the helper, started or adopted; 0 before
	done    chan struct{} // closed once it has exited
	exitErr error
}

var (
	_ vm.Driver        = (*Driver)(nil)
	_ vm.Adopter       = (*Driver)(nil)
	_ vm.ProcessFinder = (*Driver)(nil)
)

// Timeouts of the driver's own waits.
const (
	// bootTimeout: a vz guest reaches its init in a second or two; a
	// cold host may take longer to load the images.
	bootTimeout = time.Minute
	// stopMargin is kept from a Stop's deadline for the helper to end
	// the VM itself once the guest's grace is over.
	stopMargin = 5 * time.Second
	// killWait is how long Kill waits for the helper to end its VM before
	// it kills the helper, which ends the VM with it.
	killWait = 15 * time.Second
	// adoptPoll is how often an adopted helper is looked at: it is not
	// this process's child, so its exit is polled for.
	adoptPoll = 250 * time.Millisecond
)

// New returns the driver of m, whose helper is this executable's
// vz-helper command.
func New(m *vm.Machine) (*Driver, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("the vz driver runs its helper from this executable: %w", err)
	}
	return newDriver(m, []string{exe, HelperCommand}, hostVersion), nil
}

func newDriver(m *vm.Machine, helper []string, host func() (string, error)) *Driver {
	return &Driver{m: m, helper: helper, host: host, boot: bootTimeout}
}

func (d *Driver) path(name string) string { return filepath.Join(d.m.StateDir, name) }

// Start writes the VM's spec, starts the helper detached (its own session:
// it outlives the agent) and returns once the guest printed its boot
// marker. On failure no helper, socket or pidfile is left.
func (d *Driver) Start(ctx context.Context) error {
	version, err := d.host()
	if err != nil {
		return err
	}
	if err := checkArch(runtime.GOARCH, d.m.Arch); err != nil {
		return err
	}
	if d.m.BootMarker == "" {
		return errors.New("bootMarker: the vz driver needs it to tell that the guest's init runs")
	}
	spec, err := specFor(d.m)
	if err != nil {
		return fmt.Errorf("the vz driver: %w", err)
	}
	if spec, err = forHost(spec, d.m.Rosetta, d.m.StateDir, runtime.GOARCH, version); err != nil {
		return fmt.Errorf("the vz driver: %w", err)
	}
	if pid, done := d.running(); pid != 0 && !closed(done) {
		return errors.New("the vz driver has started its VM already")
	}
	if pid, alive := d.RunningPID(); alive {
		return fmt.Errorf("the vz helper (pid %d) from an earlier run still runs this machine", pid)
	}
	d.cleanFiles()
	_ = os.Remove(d.m.ConsoleLog) // an earlier boot's marker must not count
	b, _ := json.MarshalIndent(spec, "", "  ")
	if err := atomicfile.WriteFile(d.path(specFile), b, 0o600); err != nil {
		return fmt.Errorf("writing the VM's spec: %w", err)
	}
	if err := d.startHelper(); err != nil {
		_ = os.Remove(d.path(specFile))
		return err
	}
	if err := d.waitBoot(ctx); err != nil {
		d.killChild()
		return err
	}
	return nil
}

// startHelper runs the helper detached, its output in its log.
func (d *Driver) startHelper() error {
	logf, err := os.OpenFile(d.path(logFile), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("creating the vz helper's log: %w", err)
	}
	defer logf.Close() // the child has its own
	args := append(append([]string(nil), d.helper[1:]...), "--state-dir", d.m.StateDir)
	cmd := exec.Command(d.helper[0], args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	proc.Detach(cmd)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting the vz helper %s: %w", d.helper[0], err)
	}
	done := make(chan struct{})
	d.mu.Lock()
	d.cmd, d.pid, d.done, d.exitErr = cmd, cmd.Process.Pid, done, nil
	d.mu.Unlock()
	go func() {
		err := cmd.Wait()
		d.exited(err)
		close(done)
	}()
	return nil
}

// waitBoot returns once the console shows the boot marker and the helper
// has recorded its VM, or with why not.
func (d *Driver) waitBoot(ctx context.Context) error {
	_, done := d.running()
	deadline := time.NewTimer(d.boot)
	defer deadline.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	marker := []byte(d.m.BootMarker)
	for {
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for the vz guest to boot: %w", ctx.Err())
		case <-done:
			return fmt.Errorf("the vz helper exited before the guest booted (%w): %s", exitErr(d.exit()), d.logTail())
		case <-deadline.C:
			return fmt.Errorf("the vz guest did not reach its init within %s; guest console: %s", d.boot, d.m.ConsoleLog)
		case <-tick.C:
		}
		con, err := os.ReadFile(d.m.ConsoleLog)
		if err != nil || !bytes.Contains(con, marker) {
			continue
		}
		if _, err := os.Stat(d.path(recordFile)); err == nil {
			return nil
		}
	}
}

func exitErr(err error) error {
	if err == nil {
		return errors.New("exit status 0")
	}
	return err
}

// logTail is the end of the helper's log, for errors.
func (d *Driver) logTail() string {
	b, _ := os.ReadFile(d.path(logFile))
	s := strings.TrimSpace(string(b))
	if len(s) > 600 {
		s = "..." + s[len(s)-600:]
	}
	if s == "" {
		return "(no output)"
	}
	return strings.ReplaceAll(s, "\n", " | ")
}

// exited records the helper's end and removes what a helper that crashed
// left behind.
func (d *Driver) exited(err error) {
	d.mu.Lock()
	d.exitErr = err
	d.mu.Unlock()
	d.cleanFiles()
}

func (d *Driver) running() (int, chan struct{}) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.pid, d.done
}

func (d *Driver) exit() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.exitErr
}

// cleanFiles removes the helper's files when no helper runs: a helper
// removes them itself, one that crashed or was killed cannot.
func (d *Driver) cleanFiles() {
	if _, alive, err := pidfile.Read(d.path(pidFile)); err == nil && alive {
		return
	}
	for _, f := range []string{pidFile, recordFile, controlSock, specFile} {
		_ = os.Remove(d.path(f))
	}
	_ = os.Remove(d.m.Network.Socket)
}

// killChild kills and reaps a helper this driver started (its VM ends with
// it), after a failed start.
func (d *Driver) killChild() {
	d.mu.Lock()
	cmd, done := d.cmd, d.done
	d.mu.Unlock()
	if cmd == nil {
		return
	}
	if !closed(done) {
		_ = cmd.Process.Kill()
	}
	<-done
}

func closed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// Stop asks the helper to stop its VM and waits for it until ctx ends. The
// helper makes the framework's stop request, then, unlike QEMU's power
// button, ends the VM itself if the guest is still up when the grace is
// over (ctx's deadline less stopMargin): an arm64 guest without a GPIO
// power key never sees the request. The agent has asked the guest agent to
// power off before, so a healthy guest is usually gone already.
func (d *Driver) Stop(ctx context.Context) error {
	pid, alive := d.RunningPID()
	if !alive {
		return nil
	}
	grace := defaultGrace
	if dl, ok := ctx.Deadline(); ok {
		grace = max(time.Until(dl)-stopMargin, 0)
	}
	if _, err := callHelper(ctx, d.path(controlSock), request{Op: opStop, GraceMs: grace.Milliseconds()}); err != nil {
		return fmt.Errorf("asking the vz helper (pid %d) to stop: %w", pid, err)
	}
	return d.waitPID(ctx, pid)
}

// Kill ends the VM now: the helper stops it, and a helper that does not
// exit in killWait is killed, which ends its VM too.
func (d *Driver) Kill() error {
	pid, alive := d.RunningPID()
	if !alive {
		d.cleanFiles()
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), killWait)
	defer cancel()
	if _, err := callHelper(ctx, d.path(controlSock), request{Op: opKill}); err == nil {
		if d.waitPID(ctx, pid) == nil {
			return nil
		}
	}
	if err := proc.Kill(pid); err != nil && !errors.Is(err, proc.ErrNoProcess) {
		return fmt.Errorf("killing the vz helper (pid %d): %w", pid, err)
	}
	ctx, cancel = context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return d.waitPID(ctx, pid)
}

// waitPID waits for the helper to exit, and its files to be gone.
func (d *Driver) waitPID(ctx context.Context, pid int) error {
	if own, done := d.running(); own == pid && done != nil {
		select {
		case <-done:
			return nil
		case <-ctx.Done():
			return fmt.Errorf("waiting for the vz helper (pid %d) to exit: %w", pid, ctx.Err())
		}
	}
	if err := proc.WaitExit(ctx, pid, adoptPoll); err != nil {
		return err
	}
	d.cleanFiles()
	return nil
}

// Wait returns when the helper, and so the VM, has exited.
func (d *Driver) Wait(ctx context.Context) error {
	if _, done := d.running(); done != nil {
		select {
		case <-done:
			return d.exit()
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	pid, alive := d.RunningPID()
	if !alive {
		return nil
	}
	return d.waitPID(ctx, pid)
}

// Info describes the VM; PID is the helper's.
func (d *Driver) Info() vm.Info {
	info := vm.Info{Driver: DriverName, Accelerator: accelerator}
	if len(d.m.Shares) > 0 {
		info.FileSharing = shareVirtiofs
	}
	if pid, done := d.running(); pid != 0 && !closed(done) {
		info.PID = pid
	}
	return info
}

// RunningPID implements vm.ProcessFinder: this driver's helper, or one an
// earlier agent started that still runs (its pidfile says so, pid reuse
// told apart by the process's identity).
func (d *Driver) RunningPID() (int, bool) {
	if pid, done := d.running(); pid != 0 && !closed(done) {
		return pid, true
	}
	pid, alive, err := pidfile.Read(d.path(pidFile))
	if err != nil {
		return 0, false
	}
	return pid, alive
}

// Adopt implements vm.Adopter: a helper of this machine that still runs
// becomes this driver's, once its pidfile, its record and its answer on
// the control socket agree (the same pid, a running VM with this
// machine's card). ErrNotRunning: no helper runs.
func (d *Driver) Adopt(ctx context.Context) error {
	if pid, done := d.running(); pid != 0 && !closed(done) {
		return errors.New("the vz driver has a VM already")
	}
	pid, alive, err := pidfile.Read(d.path(pidFile))
	if err != nil || !alive {
		return vm.ErrNotRunning
	}
	var rec record
	b, err := os.ReadFile(d.path(recordFile))
	if err == nil {
		err = json.Unmarshal(b, &rec)
	}
	switch {
	case err != nil:
		return fmt.Errorf("the vz helper (pid %d) runs, but its record is unreadable: %w", pid, err)
	case rec.PID != pid:
		return fmt.Errorf("the vz helper (pid %d) runs, but its record names pid %d", pid, rec.PID)
	case rec.MAC != d.m.Network.MAC:
		return fmt.Errorf("the vz helper (pid %d) runs a card with MAC %s, not this machine's %s", pid, rec.MAC, d.m.Network.MAC)
	}
	if rec.Identity != "" {
		if id, err := proc.Identity(pid); err == nil && id != rec.Identity {
			return fmt.Errorf("pid %d is no longer the vz helper its record names", pid)
		}
	}
	resp, err := callHelper(ctx, d.path(controlSock), request{Op: opState})
	switch {
	case err != nil:
		return fmt.Errorf("the vz helper (pid %d) does not answer on its control socket: %w", pid, err)
	case resp.PID != pid:
		return fmt.Errorf("the vz helper's control socket is served by pid %d, not by the helper (pid %d)", resp.PID, pid)
	case resp.State != StateRunning:
		return fmt.Errorf("the vz helper's VM (pid %d) is %s, not running", pid, resp.State)
	}
	done := make(chan struct{})
	d.mu.Lock()
	d.cmd, d.pid, d.done, d.exitErr = nil, pid, done, nil
	d.mu.Unlock()
	go func() {
		_ = proc.WaitExit(context.Background(), pid, adoptPoll)
		d.exited(nil)
		close(done)
	}()
	return nil
}
