package initd

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/guest/agentapi"
	"github.com/berth-dev/berth/guest/guestconfig"
)

const runDir = "/run/berth"

// stage2 brings the machine up on the real root. Every error here is
// recorded and reported through the API; none stops PID 1.
func (in *Init) stage2() {
	in.listen = in.listenVM
	if err := mountSystem(); err != nil {
		in.warnf("%v", err)
	}
	_ = os.MkdirAll(runDir, 0o755)
	in.setClock()
	in.setHostname()

	in.diskDone = make(chan struct{})
	in.goSafe("data disk", func() {
		defer close(in.diskDone)
		in.prepareDataDisk(context.Background())
		in.boot.mark(markDataDisk)
	})

	in.loadModules()
	in.boot.mark(markModules)
	in.registerBinfmt()
	in.goSafe("power button", in.watchPowerButton)
	in.setPoweroffCmd()
	var netErr error
	if in.cfg.Link != "" {
		netErr = in.startLinkTap()
	}
	if netErr == nil {
		netErr = in.setupNetwork()
	}
	fwErr := in.afterNetwork(netErr)
	in.mountShares()
	in.goSafe("engine", func() {
		<-in.diskDone
		in.startEngine(netErr, fwErr)
	})
}

// afterNetwork records how the network came up (netErr: a warning, else
// its mark on the timeline), then serves the API behind the firewall and
// returns the firewall's error; the VM and WSL modes both end their
// network setup here.
func (in *Init) afterNetwork(netErr error) error {
	if netErr != nil {
		in.warnf("network: %v", netErr)
	} else {
		in.boot.mark(markNetwork)
	}
	fwErr := in.serveAPIBehindFirewall()
	in.boot.mark(markAPI)
	return fwErr
}

// serveAPIBehindFirewall sets up the firewall and, only once it stands,
// serves the guest agent API; the firewall's error is the engine's too.
func (in *Init) serveAPIBehindFirewall() error {
	fwErr := in.setupFirewall()
	if fwErr != nil {
		in.warnf("firewall: %v", fwErr)
	}
	if fwErr == nil {
		in.goSafe("guest agent API", in.serveAPI)
	} else {
		in.logf("not serving the guest agent API: without the firewall anything on the network could reach it")
	}
	return fwErr
}

// poweroffCmd is what the kernel runs when something asks the machine to
// power off in an orderly way (orderly_poweroff: Hyper-V's shutdown
// request through hv_utils): a SIGPWR to this init, which stops the engine
// and powers off. The default, /sbin/poweroff, does not exist in the
// image, and the kernel would then power off at once.
const poweroffCmd = "/usr/bin/busybox kill -PWR 1"

func (in *Init) setPoweroffCmd() {
	if err := os.WriteFile("/proc/sys/kernel/poweroff_cmd", []byte(poweroffCmd+"\n"), 0o644); err != nil {
		in.warnf("setting the kernel's poweroff command: %v", err)
	}
}

// startLinkTap makes eth0 a tap joined to the host agent's switch through
// the config's link, in a VM without a card of Berth's (a Hyper-V VM: the
// AF_VSOCK port the host dials over hv_sock), as the WSL mode does; the
// rest of the network setup is the VM's. The VM is the machine's own and
// the host dials it by its id, so no link header is sent.
func (in *Init) startLinkTap() error {
	link, err := ParseLink(in.cfg.Link)
	if err != nil {
		return err
	}
	l, err := listenVsock(link.VsockPort())
	if err != nil {
		return fmt.Errorf("network link: listening on vsock port %d (is hv_sock loaded?): %w", link.VsockPort(), err)
	}
	tap, err := openTap("eth0", guestconfig.GuestMAC)
	if err != nil {
		l.Close()
		return err
	}
	sw := &linkSwitch{tap: tap, logf: in.logf}
	if hello, err := in.linkHello(); err == nil {
		sw.hello = hello
	} else {
		in.warnf("network link: %v", err)
	}
	in.goSafe("network link", func() { _ = sw.serve(l) })
	in.logf("network link: listening on %s", l.Addr())
	return nil
}

func mountSystem() error {
	const nosuid, nodev, noexec = unix.MS_NOSUID, unix.MS_NODEV, unix.MS_NOEXEC
	err := mountAll([]mountSpec{
		{source: "proc", target: "/proc", fstype: "proc", flags: nosuid | nodev | noexec},
		{source: "sysfs", target: "/sys", fstype: "sysfs", flags: nosuid | nodev | noexec},
		{source: "devtmpfs", target: "/dev", fstype: "devtmpfs", flags: nosuid, data: "mode=0755"},
		{source: "devpts", target: "/dev/pts", fstype: "devpts", flags: nosuid | noexec, data: "newinstance,ptmxmode=0666,mode=0620,gid=5"},
		{source: "shm", target: "/dev/shm", fstype: "tmpfs", flags: nosuid | nodev, data: "mode=1777"},
		{source: "mqueue", target: "/dev/mqueue", fstype: "mqueue", flags: nosuid | nodev | noexec, optional: true},
		{source: "tmpfs", target: "/run", fstype: "tmpfs", flags: nosuid | nodev, data: "mode=0755"},
		{source: "tmpfs", target: "/tmp", fstype: "tmpfs", flags: nosuid | nodev, data: "mode=1777"},
		{source: "cgroup2", target: "/sys/fs/cgroup", fstype: "cgroup2", flags: nosuid | nodev | noexec, data: "nsdelegate"},
		{source: "bpf", target: "/sys/fs/bpf", fstype: "bpf", flags: nosuid | nodev | noexec, optional: true},
	})
	for name, target := range map[string]string{
		"/dev/fd": "/proc/self/fd", "/dev/stdin": "/proc/self/fd/0",
		"/dev/stdout": "/proc/self/fd/1", "/dev/stderr": "/proc/self/fd/2",
	} {
		_ = os.Symlink(target, name)
	}
	// dockerd's pid file and sockets must be on tmpfs: a stale pid file on
	// disk after a power cut stops dockerd from starting.
	if fi, e := os.Lstat("/var/run"); e != nil || fi.Mode()&os.ModeSymlink == 0 {
		_ = os.RemoveAll("/var/run")
		_ = os.MkdirAll("/var", 0o755)
		if e := os.Symlink("/run", "/var/run"); e != nil {
			err = errors.Join(err, fmt.Errorf("linking /var/run to /run: %w", e))
		}
	}
	return err
}

// setClock moves the clock forward to the host's time when it is behind
// (a hypervisor without an RTC, a VM restored from a snapshot).
func (in *Init) setClock() {
	if in.cfg.HostTime.IsZero() || !time.Now().Before(in.cfg.HostTime.Add(-2*time.Second)) {
		return
	}
	tv := unix.NsecToTimeval(in.cfg.HostTime.UnixNano())
	if err := unix.Settimeofday(&tv); err != nil {
		in.warnf("setting the clock to the host's: %v", err)
	}
}

func (in *Init) setHostname() {
	h := in.cfg.Hostname
	if err := unix.Sethostname([]byte(h)); err != nil {
		in.warnf("setting hostname: %v", err)
	}
	hosts := fmt.Sprintf("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t%s\n", h)
	for path, data := range map[string]string{"/etc/hostname": h + "\n", "/etc/hosts": hosts} {
		if err := replaceFile(path, data); err != nil {
			in.warnf("%v", err)
		}
	}
}

// replaceFile writes a file anew, replacing a symlink rather than
// following it.
func replaceFile(path, data string) error {
	_ = os.Remove(path)
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// extraModules are loaded after the configured ones for the init's own
// needs: the ACPI power button and its input events. Either may be built in.
var extraModules = []string{"button", "evdev"}

// loadModules loads config.Modules with one modprobe (each process costs
// time under emulation); on failure it retries one by one to name the
// culprits.
func (in *Init) loadModules() {
	mods := append(append([]string{}, in.cfg.Modules...), extraModules...)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, _, err := in.run(ctx, append([]string{"modprobe", "-a"}, mods...)...); err == nil {
		return
	}
	for _, m := range mods {
		if _, _, err := in.run(ctx, "modprobe", m); err != nil {
			in.warnf("loading module %s: %v", m, err)
		}
	}
}

func (in *Init) guestAddr() (netip.Addr, error) {
	p, err := netip.ParsePrefix(in.cfg.Network.Address)
	return p.Addr(), err
}

func (in *Init) setupNetwork() error {
	n := in.cfg.Network
	if err := waitForFile("/sys/class/net/eth0", 10*time.Second); err != nil {
		return fmt.Errorf("no eth0 (is virtio_net loaded?): %w", err)
	}
	var b strings.Builder
	b.WriteString("link set dev lo up\n")
	if n.MTU > 0 {
		fmt.Fprintf(&b, "link set dev eth0 mtu %d\n", n.MTU)
	}
	fmt.Fprintf(&b, "addr add %s dev eth0\n", n.Address)
	fmt.Fprintf(&b, "addr add %s/32 dev eth0\n", guestconfig.GuestLoopbackIP)
	b.WriteString("link set dev eth0 up\n")
	fmt.Fprintf(&b, "route add default via %s dev eth0\n", n.Gateway)
	batch := runDir + "/network.ip"
	if err := os.WriteFile(batch, []byte(b.String()), 0o644); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, _, err := in.run(ctx, "ip", "-batch", batch); err != nil {
		return err
	}
	// Lets the firewall's DNAT from the loopback alias to 127.0.0.1 through.
	if err := os.WriteFile("/proc/sys/net/ipv4/conf/eth0/route_localnet", []byte("1\n"), 0o644); err != nil {
		return fmt.Errorf("route_localnet: %w", err)
	}
	var rc strings.Builder
	for _, d := range n.DNS {
		fmt.Fprintf(&rc, "nameserver %s\n", d)
	}
	return replaceFile("/etc/resolv.conf", rc.String())
}

func (in *Init) setupFirewall() error {
	path := runDir + "/firewall.rules"
	if err := os.WriteFile(path, []byte(FirewallRules(in.cfg.Network.AllowFrom)), 0o644); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, _, err := in.run(ctx, "iptables-restore", "--noflush", path)
	return err
}

// listenVM listens on the guest's private address (the firewall admits
// only the host agent).
func (in *Init) listenVM(port int) (net.Listener, error) {
	ip, err := in.guestAddr()
	if err != nil {
		return nil, err
	}
	return net.Listen("tcp", net.JoinHostPort(ip.String(), strconv.Itoa(port)))
}

func (in *Init) serveAPI() {
	srv := &http.Server{
		Handler:           agentapi.NewHandler(in),
		ReadHeaderTimeout: 10 * time.Second,
	}
	for {
		l, err := in.listen(guestconfig.AgentPort)
		if err != nil {
			in.logf("guest agent API: %v; retrying", err)
			time.Sleep(time.Second)
			continue
		}
		in.logf("guest agent API on %s %s", l.Addr().Network(), l.Addr())
		err = srv.Serve(l)
		in.logf("guest agent API stopped: %v; restarting", err)
		time.Sleep(time.Second)
	}
}
