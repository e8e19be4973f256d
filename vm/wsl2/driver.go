package wsl2

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/berth-dev/berth/guest/linkhello"
	"github.com/berth-dev/berth/internal/atomicfile"
	"github.com/berth-dev/berth/internal/proc"
	"github.com/berth-dev/berth/internal/winpath"
	"github.com/berth-dev/berth/vm"
)

// InitPath is the guest init in the image's root file system; it runs
// as `InitPath --wsl --config <the guest config's path inside WSL>`.
const InitPath = "/sbin/berth-init"

// InitArgs is the guest init's command line in the distro: its config,
// and the vsock port of its network link (LinkPort).
func InitArgs(distro, configPath string) []string {
	return []string{InitPath, "--wsl", "--config", configPath, "--link", linkArg(distro)}
}

// How long the driver's own calls may take, even when the caller's
// context has ended (they clean up).
const (
	terminateTimeout = time.Minute
	exitAfterTerm    = 10 * time.Second
	pollRunning      = 2 * time.Second
)

// Driver runs one machine as the WSL 2 distro berth-<machine>: it imports
// the image's root file system once, then runs the guest init in it as a
// long-lived `wsl.exe --exec` child, which also keeps WSL from stopping
// the idle distro. The guest listens on AF_VSOCK (LinkPort); DialLink
// reaches it over hvsock through the VM's id and checks the link header
// the init sends first (package linkhello).
type Driver struct {
	m      *vm.Machine
	distro string
	wsl    *Client
	hv     hvsockDialer
	vms    vmLister      // the compute systems, for the probe
	hello  time.Duration // how long a link's header may take

	mu      sync.Mutex
	cmd     *exec.Cmd       // the guest init's wsl.exe, when this driver started it
	pid     int             // the guest init's wsl.exe, started or adopted; 0 before
	done    chan struct{}   // closed once it has exited
	exitErr error           // its exit, once done
	vmID    string          // the VM's id, once found
	nonce   linkhello.Nonce // the init's, of this start
}

var (
	_ vm.Driver        = (*Driver)(nil)
	_ vm.LinkDialer    = (*Driver)(nil)
	_ vm.DiskOwner     = (*Driver)(nil)
	_ vm.Remover       = (*Driver)(nil)
	_ vm.Adopter       = (*Driver)(nil)
	_ vm.ProcessFinder = (*Driver)(nil)
)

// newDriver is the driver of m driving c and dialing through hv; New's
// parts, on any OS.
func newDriver(m *vm.Machine, c *Client, hv hvsockDialer) (*Driver, error) {
	distro, err := DistroName(m.Name)
	if err != nil {
		return nil, err
	}
	return &Driver{m: m, distro: distro, wsl: c, hv: hv, vms: newVMLister(), hello: helloTimeout}, nil
}

// Distro is the machine's distro name.
func (d *Driver) Distro() string { return d.distro }

func (d *Driver) path(name string) string { return filepath.Join(d.m.StateDir, name) }

// Start imports the image's root file system unless the distro exists,
// starts the guest init in it and returns once the init printed the boot
// marker. A missing or unusable WSL is the wrapper's error, which names
// the fix.
func (d *Driver) Start(ctx context.Context) error {
	if d.m.RootFS == "" || d.m.GuestConfig == "" {
		return errors.New("the wsl2 driver imports the image's root file system and hands the guest its config as a file: the machine's rootFS and guestConfig must be set")
	}
	if d.m.BootMarker == "" {
		return errors.New("the wsl2 driver needs the machine's boot marker to tell that the guest init runs")
	}
	cfgPath, err := winpath.MntPath(d.m.GuestConfig)
	if err != nil {
		return fmt.Errorf("the guest config must be on a Windows drive for WSL to reach it: %w", err)
	}
	d.mu.Lock()
	started := d.pid != 0
	d.mu.Unlock()
	if started {
		return errors.New("the wsl2 driver has started its VM already")
	}
	imported, err := d.wsl.EnsureImported(ctx, d.distro, d.path(distroDir), d.m.RootFS)
	if err != nil {
		return err
	}
	if imported {
		d.note("imported %s into %s as %s", d.m.RootFS, d.path(distroDir), d.distro)
	}
	return d.startInit(ctx, cfgPath)
}

// startInit runs the guest init and waits for its marker. The init's
// wsl.exe writes its output into the console log itself, not through this
// process, so that it runs on when the agent dies (adoption); the marker
// is watched for in the file.
func (d *Driver) startInit(ctx context.Context, cfgPath string) error {
	log, err := os.OpenFile(d.m.ConsoleLog, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("the guest console log: %w", err)
	}
	con := newConsole(nil, d.m.BootMarker)
	nonce, err := linkhello.NewNonce()
	if err != nil {
		log.Close()
		return err
	}
	// Not ctx: the init lives on after Start.
	cmd, err := d.wsl.Exec(context.Background(), d.distro, InitArgs(d.distro, cfgPath)...)
	if err != nil {
		log.Close()
		return err
	}
	// The nonce goes to the init alone, through its environment: WSLENV
	// names the Windows variables wsl.exe hands to the Linux process.
	cmd.Env = withWSLEnv(cmd.Env, linkhello.EnvVar, nonce.String())
	cmd.Stdout, cmd.Stderr = log, log
	err = cmd.Start()
	log.Close() // the child has its own handle
	if err != nil {
		return fmt.Errorf("starting the guest init (wsl.exe %s): %w", strings.Join(cmd.Args[1:], " "), err)
	}
	done := make(chan struct{})
	pid := cmd.Process.Pid
	d.mu.Lock()
	d.cmd, d.pid, d.done, d.exitErr, d.vmID, d.nonce = cmd, pid, done, nil, "", nonce
	d.mu.Unlock()
	d.writeRecord(pid, nonce)
	d.note("started the guest init: pid %d, wsl.exe %s", pid, strings.Join(cmd.Args[1:], " "))
	go func() {
		err := cmd.Wait()
		d.exited(err)
		close(done)
	}()
	followCtx, stopFollow := context.WithCancel(context.Background())
	followed := make(chan struct{})
	go func() {
		defer close(followed)
		followFile(followCtx, d.m.ConsoleLog, con, done)
	}()
	// The follower has the console log open: it is closed before Start
	// returns (Windows refuses to delete a file that is open).
	defer func() {
		stopFollow()
		<-followed
	}()
	select {
	case <-con.seen:
		return nil
	case <-done:
		<-followed // the file's last lines read
		select {
		case <-con.seen: // it ran, then exited: Wait tells
			return nil
		default:
		}
		return fmt.Errorf("the guest init in the WSL distro %s exited before it ran (%w); its last output:\n%s",
			d.distro, exitErr(d.exit()), con.last())
	case <-ctx.Done():
		_ = cmd.Process.Kill()
		<-done
		return fmt.Errorf("waiting for the guest init in the WSL distro %s: %w", d.distro, ctx.Err())
	}
}

func exitErr(err error) error {
	if err == nil {
		return errors.New("exit status 0")
	}
	return err
}

// exited records the init's end: its record goes.
func (d *Driver) exited(err error) {
	_ = os.Remove(d.path(recordFile))
	d.note("the guest init exited: %v", err)
	d.mu.Lock()
	d.exitErr = err
	d.mu.Unlock()
}

// running is the init's wsl.exe and its exit channel; 0 and nil when this
// driver neither started nor adopted one.
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

// Stop waits for the guest init to exit (the agent has asked the guest to
// shut down) until ctx ends, then terminates the distro, which stops its
// VM when no other distro runs; an init still running ends with it. It
// also stops a distro this process did not start.
func (d *Driver) Stop(ctx context.Context) error {
	_, done := d.running()
	waited := "it had exited"
	if done != nil {
		select {
		case <-done:
		case <-ctx.Done():
			waited = "it did not exit in time"
		}
	}
	if err := d.terminate(ctx); err != nil {
		return err
	}
	if done != nil {
		select {
		case <-done:
		case <-time.After(exitAfterTerm):
			return fmt.Errorf("the guest init did not exit when its distro %s was terminated (%s before)", d.distro, waited)
		}
	}
	return nil
}

// terminate stops the distro; one that is not registered is stopped.
func (d *Driver) terminate(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), terminateTimeout)
	defer cancel()
	err := d.wsl.Terminate(ctx, d.distro)
	if errors.Is(err, ErrDistroNotFound) {
		err = nil
	}
	if err != nil {
		d.note("terminating: %v", err)
		return fmt.Errorf("stopping the WSL distro %s: %w", d.distro, err)
	}
	d.note("terminated %s", d.distro)
	return nil
}

// Kill terminates the distro now and kills the guest init's wsl.exe.
func (d *Driver) Kill() error {
	err := d.terminate(context.Background())
	d.mu.Lock()
	cmd, pid, done := d.cmd, d.pid, d.done
	d.mu.Unlock()
	switch {
	case cmd != nil && !closed(done):
		// Once waited for, the process is gone: on Windows its handle is
		// closed and Kill answers EINVAL, not ErrProcessDone.
		if kerr := cmd.Process.Kill(); kerr != nil && !errors.Is(kerr, os.ErrProcessDone) && !closed(done) {
			err = errors.Join(err, kerr)
		}
	case pid != 0 && !closed(done): // adopted
		if kerr := proc.Kill(pid); kerr != nil && !errors.Is(kerr, proc.ErrNoProcess) && !closed(done) {
			err = errors.Join(err, kerr)
		}
	case pid == 0:
		// An init an earlier agent left, neither started nor adopted here.
		if rec, ok := d.liveRecord(); ok {
			if kerr := proc.Kill(rec.PID); kerr != nil && !errors.Is(kerr, proc.ErrNoProcess) {
				err = errors.Join(err, kerr)
			}
		}
	}
	return err
}

func closed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// Wait returns when the guest init has exited; for a distro this process
// did not start, when WSL no longer lists it as running.
func (d *Driver) Wait(ctx context.Context) error {
	if _, done := d.running(); done != nil {
		select {
		case <-done:
			return d.exit()
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	for {
		running, err := d.wsl.Running(ctx, d.distro)
		if err != nil || !running {
			return err
		}
		select {
		case <-time.After(pollRunning):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Info describes the VM: WSL 2 runs it on Hyper-V; the PID is the guest
// init's wsl.exe.
func (d *Driver) Info() vm.Info {
	info := vm.Info{Driver: DriverName, Accelerator: accelerator, FileSharing: shareDrvfs}
	info.PID, _ = d.running()
	return info
}

// EnsureDataDisk does nothing: the data disk is the distro's own
// ext4.vhdx, which the import in Start makes (at WSL's default size,
// .wslconfig's defaultVhdSize, sparse); an existing one is never touched.
func (d *Driver) EnsureDataDisk(string, int) error { return nil }

// GrowDataDisk sets the distro's disk to gib GiB (`wsl --manage --resize`,
// WSL 2.5 or later; the distro must be stopped, as it is before Start).
// Before the first import there is no disk to grow, and nothing is done.
func (d *Driver) GrowDataDisk(_ string, gib int) error {
	ctx, cancel := context.WithTimeout(context.Background(), terminateTimeout)
	defer cancel()
	ok, err := d.wsl.Exists(ctx, d.distro)
	if err != nil || !ok {
		return err
	}
	if err := d.wsl.Resize(ctx, d.distro, gib); err != nil {
		return fmt.Errorf("resizing the disk of the WSL distro %s: %w", d.distro, err)
	}
	d.note("resized the disk of %s to %d GiB", d.distro, gib)
	return nil
}

// Remove unregisters the distro, deleting its disk with the machine's
// images, containers and volumes; one that is not registered is gone.
func (d *Driver) Remove(ctx context.Context) error {
	err := d.wsl.Unregister(ctx, d.distro)
	if errors.Is(err, ErrDistroNotFound) {
		return nil
	}
	return err
}

// record is what recordFile holds while the guest init runs: what a later
// agent needs to adopt it.
type record struct {
	Distro string `json:"distro"`
	// PID is the init's wsl.exe; Identity tells it from a later process
	// with the same pid (proc.Identity: its start time).
	PID      int    `json:"pid"`
	Identity string `json:"identity,omitempty"`
	// Nonce is the one every link of this init opens with (linkhello).
	Nonce string `json:"nonce"`
}

func (d *Driver) writeRecord(pid int, nonce linkhello.Nonce) {
	id, err := proc.Identity(pid)
	if err != nil {
		d.note("the guest init's process identity: %v", err)
	}
	b, _ := json.Marshal(record{Distro: d.distro, PID: pid, Identity: id, Nonce: nonce.String()})
	if err := atomicfile.WriteFile(d.path(recordFile), b, 0o600); err != nil {
		d.note("writing %s: %v", recordFile, err)
	}
}

// liveRecord is the record of an init whose wsl.exe still runs: the same
// process (its identity unchanged) for this distro.
func (d *Driver) liveRecord() (record, bool) {
	var r record
	b, err := os.ReadFile(d.path(recordFile))
	if err != nil || json.Unmarshal(b, &r) != nil || r.Distro != d.distro || r.PID <= 0 {
		return record{}, false
	}
	if !proc.Alive(r.PID) {
		return record{}, false
	}
	if r.Identity != "" {
		if id, err := proc.Identity(r.PID); err != nil || id != r.Identity {
			return record{}, false // the pid is another process's now
		}
	}
	return r, true
}

// RunningPID implements vm.ProcessFinder: the guest init's wsl.exe, this
// driver's or an earlier agent's that still runs.
func (d *Driver) RunningPID() (int, bool) {
	if pid, done := d.running(); pid != 0 {
		return pid, !closed(done)
	}
	r, ok := d.liveRecord()
	return r.PID, ok
}

// adoptPoll is how often an adopted init's wsl.exe is looked at: it is
// not this process's child, so its exit is polled for.
const adoptPoll = 500 * time.Millisecond

// Adopt implements vm.Adopter: the guest init an agent that died left
// running, found through its record, whose wsl.exe is the same process
// and whose distro WSL lists as running. Its links then open with the
// record's nonce; Wait, Stop and Kill work on it. ErrNotRunning: there
// is none.
func (d *Driver) Adopt(ctx context.Context) error {
	if pid, _ := d.running(); pid != 0 {
		return errors.New("the wsl2 driver has a guest init already")
	}
	r, ok := d.liveRecord()
	if !ok {
		return vm.ErrNotRunning
	}
	nonce, err := linkhello.ParseNonce(r.Nonce)
	if err != nil {
		return fmt.Errorf("the record of the running guest init (%s): %w", recordFile, err)
	}
	running, err := d.wsl.Running(ctx, d.distro)
	if err != nil {
		return err
	}
	if !running {
		// A wsl.exe whose distro is gone is no VM: end it.
		_ = proc.Kill(r.PID)
		return vm.ErrNotRunning
	}
	done := make(chan struct{})
	d.mu.Lock()
	d.cmd, d.pid, d.done, d.exitErr, d.vmID, d.nonce = nil, r.PID, done, nil, "", nonce
	d.mu.Unlock()
	d.note("adopted the guest init: pid %d", r.PID)
	go func() {
		_ = proc.WaitExit(context.Background(), r.PID, adoptPoll)
		d.exited(nil)
		close(done)
	}()
	return nil
}

// note appends a line to the driver's log; a log that cannot be written
// loses the line.
func (d *Driver) note(format string, args ...any) {
	f, err := os.OpenFile(d.path(logFile), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return
	}
	defer f.Close()
	fmt.Fprintf(f, "%s %s\n", time.Now().Format(time.RFC3339), fmt.Sprintf(format, args...))
}
