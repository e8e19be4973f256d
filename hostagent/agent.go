// Package hostagent is the per-machine daemon: it runs the virtual network,
// boots the VM through a vm.Driver, waits for the engine, serves the docker
// socket bridge and the control API, and stops everything in order.
package hostagent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/berth-dev/berth/config"
	"github.com/berth-dev/berth/guest/agentapi"
	"github.com/berth-dev/berth/guest/guestconfig"
	"github.com/berth-dev/berth/hostagent/api"
	"github.com/berth-dev/berth/hostagent/bridge"
	"github.com/berth-dev/berth/hostagent/dashboard"
	"github.com/berth-dev/berth/hostagent/events"
	"github.com/berth-dev/berth/hostagent/vnet"
	"github.com/berth-dev/berth/internal/engineswitch"
	"github.com/berth-dev/berth/internal/pidfile"
	"github.com/berth-dev/berth/internal/sockets"
	"github.com/berth-dev/berth/kernel"
	"github.com/berth-dev/berth/portfwd"
	"github.com/berth-dev/berth/store"
	"github.com/berth-dev/berth/vm"
)

// EnvGuestDebug, set to 1 in the agent's environment, puts the engine's
// own output on the guest console (serial.log).
const EnvGuestDebug = "BERTH_GUEST_DEBUG"

// EnvNetLink overrides how the VM's card meets the agent's network:
// "stream" or "vhost-user" (see vm.Link). For diagnosis and benchmarks.
const EnvNetLink = "BERTH_NET_LINK"

// netLink picks the network link from what the driver offers, best first:
// the first one the agent's network serves, or the one override (the
// BERTH_NET_LINK variable) names, when the driver offers it.
func netLink(offered []vm.LinkSpec, override string, serves func(vm.LinkSpec) bool) (vm.LinkSpec, error) {
	want := vm.Link(override)
	if override == "stream" {
		want = vm.LinkStream
	}
	if override != "" && (!want.Valid() || want == vm.LinkStream && override != "stream") {
		return vm.LinkSpec{}, fmt.Errorf("%s=%q: want \"stream\", %q, %q or %q", EnvNetLink, override, vm.LinkVhostUser, vm.LinkVfkit, vm.LinkHvsock)
	}
	var names []string
	for _, l := range offered {
		names = append(names, l.String())
		if override != "" && l.Link != want {
			continue
		}
		if serves(l) {
			return l, nil
		}
	}
	if override != "" {
		return vm.LinkSpec{}, fmt.Errorf("%s=%q: the driver offers %v, and the agent's network serves none of those here", EnvNetLink, override, names)
	}
	return vm.LinkSpec{}, fmt.Errorf("the driver offers the network links %v, and the agent's network serves none of them here", names)
}

// Options configure one agent run.
type Options struct {
	Machine store.Machine
	// Ports changes how published ports are forwarded to the host.
	Ports portfwd.Options
	// ImageDir holds the guest image for the machine's architecture.
	ImageDir string
	// Driver names the VM driver; empty picks the OS default.
	Driver string
	// Accel forces an accelerator; empty takes the config's, else the
	// best that works.
	Accel string
	// ConfigPath is the user's config file (config.yaml).
	ConfigPath string
	Log        *slog.Logger
	// EngineTimeout bounds the wait for the guest and its engine; zero is
	// five minutes (software emulation on a busy host is slow).
	EngineTimeout time.Duration
	// StandbyGrace is how long a stopped machine's agent waits, with no
	// dashboard page open, for one to come back (a reload) before it
	// exits; zero is standbyGrace.
	StandbyGrace time.Duration
}

// pageReporting makes the guest report free memory to the balloon in
// blocks of 128 KiB (order 5) rather than the kernel's default 2 MiB: after
// a container that held 1.5 GiB exits, the VM's footprint came back within
// 250 MiB of idle in a minute, where with 2 MiB blocks 390 MiB stayed
// (fragments); reporting every 4 KiB page kept the emulated guest too busy
// to stop a container in time (BenchmarkMemoryGivenBack).
const pageReporting = "page_reporting.page_reporting_order=5"

// Timeouts of the lifecycle. Software emulation on a busy host is slow, so
// these are generous; a healthy start under KVM takes a few seconds.
const (
	engineTimeout   = 5 * time.Minute
	guestStopWait   = 90 * time.Second // after the guest agent's shutdown
	acpiStopWait    = 30 * time.Second // after the power button
	healthPeriod    = 5 * time.Second
	kernelCmdline   = "quiet panic=-1 " + pageReporting
	guestRequestTTL = 5 * time.Second
)

// Agent is one running host agent.
type Agent struct {
	o     Options
	log   *slog.Logger
	hub   *events.Hub[api.Event]
	guest *agentapi.Client

	mu     sync.Mutex
	status api.Status

	engineDial bridge.Dialer // set once the engine answers
	// router re-points Docker's default pipe between the Linux and the
	// Windows engine; nil unless the agent serves that pipe on Windows.
	router *engineswitch.Router
	ports  *ports // set while port forwarding runs
	// saver pauses the idle VM (resourceSaver.idle); nil when off.
	saver *saver
	// running is the driver of the running VM, for the health checks;
	// nil before a VM runs.
	running vm.Driver
	// dashboard is the web page, nil when off or not started yet;
	// dashboardWhy then says why.
	dashboard    *dashboard.Server
	dashboardWhy string

	// base are the options as given: each run starts from them.
	base Options
	ctl  *control
}

// Run runs the agent until the machine stops for good: by a stop request,
// by ctx (a signal), or because the VM exited, once no dashboard page is
// open (a restart, or a start from the page, runs the machine again in the
// same agent: runs.go). It returns an error when the machine's last run
// could not start or ended unexpectedly.
func Run(ctx context.Context, o Options) (err error) {
	if o.Log == nil {
		o.Log = slog.Default()
	}
	a := &Agent{
		o: o, base: o, log: o.Log, hub: events.NewHub[api.Event](), ctl: newControl(),
		status: api.Status{
			Machine: o.Machine.Name, State: api.StateStarting, Phase: "preparing",
			DockerHost: o.Machine.DockerHost(), DockerSocket: o.Machine.DockerSocket(),
			AgentPID: os.Getpid(), StartedAt: time.Now(),
		},
	}
	defer a.hub.Close()

	// The directory of the sockets is private before any socket is made,
	// even if it was left with a wider mode.
	if err := o.Machine.Ensure(); err != nil {
		return err
	}
	pf, err := pidfile.Acquire(o.Machine.Path(store.AgentPIDFile))
	if err != nil {
		var running *pidfile.RunningError
		if errors.As(err, &running) {
			return fmt.Errorf("a host agent already runs machine %q (pid %d)", o.Machine.Name, running.PID)
		}
		return err
	}
	defer func() {
		if err := pf.Release(); err != nil {
			a.log.Warn("releasing the pidfile", "err", err)
		}
	}()
	if st := pf.Stale(); st != nil {
		a.log.Warn("removed a stale pidfile", "pid", st.PID, "reason", st.Reason)
	}

	var cleanups []func()
	defer func() {
		for i := len(cleanups) - 1; i >= 0; i-- {
			cleanups[i]()
		}
	}()

	// The control API comes first, so the CLI can follow the start.
	ctl, err := sockets.Listen(o.Machine.AgentSocket())
	if err != nil {
		return fmt.Errorf("control API: %w", err)
	}
	srv := &http.Server{Handler: a.handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ctl); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("control API stopped", "err", err)
		}
	}()
	cleanups = append(cleanups, func() {
		// Let followers see the final status before the socket goes.
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		a.hub.Close()
		_ = srv.Shutdown(sctx)
		_ = srv.Close()
		// A run that fails at once can end before Serve took the listener,
		// and then nothing else closes it (and removes its socket).
		_ = ctl.Close()
	})
	// The page outlives each run of the machine, and goes with the agent.
	cleanups = append(cleanups, a.closeDashboard)
	return a.runs(ctx)
}

// boot is what the start's stages hand on to each other.
type boot struct {
	caps     vm.Capabilities
	settings config.Resolved
	spec     MachineSpec
	// disk is set when the driver makes the data disk.
	disk   *driverDisk
	man    *kernel.Manifest
	shares sharePlan
	// shareMode is how the shares reach the guest (vm.ShareSFTP: sftp
	// serves them), of the driver's ShareTypes.
	shareMode string
	sftp      *sftpShares
	link      vm.LinkSpec
	network   *vnet.Network
	driver    vm.Driver
	// linkDriver is the driver, as soon as it exists, for a link the guest
	// listens on: the network dials through it.
	linkDriver atomic.Pointer[vm.Driver]
	vmDone     *vmExit
	booted     bootRecord
	adopted    bool // the VM was an earlier agent's
	restored   bool // the VM was restored from the one saved at the last stop
}

// stage is one step of the start; what it starts it undoes through a
// cleanup, run last-in first-out when the run ends, however it ends.
type stage struct {
	name string
	run  func(ctx context.Context, b *boot, cleanups *[]func()) error
}

// stages are the start, in order.
func (a *Agent) stages() []stage {
	return []stage{
		{"config", a.loadConfig},
		{"dashboard", a.startDashboard},
		{"machine files", a.prepareMachine},
		{"image", a.prepareImage},
		{"network", a.startNetwork},
		{"driver", a.startDriver},
		{"guest handshake", a.waitGuest},
		{"engine", a.serveEngine},
		{"forwards", a.startForwards},
	}
}

func (a *Agent) run(ctx context.Context, cleanups *[]func()) error {
	b := &boot{}
	tl := &api.Timeline{}
	for _, st := range a.stages() {
		began := time.Now()
		err := st.run(ctx, b, cleanups)
		tl.Stages = append(tl.Stages, api.Stage{Name: st.name, Seconds: time.Since(began).Seconds()})
		if err != nil {
			a.log.Error("start stage failed", "stage", st.name, "err", err)
			return err
		}
	}
	now := time.Now()
	ver, _ := engineVersion(ctx, b.network)
	tl.Adopted, tl.Restored = b.adopted, b.restored
	if !b.adopted && !b.restored {
		if h, err := a.guestHealth(ctx); err == nil {
			tl.Guest = h.Boot
		}
	}
	a.set(func(s *api.Status) {
		s.State, s.Phase, s.ReadyAt, s.EngineVersion, s.Timeline = api.StateRunning, "", now, ver, tl
	})
	a.log.Info("engine ready", "dockerHost", a.o.Machine.DockerHost(), "seconds", now.Sub(a.snapshot().StartedAt).Seconds())
	a.log.Info("start timeline", "stages", tl.Stages, "guest", tl.Guest, "adopted", tl.Adopted)
	if s := a.resourceSaver(); s != nil {
		s.Start()
	}
	err := a.supervise(ctx, b.vmDone)
	// No pause from here on; a paused VM resumes, to stop cleanly.
	a.closeSaver()
	return err
}

// loadConfig reads the driver's declaration and the user's config.
func (a *Agent) loadConfig(_ context.Context, b *boot, _ *[]func()) error {
	name, caps, err := vm.CapabilitiesOf(machineDriver(a.o.Machine, a.o.Driver), runtime.GOOS)
	if err != nil {
		return err
	}
	a.o.Driver, b.caps = name, caps
	if err := a.o.Machine.CheckSockets(socketFiles(caps.RuntimeFiles)...); err != nil {
		return err
	}
	settings, warnings, err := config.LoadResolved(a.o.ConfigPath, HostLimits())
	if err != nil {
		return err
	}
	for _, w := range warnings {
		a.log.Warn("config: "+w, "file", a.o.ConfigPath)
	}
	if a.o.Accel == "" {
		a.o.Accel = settings.Accel
	}
	if settings.DefaultBind == "loopback" { // ports.defaultBind
		a.o.Ports.LoopbackByDefault = true
	}
	b.settings = settings
	b.shares, err = planShares(runtime.GOOS, settings.Shares)
	if err != nil {
		return fmt.Errorf("%s: %w", a.o.ConfigPath, err)
	}
	if b.shareMode, err = fileSharing(caps.ShareTypes, os.Getenv(EnvFileSharing), len(b.shares.vm)); err != nil {
		return err
	}
	a.set(func(s *api.Status) { s.ConfigDigest = settings.Digest() })
	return nil
}

// prepareMachine creates the machine or applies the config's resources.
func (a *Agent) prepareMachine(_ context.Context, b *boot, _ *[]func()) error {
	m := a.o.Machine
	var disk Disk = RawDisk{}
	if b.caps.DataDisk.CreatedBy == vm.PartyDriver {
		b.disk = &driverDisk{}
		disk = b.disk
	}
	want := specFor(b.settings)
	want.Driver = a.o.Driver
	spec, created, changes, err := PrepareWith(m, want, disk)
	if err != nil {
		return fmt.Errorf("%s: %w", a.o.ConfigPath, err)
	}
	if created {
		a.log.Info("created machine", "dir", m.Dir, "arch", spec.Arch, "cpus", spec.CPUs, "memoryMiB", spec.MemoryMiB, "diskGiB", spec.DiskGiB)
	}
	if len(changes) > 0 {
		a.log.Info("applied config changes", "changes", changes)
	}
	b.spec = spec
	return nil
}

// prepareImage reads the guest image and writes what the driver's way of
// booting needs (for a kernel boot, the initrd with this boot's config).
func (a *Agent) prepareImage(_ context.Context, b *boot, _ *[]func()) error {
	man, err := kernel.ReadManifest(a.o.ImageDir)
	if err != nil {
		return err
	}
	if err := checkImageArch(man, a.o.ImageDir, b.spec.Arch); err != nil {
		return err
	}
	b.man = man
	a.set(func(s *api.Status) {
		s.ImageVersion, s.CPUs, s.MemoryMiB = man.Version, b.spec.CPUs, b.spec.MemoryMiB
	})
	cfg := guestconfig.Default()
	cfg.Shares = b.shares.guest
	if b.shareMode == vm.ShareSFTP {
		cfg.FileSharing = guestconfig.FileSharingSFTP
	}
	cfg.HostTime = time.Now()
	// Daemon output on the guest console (serial.log), for diagnosis.
	cfg.Debug = os.Getenv(EnvGuestDebug) == "1"
	cfg.Rosetta = rosetta(b.settings, b.caps, a.log)
	if err := applyEngine(&cfg, b.settings); err != nil {
		return fmt.Errorf("%s: %w", a.o.ConfigPath, err)
	}
	return prepareBoot(b.caps.Boot, a.o.Machine, a.o.ImageDir, cfg)
}

// startNetwork runs the virtual network on the link the driver offers.
func (a *Agent) startNetwork(_ context.Context, b *boot, cleanups *[]func()) error {
	link, err := netLink(b.caps.Links, os.Getenv(EnvNetLink), vnet.Serves)
	if err != nil {
		return err
	}
	dial := vnet.UnixSocket(a.o.Machine.Path(store.NetSock))
	if link.Link == vm.LinkVfkit {
		dial = vnet.UnixDatagram(a.o.Machine.Path(store.NetSock), a.o.Machine.Path(store.LinkSock))
	}
	if link.Listener == vm.PartyGuest {
		dial = func(ctx context.Context) (net.Conn, error) {
			d := b.linkDriver.Load()
			if d == nil {
				return nil, errors.New("the VM is not created yet")
			}
			return vm.DialLink(ctx, *d)
		}
	}
	netCtx, stopNet := context.WithCancel(context.Background())
	network, err := vnet.Start(netCtx, dial, link.Link, a.log)
	if err != nil {
		stopNet()
		return err
	}
	*cleanups = append(*cleanups, func() { stopNet(); network.Close() })
	b.link, b.network = link, network
	a.mu.Lock()
	a.guest = agentapi.NewClient(network.Dial)
	a.mu.Unlock()
	return nil
}

// startDriver adopts the VM an earlier agent left running, or boots one;
// from here on the VM does not outlive the agent's run.
func (a *Agent) startDriver(ctx context.Context, b *boot, cleanups *[]func()) error {
	m := a.o.Machine
	mach := describe(a.o, b.spec)
	mach.Network.Link = b.link.Link
	mach.Shares, mach.FileSharing = b.shares.vm, b.shareMode
	mach.Rosetta = rosetta(b.settings, b.caps, nil)
	mach.SaveKey = saveKey(b)
	mach.Virtiofsd = bundledVirtiofsd(a.o.ImageDir, b.man, runtime.GOARCH)
	if mach.Virtiofsd == nil && b.man.Virtiofsd != nil {
		a.log.Info("the image's virtiofsd is for another host architecture; using the host's", "image", b.man.Virtiofsd.HostArch(b.man.Arch), "host", runtime.GOARCH)
	}
	switch b.caps.Boot {
	case vm.BootRootFS:
		if err := forRootFSBoot(mach, a.o.ImageDir, b.man, m); err != nil {
			return err
		}
	case vm.BootService:
		// The service boots its own kernel, initrd and disks.
		mach.GuestConfig = m.Path(store.GuestConfig)
		mach.Kernel, mach.Initrd, mach.Cmdline, mach.Disks = "", "", "", nil
	}
	driver, err := vm.New(a.o.Driver, mach)
	if err != nil {
		return err
	}
	if b.disk != nil {
		if err := b.disk.apply(driver); err != nil {
			return err
		}
	}
	if b.link.Listener == vm.PartyGuest {
		if _, ok := driver.(vm.LinkDialer); !ok {
			return fmt.Errorf("the %s driver declares the %s link, where the guest listens, but cannot dial it (not a vm.LinkDialer)", a.o.Driver, b.link)
		}
		b.linkDriver.Store(&driver)
	}
	b.booted = bootRecord{ConfigDigest: b.settings.Digest(), Link: b.link.Link}
	adopted, err := a.adopt(ctx, driver, b.caps, b.booted)
	if err != nil {
		return err
	}
	b.adopted = adopted
	if !adopted {
		a.set(func(s *api.Status) { s.Phase = "booting" })
		if err := driver.Start(ctx); err != nil {
			// A driver that failed its start may still hold a process.
			if kerr := driver.Kill(); kerr != nil {
				a.log.Warn("killing the VM that did not boot", "err", kerr)
			}
			return fmt.Errorf("booting the VM: %w", err)
		}
		if s, ok := driver.(vm.Saver); ok && s.Restored() {
			b.restored = true
		}
		if err := writeBootRecord(m.Path(store.BootFile), b.booted); err != nil {
			a.log.Warn("could not record the boot for a later agent to adopt", "err", err)
		}
	}
	info := driver.Info()
	a.log.Info("guest init running", "accel", info.Accelerator, "note", info.AccelNote, "pid", info.PID, "adopted", adopted)
	a.set(func(s *api.Status) {
		s.Phase, s.Driver, s.Accelerator, s.AccelNote, s.VMPID = "engine", info.Driver, info.Accelerator, info.AccelNote, info.PID
		s.FileSharing, s.FileSharingNote, s.Shares = info.FileSharing, info.FileSharingNote, b.shares.describe()
	})
	b.shares.applyDriver(info)
	b.driver, b.vmDone = driver, watchVM(driver)
	a.mu.Lock()
	a.running = driver
	a.mu.Unlock()
	*cleanups = append(*cleanups, func() {
		a.mu.Lock()
		a.running = nil
		a.mu.Unlock()
		if !a.saveVM(driver, b) {
			a.stopVM(driver, b.vmDone)
		}
		// The shares served over SFTP end with the VM, not before: its
		// containers may write to them while they stop.
		if b.sftp != nil {
			b.sftp.stop()
		}
	})
	return nil
}

// waitGuest waits for the guest agent's first answer.
func (a *Agent) waitGuest(ctx context.Context, b *boot, _ *[]func()) error {
	err := a.waitFor(ctx, b.vmDone, "the guest agent", func(ctx context.Context) (bool, error, error) {
		_, err := a.guestHealth(ctx)
		return err == nil, err, nil
	})
	if err != nil {
		return err
	}
	// The guest waits for the shares that come over SFTP before it starts
	// the engine; a restored one mounts them again.
	a.startSFTPShares(b)
	if b.restored {
		a.afterRestore(ctx, b)
	}
	return nil
}

// serveEngine waits for the engine, then serves the docker socket (and
// the engine's metrics when asked).
func (a *Agent) serveEngine(ctx context.Context, b *boot, cleanups *[]func()) error {
	m, network := a.o.Machine, b.network
	if err := a.waitEngine(ctx, network, b.vmDone); err != nil {
		return err
	}
	a.startAgain(ctx, b)
	a.newResourceSaver(b, cleanups)
	lns, err := dockerListeners(m.DockerSocket(), m.DockerEngineSocket(), sockets.Listen, a.log)
	if err != nil {
		return err
	}
	bctx, stopBridge := context.WithCancel(context.Background())
	var bridges sync.WaitGroup
	linux := func() *bridge.Bridge {
		// One bridge per listener: a bridge's Serve ends every connection
		// it carries when it returns.
		return bridge.New(func(ctx context.Context) (net.Conn, error) {
			return network.DialGuest(ctx, guestconfig.DockerPort)
		}, a.log).WithPaths(b.shares.bridge).WithWaker(a.waker())
	}
	a.serveDocker(bctx, lns, linux, windowsEngineDialer(), &bridges)
	*cleanups = append(*cleanups, func() {
		stopBridge()
		bridges.Wait()
		a.set(func(st *api.Status) { st.DefaultEngine = "" })
		a.mu.Lock()
		a.router = nil
		a.mu.Unlock()
	})

	if b.settings.MetricsPort != 0 {
		stopMetrics, err := serveMetrics(b.settings.MetricsPort, network, a.waker(), a.log)
		if err != nil {
			return err
		}
		*cleanups = append(*cleanups, stopMetrics)
	}
	a.mu.Lock()
	a.engineDial = func(ctx context.Context) (net.Conn, error) { return network.DialGuest(ctx, guestconfig.DockerPort) }
	a.mu.Unlock()
	return nil
}

// startForwards forwards the engine's published ports to the host.
func (a *Agent) startForwards(_ context.Context, b *boot, cleanups *[]func()) error {
	stopPorts, err := a.startPorts(b.network)
	if err != nil {
		return err
	}
	*cleanups = append(*cleanups, stopPorts)
	return nil
}

// waitEngine waits until the guest reports a running engine and dockerd
// answers through the virtual network.
func (a *Agent) waitEngine(ctx context.Context, network *vnet.Network, vmDone *vmExit) error {
	return a.waitFor(ctx, vmDone, "the engine", func(ctx context.Context) (bool, error, error) {
		h, err := a.guestHealth(ctx)
		switch {
		case err != nil:
			return false, err, nil
		case h.Engine.State == agentapi.EngineFailed:
			return false, nil, fmt.Errorf("the engine failed to start in the guest: %s", h.Engine.Reason)
		case h.DataDisk.State == agentapi.DiskFailed:
			return false, nil, fmt.Errorf("the data disk could not be mounted: %s", h.DataDisk.Error)
		case h.Engine.State == agentapi.EngineRunning:
			err := pingDocker(ctx, network)
			return err == nil, err, nil
		}
		return false, errors.New("engine " + string(h.Engine.State)), nil
	})
}

// waitFor polls ready until it is done, fails, the VM exits, or the
// engine's time to start (Options.EngineTimeout) runs out; last says what
// it saw last, for the error.
//
//nolint:revive // ready's second error is what it saw, its third a failure
func (a *Agent) waitFor(ctx context.Context, vmDone *vmExit, what string, ready func(context.Context) (done bool, last, failed error)) error {
	timeout := a.o.EngineTimeout
	if timeout == 0 {
		timeout = engineTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	last := errors.New("no answer yet")
	for {
		done, seen, failed := ready(ctx)
		if failed != nil || done {
			return failed
		}
		// An attempt the deadline cut short saw only the deadline: the
		// one before it says more.
		if seen != nil && ctx.Err() == nil {
			last = seen
		}
		select {
		case <-vmDone.done:
			return fmt.Errorf("the VM exited while %s was starting (see %s): %w", what, a.o.Machine.Path(store.SerialLogFile), exitErr(vmDone.err))
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return fmt.Errorf("%s did not answer within %s (last: %w)", what, timeout, last)
			}
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func (a *Agent) guestHealth(ctx context.Context) (agentapi.Health, error) {
	ctx, cancel := context.WithTimeout(ctx, guestRequestTTL)
	defer cancel()
	return a.guestClient().Health(ctx)
}

// After a resume the health check first tries resumeAttempts times for
// resumeAttemptTTL each, then as usual. Now and then (one resume in 40
// under emulation here) the first connection into a VM that has just
// resumed loses its SYN, which TCP sends again only a second later; a new
// connection after a short wait does not wait for that, and the request
// that woke the VM waits for this check (it sets the guest's clock).
const (
	resumeAttempts   = 3
	resumeAttemptTTL = 250 * time.Millisecond
)

// guestHealthAfterResume is guestHealth with those first short tries; it
// also says when the try that answered was sent.
func (a *Agent) guestHealthAfterResume(ctx context.Context) (agentapi.Health, time.Time, error) {
	for range resumeAttempts {
		sent := time.Now()
		actx, cancel := context.WithTimeout(ctx, resumeAttemptTTL)
		h, err := a.guestClient().Health(actx)
		cancel()
		if err == nil || ctx.Err() != nil {
			return h, sent, err
		}
	}
	return a.guestHealthSent(ctx)
}

// guestHealthSent is guestHealth, saying when it was sent.
func (a *Agent) guestHealthSent(ctx context.Context) (agentapi.Health, time.Time, error) {
	sent := time.Now()
	h, err := a.guestHealth(ctx)
	return h, sent, err
}

// pingDocker checks dockerd end to end, over the same path the bridge uses.
func pingDocker(ctx context.Context, network *vnet.Network) error {
	_, err := engineVersion(ctx, network)
	return err
}

// engineVersion asks dockerd for its version, over the path the bridge uses.
func engineVersion(ctx context.Context, network *vnet.Network) (string, error) {
	return dockerVersion(ctx, network)
}

// supervise runs while the machine is up: it watches the VM and the
// engine's health until a stop is asked for or the VM exits.
func (a *Agent) supervise(ctx context.Context, vmDone *vmExit) error {
	t := time.NewTicker(healthPeriod)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			// A signal, or a request (stop, restart) ended the run.
			a.log.Info("stopping the machine")
			return nil
		case <-vmDone.done:
			return fmt.Errorf("the VM exited unexpectedly (see %s): %w", a.o.Machine.Path(store.SerialLogFile), exitErr(vmDone.err))
		case <-t.C:
			// Not while the resource saver has the VM paused: asking
			// would find it unreachable (and must not wake it).
			if release, ok := a.resourceSaver().Hold(); ok {
				a.checkHealth(ctx)
				release()
			}
		}
	}
}

// checkHealth turns the guest's health into running or degraded.
func (a *Agent) checkHealth(ctx context.Context) { a.checkHealthWith(ctx, a.guestHealthSent) }

// checkHealthWith is checkHealth asking the guest through health, which
// also says when the request that answered was sent.
func (a *Agent) checkHealthWith(ctx context.Context, health func(context.Context) (agentapi.Health, time.Time, error)) {
	a.mu.Lock()
	driver := a.running
	a.mu.Unlock()
	var down []vm.ShareDown
	if driver != nil {
		// A VM whose CPUs stopped by themselves (QEMU on a full host
		// disk) cannot answer: say why instead of asking.
		if stalled := vm.Stalled(ctx, driver); stalled != "" {
			a.setHealth(api.StateDegraded, stalled, nil)
			return
		}
		down = vm.SharesDown(driver)
	}
	h, sent, err := health(ctx)
	if err == nil {
		a.syncClock(ctx, h, sent, time.Now())
	}
	state, reason := api.StateRunning, ""
	switch {
	case err != nil:
		state, reason = api.StateDegraded, "guest agent unreachable: "+err.Error()
	case h.Engine.State != agentapi.EngineRunning:
		state, reason = api.StateDegraded, "engine "+string(h.Engine.State)
		if h.Engine.Reason != "" {
			reason += ": " + h.Engine.Reason
		}
	case h.DataDisk.State == agentapi.DiskMountedWithErrors:
		state, reason = api.StateDegraded, "data disk: "+h.DataDisk.Error
	case len(down) > 0:
		state, reason = api.StateDegraded, sharesDownReason(down)
	}
	var warnings []string
	if err == nil {
		warnings = h.Warnings
		if w := diskFullWarning(h.DataDisk); w != "" {
			warnings = append(slices.Clip(warnings), w)
		}
		a.mu.Lock()
		a.status.DiskBytes, a.status.DiskFreeBytes = h.DataDisk.SizeBytes, h.DataDisk.FreeBytes
		a.mu.Unlock()
	}
	a.setHealth(state, reason, warnings)
}

// setHealth records the health check's finding, and logs a change.
func (a *Agent) setHealth(state api.State, reason string, warnings []string) {
	cur := a.snapshot()
	if cur.State == state && cur.Error == reason && slices.Equal(cur.Warnings, warnings) && cur.PausedSince.IsZero() {
		return
	}
	a.log.Info("health changed", "state", state, "reason", reason, "warnings", warnings)
	a.set(func(s *api.Status) {
		s.State, s.Error, s.Warnings, s.PausedSince = state, reason, warnings, time.Time{}
	})
}

// stopVM stops the guest in stages: the guest agent's clean shutdown (the
// engine stops its containers), the power button, then force.
func (a *Agent) stopVM(d vm.Driver, vmDone *vmExit) {
	a.set(func(s *api.Status) { s.State, s.Phase = api.StateStopping, "engine" })
	select {
	case <-vmDone.done:
		// Nothing to shut down: asking a guest that is gone would only
		// keep a following `berth start` waiting.
		a.log.Info("the VM had already exited", "err", vmDone.err)
		return
	default:
	}
	ctx, cancel := context.WithTimeout(context.Background(), guestRequestTTL)
	err := a.guestClient().Shutdown(ctx)
	cancel()
	if err == nil {
		if waitDone(vmDone, guestStopWait) {
			a.log.Info("VM powered off")
			return
		}
		a.log.Warn("the guest did not power off in time", "waited", guestStopWait.String())
	} else {
		a.log.Warn("guest agent shutdown failed; using the power button", "err", err)
	}
	a.set(func(s *api.Status) { s.Phase = "power-off" })
	ctx, cancel = context.WithTimeout(context.Background(), acpiStopWait)
	err = d.Stop(ctx)
	cancel()
	if err == nil {
		return
	}
	a.log.Warn("forcing the VM off", "err", err)
	if err := d.Kill(); err != nil {
		a.log.Error("killing the VM", "err", err)
	}
}

// vmExit is closed when the VM has exited; every reader sees it (the
// start, the supervisor and the stop all watch the same exit).
type vmExit struct {
	done chan struct{}
	err  error
}

func watchVM(d vm.Driver) *vmExit {
	e := &vmExit{done: make(chan struct{})}
	go func() {
		e.err = d.Wait(context.Background())
		close(e.done)
	}()
	return e
}

func waitDone(e *vmExit, d time.Duration) bool {
	select {
	case <-e.done:
		if e.err != nil {
			slog.Debug("VM exit", "err", e.err)
		}
		return true
	case <-time.After(d):
		return false
	}
}

func (a *Agent) snapshot() api.Status {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.status
}

// set changes the status and publishes it.
func (a *Agent) set(f func(*api.Status)) {
	a.mu.Lock()
	f(&a.status)
	st := a.status
	a.mu.Unlock()
	a.hub.Publish(api.Event{Time: time.Now(), Type: "status", Status: &st})
}

func (a *Agent) engineDialer() bridge.Dialer {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.engineDial
}

// exitErr names a VM exit that carried no error of its own.
func exitErr(err error) error {
	if err == nil {
		return errors.New("it powered off")
	}
	return err
}

// guestClient is the guest agent's client, nil before the network exists.
func (a *Agent) guestClient() *agentapi.Client {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.guest
}
