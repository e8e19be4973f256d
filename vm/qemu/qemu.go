// Package qemu runs a vm.Machine under QEMU: KVM on Linux, HVF on macOS,
// WHPX on Windows, and TCG (software emulation) anywhere, falling back on its
// own when an accelerator is present but cannot run the guest.
package qemu

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/berth-dev/berth/internal/proc"
	"github.com/berth-dev/berth/vm"
)

// Driver is the QEMU driver for one machine.
type Driver struct {
	m         *vm.Machine
	files     files
	log       *slog.Logger
	binary    string
	virtiofsd *virtiofsd // nil when the machine has no shares or the host no virtiofsd

	mu     sync.Mutex
	info   vm.Info
	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd has been waited for
	exit   error
	// saveKey is what a saved copy of the running VM is valid for
	// (save_linux.go); empty when the machine has no SaveKey.
	saveKey  string
	restored bool // the last Start restored a saved VM
}

var (
	_ vm.Driver        = (*Driver)(nil)
	_ vm.Adopter       = (*Driver)(nil)
	_ vm.ProcessFinder = (*Driver)(nil)
	_ vm.Pauser        = (*Driver)(nil)
)

// Timeouts for seeing the guest's boot marker. An accelerated boot reaches
// the init in about a second; software emulation on a busy host can take
// well over a minute.
const (
	acceleratedBootTimeout = 30 * time.Second
	tcgBootTimeout         = 5 * time.Minute
)

// New returns a driver for m.
func New(m *vm.Machine) (*Driver, error) {
	if err := checkLink(runtime.GOOS, m.Network.Link); err != nil {
		return nil, err
	}
	return &Driver{
		m:   m,
		log: slog.Default().With("driver", "qemu"),
		files: files{
			QMP:  filepath.Join(m.StateDir, qmpSockFile),
			PID:  filepath.Join(m.StateDir, pidFile),
			Log:  filepath.Join(m.StateDir, logFile),
			Info: filepath.Join(m.StateDir, infoFile),
		},
		info: vm.Info{Driver: "qemu"},
	}, nil
}

// checkLink refuses a network link QEMU cannot give the card on goos:
// vhost-user needs Linux (memfd guest RAM, eventfds).
func checkLink(goos string, link vm.Link) error {
	if link == vm.LinkVhostUser && goos != "linux" {
		return fmt.Errorf("network.link: %q needs a Linux host, not %s", link, goos)
	}
	return nil
}

// Info implements vm.Driver.
func (d *Driver) Info() vm.Info {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.info
}

// Start implements vm.Driver: it tries the accelerators best first and keeps
// the first that brings the guest's init up.
func (d *Driver) Start(ctx context.Context) error {
	bin, err := exec.LookPath(binaryName(d.m.Arch))
	if err != nil {
		return fmt.Errorf("%s not found: %s", binaryName(d.m.Arch), missingBinaryHint(runtime.GOOS, d.m.Arch))
	}
	d.binary = bin
	if len(d.m.Shares) > 0 && d.m.FileSharing == vm.ShareSFTP {
		d.virtiofsd = nil
		d.mu.Lock()
		d.info.FileSharing, d.info.FileSharingNote = vm.ShareSFTP, ""
		d.mu.Unlock()
	} else if len(d.m.Shares) > 0 {
		v, mode, note := chooseSharing(probeVirtiofsd(d.m.Virtiofsd))
		d.virtiofsd = v
		if v != nil {
			d.log.Info("sharing folders", "virtiofsd", strings.Join(v.prog.Command(), " "), "unprivileged", v.unprivileged)
		}
		d.mu.Lock()
		d.info.FileSharing, d.info.FileSharingNote = mode, note
		d.mu.Unlock()
	}
	if pid, alive := d.runningPID(); alive {
		return fmt.Errorf("QEMU (pid %d) from an earlier run still runs this machine", pid)
	}
	cands, note := d.accelerators()
	d.mu.Lock()
	d.restored = false
	d.mu.Unlock()
	if d.tryRestore(ctx, cands) {
		d.mu.Lock()
		d.info.AccelNote = note
		info := d.info
		d.mu.Unlock()
		if err := writeJSONFile(d.files.Info, info); err != nil {
			d.log.Warn("could not record the VM for a later agent to adopt", "err", err)
		}
		return nil
	}
	for i, accel := range cands {
		err := d.boot(ctx, accel)
		if err == nil {
			d.mu.Lock()
			d.info.Accelerator, d.info.AccelNote = accel, note
			info := d.info
			d.mu.Unlock()
			if i > 0 {
				d.saveVerdict(accel, note)
			}
			if err := writeJSONFile(d.files.Info, info); err != nil {
				d.log.Warn("could not record the VM for a later agent to adopt", "err", err)
			}
			return nil
		}
		if ctx.Err() != nil || !isAccelFailure(err) {
			return err
		}
		if i == len(cands)-1 {
			var ea *errAccel
			errors.As(err, &ea)
			return fmt.Errorf("the VM did not boot (%s): %s; guest console: %s", accel, ea.reason, d.m.ConsoleLog)
		}
		var ea *errAccel
		errors.As(err, &ea)
		note = fmt.Sprintf("%s is present but could not run the guest (%s); using %s instead", strings.ToUpper(accel), ea.reason, describeAccel(cands[i+1]))
		d.log.Warn("accelerator failed, falling back", "accel", accel, "next", cands[i+1], "reason", err.Error())
	}
	return errors.New("no accelerator to try")
}

// accelerators lists what to try, honouring an explicit choice and an earlier
// verdict for this host.
func (d *Driver) accelerators() ([]string, string) {
	if d.m.Accel != "" {
		return []string{d.m.Accel}, ""
	}
	cands := accelFor(runtime.GOOS, runtime.GOARCH, d.m.Arch, kvmUsable())
	if len(cands) > 1 {
		if v, ok := readVerdict(filepath.Join(d.m.StateDir, accelFile), d.verdictKey()); ok {
			return []string{v.Accelerator}, v.Note
		}
	}
	return cands, ""
}

func (d *Driver) verdictKey() string {
	return verdictKey(d.binary, d.m.Kernel, hostRelease())
}

func (d *Driver) saveVerdict(accel, note string) {
	v := verdict{Key: d.verdictKey(), Accelerator: accel, Note: note}
	if err := writeVerdict(filepath.Join(d.m.StateDir, accelFile), v); err != nil {
		d.log.Warn("could not remember the accelerator verdict", "err", err)
	}
}

// boot launches QEMU with one accelerator and waits for the boot marker.
func (d *Driver) boot(ctx context.Context, accel string) error {
	exited, err := d.launch(accel, nil)
	if err != nil {
		return err
	}
	timeout := tcgBootTimeout
	if accel != "tcg" {
		timeout = acceleratedBootTimeout
	}
	err = d.waitBoot(ctx, accel, timeout, exited)
	if err != nil {
		d.killChild()
	}
	return err
}

// launch starts QEMU (and the shares' virtiofsd) with one accelerator: a
// boot, or with restore set the restore of a saved VM from that file
// (save_linux.go). It returns the channel closed when QEMU exits.
func (d *Driver) launch(accel string, restore *os.File) (<-chan struct{}, error) {
	// QEMU does not replace a stale socket of its own.
	for _, f := range []string{d.files.QMP, d.files.PID, d.files.Info, d.m.Network.Socket, d.m.ConsoleLog} {
		_ = os.Remove(f)
	}
	logf, err := os.OpenFile(d.files.Log, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("creating QEMU log: %w", err)
	}
	defer logf.Close()
	stopShares := func() {}
	if len(d.m.Shares) > 0 && d.Info().FileSharing == shareVirtiofs {
		if stopShares, err = d.startVirtiofsd(d.virtiofsd); err != nil {
			// The engine is useful without them (a host that forbids
			// unprivileged user namespaces stops the daemon's sandbox);
			// status and the socket's bind errors say why.
			d.log.Warn("virtiofsd did not start; booting without shared folders", "err", err.Error())
			d.mu.Lock()
			d.info.FileSharing, d.info.FileSharingNote = "", "virtiofsd did not start ("+err.Error()+"), so folders are not shared"
			d.mu.Unlock()
			stopShares = func() {}
		}
	}
	mode := d.Info().FileSharing
	args := d.args(accel, mode, restore == nil)
	key := d.keyFor(accel, mode)
	if restore != nil {
		// QEMU waits for the saved RAM to be put back in its memfd, then
		// reads the devices' state from fd 3 (migrate-incoming), and
		// waits, paused, for the shares to be plugged (-S).
		args = append(args, "-incoming", "defer", "-S")
	}
	cmd := exec.Command(d.binary, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if restore != nil {
		cmd.ExtraFiles = []*os.File{restore}
	}
	// Its own session: a signal to the agent's terminal or group must not
	// take the VM down with it.
	proc.Detach(cmd)
	d.log.Info("starting QEMU", "accel", accel, "restore", restore != nil, "args", strings.Join(args, " "))
	if err := cmd.Start(); err != nil {
		stopShares()
		return nil, fmt.Errorf("starting %s: %w", d.binary, err)
	}
	exited := make(chan struct{})
	d.mu.Lock()
	d.cmd, d.exited, d.exit = cmd, exited, nil
	d.info.PID = cmd.Process.Pid
	d.saveKey = key
	d.mu.Unlock()
	go func() {
		err := cmd.Wait()
		stopShares()
		d.mu.Lock()
		d.exit = err
		d.info.PID = 0
		d.mu.Unlock()
		close(exited)
	}()
	return exited, nil
}

// args is QEMU's command line for a boot with accel; without devices, the
// shares' devices are left out (a restore plugs them).
func (d *Driver) args(accel, shareMode string, devices bool) []string {
	args := buildArgs(d.m, accel, d.files)
	args = append(args, sharedRAMArgs(d.m, shareMode)...)
	return append(args, shareArgsWith(d.m, shareMode, devices)...)
}

// waitBoot watches the console for the marker, the process for an early
// exit and the monitor for a VM that stopped on an internal error (what KVM
// does when it cannot emulate an instruction).
func (d *Driver) waitBoot(ctx context.Context, accel string, timeout time.Duration, exited <-chan struct{}) error {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	marker := []byte(d.m.BootMarker)
	var lastStatus time.Time
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-exited:
			return &errAccel{accel: accel, reason: "QEMU exited during boot: " + d.logTail()}
		case <-deadline.C:
			return &errAccel{accel: accel, reason: fmt.Sprintf("the guest did not reach its init within %s", timeout)}
		case <-tick.C:
		}
		if b, err := os.ReadFile(d.m.ConsoleLog); err == nil && bytes.Contains(b, marker) {
			return nil
		}
		if time.Since(lastStatus) > 500*time.Millisecond {
			lastStatus = time.Now()
			if st, err := queryStatus(d.files.QMP); err == nil && vmFailed(st) {
				return &errAccel{accel: accel, reason: fmt.Sprintf("VM stopped (%s): %s", st, d.logTail())}
			}
		}
	}
}

// vmFailed tells a run state that will not recover on its own.
func vmFailed(status string) bool {
	switch status {
	case "internal-error", "guest-panicked", "shutdown", "io-error":
		return true
	}
	return false
}

// logTail is the end of QEMU's own output, for error messages.
func (d *Driver) logTail() string {
	b, _ := os.ReadFile(d.files.Log)
	s := strings.TrimSpace(string(b))
	if len(s) > 600 {
		s = "..." + s[len(s)-600:]
	}
	if s == "" {
		return "(no output)"
	}
	return strings.ReplaceAll(s, "\n", " | ")
}

// Stop implements vm.Driver: ACPI power button, then wait. An arm64 guest
// has no button it can see: Stop says so at once, and the caller, who
// asked the guest agent first, forces the VM off.
func (d *Driver) Stop(ctx context.Context) error {
	pid, alive := d.runningPID()
	if !alive {
		return nil
	}
	if err := powerButton(d.m.Arch); err != nil {
		return err
	}
	if err := qmpCommand(d.files.QMP, "system_powerdown"); err != nil {
		return fmt.Errorf("asking the VM to power off: %w", err)
	}
	return d.waitPID(ctx, pid)
}

// powerButton says whether QEMU's system_powerdown reaches the guest's
// init. On arm64 QEMU's virt machine presses a GPIO key (ACPI needs
// firmware, and the kernel boots directly), and Debian's cloud kernel
// has no driver for GPIO keys (KEYBOARD_GPIO).
func powerButton(arch string) error {
	if arch == "arm64" {
		return fmt.Errorf("%w: an arm64 guest does not see QEMU's power button (a GPIO key; its kernel has no gpio-keys driver): only the guest agent can power it off cleanly", vm.ErrUnsupported)
	}
	return nil
}

// Kill implements vm.Driver.
func (d *Driver) Kill() error {
	if d.killChild() {
		return nil
	}
	pid, alive := d.runningPID()
	if !alive {
		d.cleanFiles()
		return nil
	}
	if err := proc.Kill(pid); err != nil {
		return fmt.Errorf("killing QEMU (pid %d): %w", pid, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := d.waitPID(ctx, pid)
	d.cleanFiles()
	return err
}

// killChild kills and reaps QEMU if this process started it.
func (d *Driver) killChild() bool {
	d.mu.Lock()
	cmd, exited := d.cmd, d.exited
	d.mu.Unlock()
	if cmd == nil {
		return false
	}
	select {
	case <-exited:
	default:
		_ = cmd.Process.Kill()
		<-exited
	}
	d.cleanFiles()
	return true
}

func (d *Driver) cleanFiles() {
	for _, f := range []string{d.files.QMP, d.files.PID, d.files.Info, d.m.Network.Socket} {
		_ = os.Remove(f)
	}
}

// Adopt implements vm.Adopter: a QEMU of this machine that still runs, as
// its pidfile, its record and its monitor say, becomes this driver's VM.
func (d *Driver) Adopt(ctx context.Context) error {
	pid, alive := d.runningPID()
	if !alive {
		return vm.ErrNotRunning
	}
	var info vm.Info
	b, err := os.ReadFile(d.files.Info)
	if err == nil {
		err = json.Unmarshal(b, &info)
	}
	if err != nil {
		return fmt.Errorf("QEMU (pid %d) runs, but its record is unreadable: %w", pid, err)
	}
	if info.PID != pid {
		return fmt.Errorf("QEMU (pid %d) runs, but its record names pid %d", pid, info.PID)
	}
	st, err := queryStatus(d.files.QMP)
	if err != nil {
		return fmt.Errorf("QEMU (pid %d) does not answer on its monitor: %w", pid, err)
	}
	if st == "paused" {
		// Paused by the resource saver of the agent that died: the next
		// agent starts with it running.
		if st, err = runState(d.files.QMP, "cont"); err != nil {
			return fmt.Errorf("QEMU (pid %d) is paused and does not resume: %w", pid, err)
		}
	}
	if st != "running" {
		return fmt.Errorf("QEMU (pid %d) is %s, not running", pid, st)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	d.mu.Lock()
	d.info = info
	d.mu.Unlock()
	return nil
}

// Pause implements vm.Pauser: QEMU stops the guest's CPUs.
func (d *Driver) Pause(ctx context.Context) error { return d.runState(ctx, "stop", "paused") }

// Resume implements vm.Pauser.
func (d *Driver) Resume(ctx context.Context) error { return d.runState(ctx, "cont", "running") }

// runState sends a monitor command and checks the run state it leads to.
func (d *Driver) runState(ctx context.Context, command, want string) error {
	if _, alive := d.runningPID(); !alive {
		return vm.ErrNotRunning
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	st, err := runState(d.files.QMP, command)
	if err != nil {
		return fmt.Errorf("QEMU %s: %w", command, err)
	}
	if st != want {
		return fmt.Errorf("QEMU %s: the VM is %s, not %s", command, st, want)
	}
	return nil
}

// Wait implements vm.Driver.
func (d *Driver) Wait(ctx context.Context) error {
	d.mu.Lock()
	exited := d.exited
	d.mu.Unlock()
	if exited != nil {
		select {
		case <-exited:
			d.mu.Lock()
			defer d.mu.Unlock()
			return d.exit
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	pid, alive := d.runningPID()
	if !alive {
		return nil
	}
	return d.waitPID(ctx, pid)
}

// Exited is closed when the QEMU this driver started has exited.
func (d *Driver) Exited() <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.exited
}

func (d *Driver) waitPID(ctx context.Context, pid int) error {
	d.mu.Lock()
	exited := d.exited
	d.mu.Unlock()
	if exited != nil {
		select {
		case <-exited:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if err := proc.WaitExit(ctx, pid, 100*time.Millisecond); err != nil {
		return err
	}
	waitSharesExit(ctx, d.m.StateDir, sharesExitWait)
	d.cleanFiles()
	return nil
}

// runningPID reads QEMU's pidfile and checks the process.
func (d *Driver) runningPID() (int, bool) {
	d.mu.Lock()
	if d.cmd != nil {
		select {
		case <-d.exited:
		default:
			pid := d.cmd.Process.Pid
			d.mu.Unlock()
			return pid, true
		}
	}
	d.mu.Unlock()
	b, err := os.ReadFile(d.files.PID)
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, false
	}
	return pid, proc.Alive(pid)
}

// RunningPID reports a QEMU of this machine that is alive, started by this
// process or an earlier one.
func (d *Driver) RunningPID() (int, bool) { return d.runningPID() }

func describeAccel(a string) string {
	if a == "tcg" {
		return "TCG (software emulation, slower)"
	}
	return strings.ToUpper(a)
}
