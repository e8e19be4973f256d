package initd

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/guest/agentapi"
	"github.com/berth-dev/berth/guest/guestconfig"
)

// Init is the state of PID 1.
type Init struct {
	start   time.Time
	boot    *timeline
	console *console
	reaper  *Reaper
	cfg     guestconfig.Config
	// wsl: the init runs in a WSL2 distro (MainWSL), not as the VM's PID 1.
	wsl bool
	// listen opens the listener of the guest agent API or the engine's API
	// for a guestconfig port.
	listen func(port int) (net.Listener, error)
	// dataPath is where the engine's state lives (the data disk's mount,
	// or the distro's own disk in WSL).
	dataPath string

	containerd, dockerd *Supervisor
	// sftp: the shares mounted over the host agent's SFTP connections
	// (FileSharing sftp), nil otherwise.
	sftp *sftpShares

	mu           sync.Mutex
	warnings     []string
	disk         agentapi.DataDisk
	engineFailed string // a reason the engine cannot start at all
	ready        bool
	readyAt      *time.Time
	stopping     bool

	diskDone       chan struct{} // closed when the data disk is mounted or failed
	shutdownOnce   sync.Once
	shutdownCh     chan string
	dockerdStop    context.CancelFunc
	containerdStop context.CancelFunc
	dockerdDone    chan struct{}
	containerdDone chan struct{}
}

// Main is the init's entry point; it never returns. args are the
// program's arguments: `--wsl` and its flags select MainWSL, anything else
// is the VM's PID 1.
func Main(args []string) {
	opts, err := ParseArgs(args)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if opts.WSL {
		MainWSL(opts)
		return
	}
	if os.Getpid() != 1 {
		fmt.Fprintln(os.Stderr, "berth-init must run as PID 1 of the Berth VM (or with --wsl in a WSL2 distro)")
		os.Exit(2)
	}
	in := newInit()
	in.dataPath = dataMount
	defer func() {
		if r := recover(); r != nil {
			in.fatal(fmt.Errorf("panic: %v\n%s", r, debug.Stack()))
		}
	}()
	os.Setenv("PATH", systemPath)
	if err := raiseFileLimit(); err != nil {
		in.logf("%v", err)
	}
	// Take every signal before anything forks: SIGCHLD drives the reaper.
	sigs := make(chan os.Signal, 16)
	signal.Notify(sigs, unix.SIGCHLD, unix.SIGTERM, unix.SIGINT, unix.SIGPWR)
	in.goSafe("signals", func() { in.handleSignals(sigs) })
	// Ctrl-Alt-Del becomes SIGINT instead of an immediate reboot.
	_ = unix.Reboot(unix.LINUX_REBOOT_CMD_CAD_OFF)

	var cfgBytes []byte
	in.boot.mark(markKernel)
	if inInitramfs() {
		cfgBytes, err = in.stage1()
		in.boot.mark(markRootDisk)
	} else {
		cfgBytes, err = os.ReadFile(guestconfig.Path)
	}
	in.useConfig(cfgBytes, err, ParseConfig)
	in.disk.Device = in.cfg.DataDisk.Device
	in.stage2()
	reason := <-in.shutdownCh
	in.powerOff(reason)
}

func newInit() *Init {
	in := &Init{
		start:      time.Now(),
		console:    openConsole(),
		shutdownCh: make(chan string, 1),
		disk:       agentapi.DataDisk{State: agentapi.DiskPending},
		boot:       &timeline{since: sinceKernelStart},
	}
	in.reaper = NewReaper(waitAny)
	return in
}

// sinceKernelStart is CLOCK_BOOTTIME: the time since the kernel started,
// which the VM's boot timeline counts from.
func sinceKernelStart() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts); err != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}

func (in *Init) handleSignals(sigs <-chan os.Signal) {
	tick := time.NewTicker(5 * time.Second) // in case a SIGCHLD was coalesced away
	defer tick.Stop()
	for {
		select {
		case s := <-sigs:
			if s == unix.SIGCHLD {
				in.reaper.Reap()
				continue
			}
			in.Shutdown("signal " + s.String())
		case <-tick.C:
			in.reaper.Reap()
		}
	}
}

// Shutdown starts a clean power-off (agentapi.Backend).
func (in *Init) Shutdown(reason string) {
	in.shutdownOnce.Do(func() { in.shutdownCh <- reason })
}

// goSafe runs f in a goroutine; a panic there is reported, not turned
// into a kernel panic by PID 1's death.
func (in *Init) goSafe(name string, f func()) {
	go func() {
		defer func() {
			if r := recover(); r != nil {
				msg := fmt.Sprintf("%s: internal error: %v", name, r)
				in.mu.Lock()
				if in.engineFailed == "" {
					in.engineFailed = msg
				}
				in.mu.Unlock()
				in.warnf("%s\n%s", msg, debug.Stack())
			}
		}()
		f()
	}()
}

func (in *Init) logf(format string, args ...any) {
	in.console.printf("berth-init: [%6.2fs] %s", time.Since(in.start).Seconds(), fmt.Sprintf(format, args...))
}

// warnf records a problem that does not stop the machine.
func (in *Init) warnf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	in.mu.Lock()
	if len(in.warnings) < 100 {
		in.warnings = append(in.warnings, msg)
	}
	in.mu.Unlock()
	in.logf("warning: %s", msg)
}

// fatal reports an error that leaves nothing to run (no root disk, no
// config) and powers off: without a network the API cannot tell the host,
// so the console line is the report, and the host sees the VM exit.
// useConfig makes the machine config in b (read with err) the init's,
// parsed by parse; one that cannot be read or parsed is fatal, a warning
// goes to the console.
func (in *Init) useConfig(b []byte, err error, parse func([]byte) (guestconfig.Config, string, error)) {
	if err != nil {
		in.fatal(err)
	}
	cfg, warning, err := parse(b)
	if err != nil {
		in.fatal(err)
	}
	if warning != "" {
		in.warnf("%s", warning)
	}
	in.cfg = cfg
	in.console.debug = cfg.Debug
}

func (in *Init) fatal(err error) {
	msg := strings.ReplaceAll(err.Error(), "\n", " | ")
	in.console.printf("%s %s", guestconfig.MarkerInitFailed, msg)
	if in.wsl {
		os.Exit(1) // the host sees wsl.exe end
	}
	time.Sleep(time.Second) // let the console drain
	unix.Sync()
	in.console.printf("%s", guestconfig.MarkerPowerOff)
	_ = unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF)
	select {}
}

func (in *Init) debugSinks() []io.Writer {
	if in.console.debug {
		return []io.Writer{in.console}
	}
	return nil
}

// console writes whole lines to /dev/console.
type console struct {
	mu    sync.Mutex
	f     *os.File
	debug bool
}

func openConsole() *console {
	c := &console{f: os.Stdout}
	// The kernel opened /dev/console as our stdio if the initramfs had the
	// node; say we started before anything else either way.
	if _, err := io.WriteString(os.Stdout, guestconfig.MarkerInitStarted+"\n"); err == nil {
		return c
	}
	_ = os.MkdirAll("/dev", 0o755)
	_ = unix.Mount("devtmpfs", "/dev", "devtmpfs", unix.MS_NOSUID, "mode=0755")
	if f, err := os.OpenFile("/dev/console", os.O_RDWR|unix.O_NOCTTY, 0); err == nil {
		for fd := 0; fd <= 2; fd++ {
			_ = unix.Dup3(int(f.Fd()), fd, 0)
		}
		c.f = f
	}
	// Nothing to do if the console cannot take it: the boot goes on.
	_, _ = io.WriteString(c.f, guestconfig.MarkerInitStarted+"\n")
	return c
}

func (c *console) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.f.Write(p)
}

func (c *console) printf(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	if !strings.HasSuffix(s, "\n") {
		s += "\n"
	}
	_, _ = c.Write([]byte(s))
}
