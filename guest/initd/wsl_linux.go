package initd

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/berth-dev/berth/internal/arp"

	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/guest/agentapi"
	"github.com/berth-dev/berth/guest/guestconfig"
	"github.com/berth-dev/berth/guest/linkhello"
)

// wslDataPath holds the engine's state in WSL: the distro's own disk (a
// VHDX that WSL attaches and grows), not a data disk of Berth's.
const wslDataPath = "/var/lib/docker"

// linkFD is the file descriptor on which the launcher hands the init's
// copy the network link's listening socket.
const linkFD = 3

// MainWSL runs the init in a WSL2 distro, where Microsoft's /init is PID 1.
// Started as a process (by the host, `wsl.exe -d DISTRO -u root --exec
// /sbin/berth-init --wsl`), it opens the network link's listener (in the
// distro's network namespace, where the host's connections arrive), then
// starts itself again in a PID, mount and network namespace of its own and
// waits for that copy, passing it SIGTERM and SIGINT. The copy is PID 1
// there: every orphan of the engine lands on it and is reaped, kill(-1) at
// shutdown reaches exactly the engine's processes, and when it exits the
// kernel ends whatever is left and the engine's mounts, its eth0 and
// dockerd's iptables rules go with the namespaces: none of them touches
// the user's other distros, which share the WSL VM's network namespace.
// It never returns.
//
// The config comes on standard input (Options.Config "-"): the wsl.exe
// that starts the init is the one channel the host has anyway, so no
// second wsl.exe writes a file first, and no config of an earlier start is
// left on the distro's disk to be read by mistake. A file path serves
// starting it by hand.
func MainWSL(opts Options) {
	if os.Getpid() != 1 {
		os.Exit(relaunch(os.Args, opts.Link))
	}
	in := newInit()
	in.wsl = true
	// WSL's kernel started long before this distro: the timeline counts
	// from the init.
	in.boot.since = func() time.Duration { return time.Since(in.start) }
	in.boot.mark(markWSLStarted)
	in.dataPath = wslDataPath
	defer func() {
		if r := recover(); r != nil {
			in.fatal(fmt.Errorf("panic: %v\n%s", r, debug.Stack()))
		}
	}()
	os.Setenv("PATH", systemPath)
	if err := raiseFileLimit(); err != nil {
		in.logf("%v", err)
	}
	sigs := make(chan os.Signal, 16)
	signal.Notify(sigs, unix.SIGCHLD, unix.SIGTERM, unix.SIGINT, unix.SIGPWR)
	in.goSafe("signals", func() { in.handleSignals(sigs) })

	link, err := linkListener(opts.Link, linkFD)
	if err != nil {
		in.fatal(err)
	}
	cfgBytes, err := readWSLConfig(opts.Config, os.Stdin)
	in.useConfig(cfgBytes, err, ParseConfigWSL)
	in.listen = in.listenVM
	in.stageWSL(link)
	reason := <-in.shutdownCh
	in.powerOff(reason)
}

// relaunch opens the network link's listener, starts argv again as PID 1
// of new PID, mount and network namespaces with the listener on linkFD,
// and returns its exit code. A launcher that dies first (wsl.exe killed)
// sends the copy SIGTERM, which stops the engine cleanly.
func relaunch(argv []string, link Link) int {
	lf, err := listenLinkFile(link)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s %v\n", guestconfig.MarkerInitFailed, err)
		return 1
	}
	// The init itself, whatever its path in the distro.
	cmd := &exec.Cmd{Path: "/proc/self/exe", Args: argv, ExtraFiles: []*os.File{lf}}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags: unix.CLONE_NEWPID | unix.CLONE_NEWNS | unix.CLONE_NEWNET,
		Pdeathsig:  unix.SIGTERM,
	}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, unix.SIGTERM, unix.SIGINT, unix.SIGHUP)
	err = cmd.Start()
	lf.Close() // the copy holds it now
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s starting the init in namespaces of its own: %v\n", guestconfig.MarkerInitFailed, err)
		return 1
	}
	go func() {
		for range sigs {
			_ = cmd.Process.Signal(unix.SIGTERM)
		}
	}()
	err = cmd.Wait()
	if p := link.UnixPath(); p != "" {
		_ = os.Remove(p)
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return ee.ExitCode()
	}
	if err != nil {
		return 1
	}
	return 0
}

// readWSLConfig reads the machine config from path, or one JSON document
// from stdin for "-" (the host may keep the pipe open).
func readWSLConfig(path string, stdin io.Reader) ([]byte, error) {
	if path != "-" {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("reading machine config: %w", err)
		}
		return b, nil
	}
	var raw json.RawMessage
	if err := json.NewDecoder(stdin).Decode(&raw); err != nil {
		return nil, fmt.Errorf("reading machine config from standard input: %w", err)
	}
	return bytes.Clone(raw), nil
}

// stageWSL is stage 2 in a distro: the mounts the engine needs, eth0 (a
// tap joined to the host agent's switch through link) with the VM's
// static address and firewall, the listeners on the guest's address, the
// engine. No disk or module: WSL owns them.
func (in *Init) stageWSL(link net.Listener) {
	if err := mountWSL(); err != nil {
		in.warnf("%v", err)
	}
	_ = os.MkdirAll(runDir, 0o755)
	in.writeWSLHosts()
	for _, d := range []string{wslDataPath, "/var/lib/containerd"} {
		if err := os.MkdirAll(d, 0o710); err != nil {
			in.warnf("%v", err)
		}
	}
	in.registerBinfmt()
	in.disk = agentapi.DataDisk{State: agentapi.DiskMounted}
	in.diskDone = make(chan struct{})
	close(in.diskDone)

	// The tap first: the rest of the network setup is the VM's, on eth0.
	tap, netErr := openTap("eth0", guestconfig.GuestMAC)
	if netErr == nil {
		sw := &linkSwitch{tap: tap, logf: in.logf}
		// The host agent's proof that this link is this start's init: the
		// nonce it passed (through WSLENV) goes first on every link.
		if nonce, err := linkhello.FromEnv(); err == nil {
			sw.header = linkhello.Encode(nonce)
		} else {
			in.warnf("network link: %v; the host agent will refuse the link", err)
		}
		if hello, err := in.linkHello(); err == nil {
			sw.hello = hello
		} else {
			in.warnf("network link: %v", err)
		}
		in.goSafe("network link", func() { _ = sw.serve(link) })
		in.logf("network link: listening on %s", link.Addr())
		netErr = in.setupNetwork()
	}
	fwErr := in.afterNetwork(netErr)
	in.goSafe("engine", func() { in.startEngine(netErr, fwErr) })
}

// linkHello is the frame the init sends first on every new link: an ARP
// request from eth0 for the gateway. The switch learns which link the
// guest is on, and the gateway's stack the guest's MAC (an ARP request
// teaches its target the sender's): a connection the host started while
// the link was still being joined (its ARP request for the guest broadcast
// to no link) then goes out at once instead of at the stack's ARP retry, a
// second later.
func (in *Init) linkHello() ([]byte, error) {
	mac, err := net.ParseMAC(guestconfig.GuestMAC)
	if err != nil {
		return nil, err
	}
	ip, err := in.guestAddr()
	if err != nil {
		return nil, err
	}
	gw, err := netip.ParseAddr(in.cfg.Network.Gateway)
	if err != nil {
		return nil, err
	}
	return arp.Request(mac, ip, gw)
}

// writeWSLHosts writes /etc/hosts (wsl.conf tells WSL not to generate it;
// /etc/resolv.conf is the network setup's).
func (in *Init) writeWSLHosts() {
	h, _ := os.Hostname()
	hosts := "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
	if h != "" {
		hosts += "127.0.1.1\t" + h + "\n"
	}
	if err := replaceFile("/etc/hosts", hosts); err != nil {
		in.warnf("%v", err)
	}
}

// mountWSL mounts what the engine needs in the init's own mount namespace.
// Mounts of the distro (Windows drives under /mnt) still reach it; none of
// the engine's reach the distro. /proc is always new (it shows this PID
// namespace), /sys too (its /sys/class/net shows this network namespace's
// devices), /run too (dockerd's and containerd's sockets and pid files,
// none left from a start before); the rest only where the distro lacks it.
func mountWSL() error {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_SLAVE, ""); err != nil {
		return fmt.Errorf("making / a slave mount: %w", err)
	}
	const nosuid, nodev, noexec = unix.MS_NOSUID, unix.MS_NODEV, unix.MS_NOEXEC
	specs := []mountSpec{
		{source: "proc", target: "/proc", fstype: "proc", flags: nosuid | nodev | noexec},
		{source: "sysfs", target: "/sys", fstype: "sysfs", flags: nosuid | nodev | noexec},
		{source: "tmpfs", target: "/run", fstype: "tmpfs", flags: nosuid | nodev, data: "mode=0755"},
	}
	missing := func(path string, magic int64) bool {
		var st unix.Statfs_t
		return unix.Statfs(path, &st) != nil || st.Type != magic // int64 on the guest's amd64 and arm64
	}
	if _, err := os.Stat("/dev/null"); err != nil {
		specs = append(specs, mountSpec{source: "devtmpfs", target: "/dev", fstype: "devtmpfs", flags: nosuid, data: "mode=0755"})
	}
	var errs []error
	if err := mountAll(specs); err != nil {
		errs = append(errs, err)
	}
	// After /sys and /dev: these are inside them.
	var inner []mountSpec
	if missing("/dev/pts", unix.DEVPTS_SUPER_MAGIC) {
		inner = append(inner, mountSpec{source: "devpts", target: "/dev/pts", fstype: "devpts", flags: nosuid | noexec, data: "newinstance,ptmxmode=0666,mode=0620,gid=5"})
	}
	if missing("/dev/shm", unix.TMPFS_MAGIC) {
		inner = append(inner, mountSpec{source: "shm", target: "/dev/shm", fstype: "tmpfs", flags: nosuid | nodev, data: "mode=1777"})
	}
	if missing("/sys/fs/cgroup", unix.CGROUP2_SUPER_MAGIC) {
		// Without nsdelegate: in WSL (and in a test on a host) this is the
		// machine's one cgroup2 hierarchy, whose options are not ours.
		inner = append(inner, mountSpec{source: "cgroup2", target: "/sys/fs/cgroup", fstype: "cgroup2", flags: nosuid | nodev | noexec})
	}
	if err := mountAll(inner); err != nil {
		errs = append(errs, err)
	}
	for name, target := range map[string]string{
		"/dev/fd": "/proc/self/fd", "/dev/stdin": "/proc/self/fd/0",
		"/dev/stdout": "/proc/self/fd/1", "/dev/stderr": "/proc/self/fd/2",
	} {
		_ = os.Symlink(target, name)
	}
	return errors.Join(errs...)
}
