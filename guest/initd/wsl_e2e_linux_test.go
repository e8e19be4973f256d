package initd_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/guest/agentapi"
	"github.com/berth-dev/berth/guest/guestconfig"
	"github.com/berth-dev/berth/guest/initd"
	"github.com/berth-dev/berth/guest/linkhello"
	"github.com/berth-dev/berth/hostagent/vnet"
	"github.com/berth-dev/berth/internal/netpipe"
	"github.com/berth-dev/berth/kernel"
	"github.com/berth-dev/berth/vm"
)

// TestWSLInit runs the WSL flavour of the guest the way a WSL2 distro
// would, on this Linux host, and joins it the way the host agent does: the
// image's wsl-rootfs.tar.gz unpacked on a tmpfs as the distro's root, a
// mount and network namespace standing in for the distro (unshare, then
// what Microsoft's /init does: /proc, /sys, /dev, loopback up), and
// `/sbin/berth-init --wsl` started there as a process (not PID 1) with the
// config on standard input. The test's side runs the agent's real switch
// (vnet.Start, link type vm.LinkHvsock) joined to the init's network link,
// and reaches the guest agent API and dockerd (the Docker API and a
// container of a FROM-scratch busybox image) only through it, at the
// guest's address. It checks that the init's eth0 is in a network
// namespace of its own (the distro's has none of it), that a dropped link
// is joined again by a new switch with the engine still running, that the
// init stops cleanly when the guest agent is asked to, reaps every process
// of its PID namespace and leaves no mount behind.
//
// The link: on Windows the agent dials the init's AF_VSOCK port
// guestconfig.LinkVsockPort over hvsock. The kernel here has AF_VSOCK but
// no loopback transport (no vsock_loopback: a connection to CID 1 fails),
// so nothing on this machine can dial a vsock listener of its own; the
// init therefore listens on a unix socket in the distro's file system
// instead (--link unix:PATH), which carries the same length-prefixed
// frames, and the switch dials that (vnet.UnixSocket).
//
// Gated like the end-to-end suite: BERTH_E2E=1 and BERTH_IMAGE_DIR (`make
// test-e2e`). It needs root (the tmpfs, the namespaces, the engine).
func TestWSLInit(t *testing.T) {
	if os.Getenv("BERTH_E2E") != "1" || os.Getenv("BERTH_IMAGE_DIR") == "" {
		t.Skip("runs the engine: `make test-e2e` (BERTH_E2E=1, BERTH_IMAGE_DIR)")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root: it mounts a tmpfs, makes namespaces and runs dockerd")
	}
	dir := os.Getenv("BERTH_IMAGE_DIR")
	m, err := kernel.ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	if m.WSLRootfs == "" {
		t.Fatalf("the image in %s has no WSL root file system (rebuild it: make image)", dir)
	}

	d := newDistro(t, filepath.Join(dir, m.WSLRootfs))
	binfmt := hostBinfmt(t)
	start := time.Now()
	d.start(t, m.WSLInit)

	sw := d.join(t)
	client := agentapi.NewClient(sw.n.Dial)
	answered := waitAgent(t, client, d, time.Minute)
	t.Logf("link up %.3fs after the test started the init; guest agent answering through the switch %.3fs after the link came up",
		sw.upAt().Sub(start).Seconds(), answered.Sub(sw.upAt()).Seconds())
	h := waitEngine(t, client, d, 3*time.Minute)
	seen := time.Since(start)
	initStart := h.Time.Add(-time.Duration(h.UptimeSeconds * float64(time.Second)))
	t.Logf("engine running %.2fs after the init started (%.2fs after the test started it); kernel %s", h.Engine.ReadyAt.Sub(initStart).Seconds(), seen.Seconds(), h.KernelRelease)
	if h.DataDisk.SizeBytes == 0 {
		t.Errorf("health names no size of the data directory (/var/lib/docker): %+v", h.DataDisk)
	}
	d.checkNamespaces(t)
	binfmt.check(t)

	d.checkDockerAPI(t, sw.n.Dial)
	d.runBusybox(t, sw.n)

	// The host agent goes; a new one joins the same running engine.
	sw.close()
	left := time.Now()
	sw = d.join(t)
	client = agentapi.NewClient(sw.n.Dial)
	answered = waitAgent(t, client, d, time.Minute)
	t.Logf("after the link dropped: a new switch linked %.3fs later, guest agent answering through it %.3fs after that",
		sw.upAt().Sub(left).Seconds(), answered.Sub(sw.upAt()).Seconds())
	if h2 := waitEngine(t, client, d, 10*time.Second); h2.Engine.ReadyAt == nil || h.Engine.ReadyAt == nil || !h2.Engine.ReadyAt.Equal(*h.Engine.ReadyAt) {
		t.Errorf("the engine started again with the link: ready at %s, before at %s", h2.Engine.ReadyAt, h.Engine.ReadyAt)
	}
	d.checkDockerAPI(t, sw.n.Dial)
	for _, want := range []string{"network link 1 down", "network link 2 up"} {
		if !strings.Contains(d.out.String(), want) {
			t.Errorf("the init's output lacks %q", want)
		}
	}

	inNS := d.processes(t)
	t.Logf("processes in the init's namespaces before shutdown: %v", inNS)
	if len(inNS) < 3 {
		t.Errorf("want the init, containerd and dockerd in the init's PID namespace, found %v", inNS)
	}
	if n := d.mountNamespacesHoldingRoot(t); n < 2 {
		t.Errorf("the distro's root is mounted in %d mount namespaces before shutdown; want the test's and the distro's", n)
	}

	if err := client.Shutdown(context.Background()); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	stopped := time.Now()
	if err := d.wait(2 * time.Minute); err != nil {
		t.Fatalf("the init did not end cleanly: %v\n%s", err, d.out.String())
	}
	t.Logf("stopped %.2fs after the shutdown request", time.Since(stopped).Seconds())
	sw.close()
	for _, want := range []string{"dockerd stopped: exit status 0", "containerd stopped: exit status 0", guestconfig.MarkerPowerOff} {
		if !strings.Contains(d.out.String(), want) {
			t.Errorf("the init's output lacks %q: the engine did not stop cleanly", want)
		}
	}
	if left := d.processes(t); len(left) > 0 {
		t.Errorf("processes left in the init's namespaces: %v", left)
	}
	if n := d.mountNamespacesHoldingRoot(t); n != 1 {
		t.Errorf("the distro's root is still mounted in %d mount namespaces besides the test's own", n-1)
	}
	if _, err := os.Lstat(d.linkSock()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the link's socket is left in the distro: %v", err)
	}
	if t.Failed() || testing.Verbose() {
		t.Logf("init output:\n%s", d.out.String())
	}
}

// binfmtCheck reads the kernel's binfmt_misc, which the WSL init shares
// with every distro (and here with the test's host): the init registers
// QEMU's arm64 emulator from the image there, unless a rule of that name
// was registered before.
type binfmtCheck struct {
	dir     string
	entry   string
	existed bool
}

// hostBinfmt mounts binfmt_misc where the test can read it, and removes on
// cleanup the rule the init registers (the kernel holds the distro's
// emulator open through it), so the host is left as it was: the cleanup
// runs before the distro's.
func hostBinfmt(t *testing.T) *binfmtCheck {
	t.Helper()
	b := &binfmtCheck{dir: t.TempDir()}
	if err := unix.Mount("binfmt_misc", b.dir, "binfmt_misc", 0, ""); err != nil {
		t.Fatalf("mounting binfmt_misc: %v", err)
	}
	name, _, _ := initd.ForeignBinfmt(runtime.GOARCH)
	b.entry = filepath.Join(b.dir, name)
	_, err := os.Stat(b.entry)
	b.existed = err == nil
	t.Cleanup(func() {
		if !b.existed {
			if err := os.WriteFile(b.entry, []byte("-1"), 0); err != nil && !errors.Is(err, os.ErrNotExist) {
				t.Errorf("removing the init's binfmt rule: %v", err)
			}
		}
		_ = unix.Unmount(b.dir, 0)
	})
	return b
}

func (b *binfmtCheck) check(t *testing.T) {
	t.Helper()
	if b.existed {
		t.Logf("%s was registered before the test: the init leaves it alone", b.entry)
		return
	}
	data, err := os.ReadFile(b.entry)
	if err != nil {
		t.Errorf("the init registered no emulator for the other architecture: %v", err)
		return
	}
	name, interp, flags := initd.ForeignBinfmt(runtime.GOARCH)
	for _, line := range []string{"enabled", "interpreter " + interp, "flags: " + flags} {
		if !strings.Contains(string(data), line+"\n") {
			t.Errorf("binfmt rule %s lacks %q:\n%s", name, line, data)
		}
	}
}

// linkPath is the init's link socket inside the distro (--link unix:...),
// outside /run, which the init mounts anew in its own mount namespace.
const linkPath = "/berth-link.sock"

func (d *distro) linkSock() string { return filepath.Join(d.root, linkPath) }

// hostSwitch is the host agent's side: its virtual network, joined to the
// init's link.
type hostSwitch struct {
	n    *vnet.Network
	mu   sync.Mutex
	up   time.Time // the first connection to the init's link
	once sync.Once
}

// join starts a switch that dials the init's link, as the host agent's
// network stage does for a guest that listens (vm.LinkHvsock).
func (d *distro) join(t *testing.T) *hostSwitch {
	t.Helper()
	sw := &hostSwitch{}
	dial := vnet.UnixSocket(d.linkSock())
	n, err := vnet.Start(context.Background(), func(ctx context.Context) (net.Conn, error) {
		c, err := dial(ctx)
		if err == nil {
			// As the WSL driver does: the link is this start's init's
			// only once it sent the header with the nonce it was given.
			if herr := linkhello.Expect(c, d.nonce); herr != nil {
				c.Close()
				return nil, herr
			}
		}
		if err == nil {
			sw.mu.Lock()
			if sw.up.IsZero() {
				sw.up = time.Now()
			}
			sw.mu.Unlock()
		}
		return c, err
	}, vm.LinkHvsock, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	sw.n = n
	t.Cleanup(sw.close)
	return sw
}

func (sw *hostSwitch) upAt() time.Time {
	sw.mu.Lock()
	defer sw.mu.Unlock()
	return sw.up
}

func (sw *hostSwitch) close() { sw.once.Do(func() { _ = sw.n.Close() }) }

// waitAgent waits for the guest agent's first answer through the switch.
func waitAgent(t *testing.T, c *agentapi.Client, d *distro, timeout time.Duration) time.Time {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		select {
		case err := <-d.done:
			t.Fatalf("the init ended before its agent answered (%v):\n%s", err, d.out.String())
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, err := c.Health(ctx)
		cancel()
		if err == nil {
			return time.Now()
		}
		last = err
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("the guest agent did not answer through the switch within %s (last: %v):\n%s", timeout, last, d.out.String())
	return time.Time{}
}

// checkNamespaces: the init's eth0 is in its own network namespace, not
// the distro's, and dockerd's and the firewall's rules are not in the
// distro's either.
func (d *distro) checkNamespaces(t *testing.T) {
	t.Helper()
	if d.netNS == d.distroNetNS {
		t.Fatalf("the init shares the distro's network namespace %s", d.netNS)
	}
	own, _ := os.ReadFile(fmt.Sprintf("/proc/%d/net/dev", d.init))
	distro, _ := os.ReadFile(fmt.Sprintf("/proc/%d/net/dev", d.launcher))
	if !strings.Contains(string(own), "eth0:") {
		t.Errorf("no eth0 in the init's network namespace:\n%s", own)
	}
	if strings.Contains(string(distro), "eth0:") || strings.Contains(string(distro), "docker0:") {
		t.Errorf("the init's devices are in the distro's network namespace:\n%s", distro)
	}
	// The distro's own iptables (the engine's): legacy, which reads the
	// tables of the network namespace it runs in.
	save := func(netns string) string {
		t.Helper()
		out, err := exec.Command("nsenter", "--net="+netns, "--", "chroot", d.root, "/usr/sbin/iptables-save", "-t", "filter").CombinedOutput()
		if err != nil {
			t.Errorf("iptables-save in %s: %v\n%s", netns, err, out)
		}
		return string(out)
	}
	if own := save(fmt.Sprintf("/proc/%d/ns/net", d.init)); !strings.Contains(own, "BERTH-INPUT") || !strings.Contains(own, "DOCKER") {
		t.Errorf("the init's network namespace lacks the firewall's or dockerd's rules:\n%s", own)
	}
	if distro := save(d.netnsPath); strings.Contains(distro, "BERTH-INPUT") || strings.Contains(distro, "DOCKER") {
		t.Errorf("the init's or dockerd's rules are in the distro's network namespace:\n%s", distro)
	}
}

// distro is the stand-in for Berth's WSL2 distro.
type distro struct {
	root   string // the tmpfs holding the unpacked tarball
	source string // the tmpfs's source name, to find its mounts
	cmd    *exec.Cmd
	// nonce is this start's link nonce (guest/linkhello), as the driver hands it.
	nonce linkhello.Nonce
	stdin io.WriteCloser
	out   syncBuffer
	done  chan error

	launcher, init int    // pids, in this test's PID namespace
	pidNS, netNS   string // the init's
	distroNetNS    string
	netnsPath      string // the distro's network namespace
}

func newDistro(t *testing.T, tarball string) *distro {
	t.Helper()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	d := &distro{root: filepath.Join(t.TempDir(), "root"), source: "berth-wsl-" + hex.EncodeToString(b)}
	if err := os.Mkdir(d.root, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount(d.source, d.root, "tmpfs", 0, "mode=0755"); err != nil {
		t.Fatalf("mounting a tmpfs for the distro: %v", err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(d.root, 0); err != nil {
			t.Errorf("unmounting the distro's root: %v", err)
			_ = unix.Unmount(d.root, unix.MNT_DETACH)
		}
	})
	began := time.Now()
	if err := unpack(tarball, d.root); err != nil {
		t.Fatal(err)
	}
	t.Logf("unpacked %s in %.1fs", filepath.Base(tarball), time.Since(began).Seconds())
	return d
}

// start runs the init in the stand-in, with the config on a pipe that
// stays open (as wsl.exe's standard input does).
func (d *distro) start(t *testing.T, initPath string) {
	t.Helper()
	cgroupDocker := "/sys/fs/cgroup/unified/docker"
	_, err := os.Stat(cgroupDocker)
	hadCgroup := err == nil
	// What WSL's /init gives a distro before anything runs in it.
	script := fmt.Sprintf(`set -e
r=%[1]s
mount -t proc proc "$r/proc"
mount -t sysfs sysfs "$r/sys"
mount --rbind /dev "$r/dev"
ip link set lo up
exec chroot "$r" %[2]s --wsl --link unix:%[3]s`, d.root, initPath, linkPath)
	d.cmd = exec.Command("unshare", "--mount", "--net", "--fork", "--kill-child", "sh", "-c", script)
	var err2 error
	if d.nonce, err2 = linkhello.NewNonce(); err2 != nil {
		t.Fatal(err2)
	}
	d.cmd.Env = append(os.Environ(), linkhello.EnvVar+"="+d.nonce.String())
	d.cmd.Stdout, d.cmd.Stderr = &d.out, &d.out
	stdin, err := d.cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	d.stdin = stdin
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	d.done = make(chan error, 1)
	go func() { d.done <- d.cmd.Wait() }()
	t.Cleanup(func() {
		select {
		case <-d.done:
		default:
			_ = d.cmd.Process.Kill()
			<-d.done
		}
		d.stdin.Close()
		if !hadCgroup {
			_ = os.Remove(cgroupDocker)
		}
	})
	// What the host agent renders (no disk, shares or modules in WSL).
	cfg := guestconfig.Default()
	cfg.DataDisk, cfg.Modules, cfg.HostTime = guestconfig.DataDisk{}, nil, time.Now()
	b, _ := json.Marshal(cfg)
	if _, err := stdin.Write(append(b, '\n')); err != nil {
		t.Fatal(err)
	}
	// unshare → its child (sh, then chroot, then the launcher) → the init.
	deadline := time.Now().Add(20 * time.Second)
	for d.init == 0 && time.Now().Before(deadline) {
		if c := children(d.cmd.Process.Pid); len(c) == 1 {
			d.launcher = c[0]
			if exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", d.launcher)); strings.HasSuffix(exe, filepath.Base(initPath)) {
				if c := children(d.launcher); len(c) == 1 {
					d.init = c[0]
				}
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	if d.init == 0 {
		t.Fatalf("the init did not start:\n%s", d.out.String())
	}
	d.pidNS, _ = os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", d.init))
	d.netNS, _ = os.Readlink(fmt.Sprintf("/proc/%d/ns/net", d.init))
	self, _ := os.Readlink("/proc/self/ns/pid")
	if d.pidNS == "" || d.pidNS == self {
		t.Fatalf("the init has no PID namespace of its own (%q)", d.pidNS)
	}
	// The launcher is not PID 1 of anything: a process of the distro.
	if ns, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", d.launcher)); ns != self {
		t.Fatalf("the launcher is in PID namespace %s, not the distro's", ns)
	}
	d.netnsPath = fmt.Sprintf("/proc/%d/ns/net", d.launcher)
	d.distroNetNS, _ = os.Readlink(d.netnsPath)
}

func (d *distro) wait(timeout time.Duration) error {
	select {
	case err := <-d.done:
		d.done <- err // for the cleanup
		return err
	case <-time.After(timeout):
		return errors.New("timed out")
	}
}

func waitEngine(t *testing.T, c *agentapi.Client, d *distro, timeout time.Duration) agentapi.Health {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last string
	for time.Now().Before(deadline) {
		select {
		case err := <-d.done:
			t.Fatalf("the init ended before the engine ran (%v):\n%s", err, d.out.String())
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		h, err := c.Health(ctx)
		cancel()
		switch {
		case err != nil:
			last = err.Error()
		case h.Engine.State == agentapi.EngineRunning:
			return h
		case h.Engine.State == agentapi.EngineFailed:
			t.Fatalf("engine failed: %s\n%s", h.Engine.Reason, d.out.String())
		default:
			last = fmt.Sprintf("%s %s", h.Engine.State, h.Engine.Reason)
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("the engine did not run within %s (last: %s):\n%s", timeout, last, d.out.String())
	return agentapi.Health{}
}

// checkDockerAPI asks dockerd for /_ping and /version at the guest's
// address through dial (the switch's).
func (d *distro) checkDockerAPI(t *testing.T, dial func(ctx context.Context, network, addr string) (net.Conn, error)) {
	t.Helper()
	addr := net.JoinHostPort(guestconfig.GuestIP, strconv.Itoa(guestconfig.DockerPort))
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) { return dial(ctx, network, addr) },
	}}
	defer hc.CloseIdleConnections()
	resp, err := hc.Get("http://docker/_ping")
	if err != nil {
		t.Fatalf("docker /_ping: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "OK" {
		t.Fatalf("docker /_ping: %s %q", resp.Status, body)
	}
	resp, err = hc.Get("http://docker/version")
	if err != nil {
		t.Fatalf("docker /version: %v", err)
	}
	defer resp.Body.Close()
	var v struct{ Version, KernelVersion, Os string }
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil || v.Version == "" {
		t.Fatalf("docker /version: %+v, %v", v, err)
	}
	t.Logf("dockerd %s (%s, kernel %s)", v.Version, v.Os, v.KernelVersion)
}

// runBusybox imports a FROM-scratch image of the host's static busybox and
// runs it, with the real docker CLI on a unix socket the test carries to
// dockerd through the switch, as the host agent's docker socket does.
func (d *distro) runBusybox(t *testing.T, n *vnet.Network) {
	t.Helper()
	docker, err := exec.LookPath("docker")
	if err != nil {
		t.Log("no docker CLI: no container is run")
		return
	}
	sock := filepath.Join(t.TempDir(), "docker.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				g, err := n.DialGuest(context.Background(), guestconfig.DockerPort)
				if err != nil {
					return
				}
				defer g.Close()
				netpipe.Pipe(c, g)
			}()
		}
	}()
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Fatalf("the host's busybox (busybox-static): %v", err)
	}
	var layer bytes.Buffer
	tw := tar.NewWriter(&layer)
	_ = tw.WriteHeader(&tar.Header{Name: "bin/", Typeflag: tar.TypeDir, Mode: 0o755})
	_ = tw.WriteHeader(&tar.Header{Name: "bin/busybox", Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(bb))})
	_, _ = tw.Write(bb)
	_ = tw.Close()
	run := func(stdin io.Reader, args ...string) string {
		t.Helper()
		cmd := exec.Command(docker, append([]string{"-H", "unix://" + sock}, args...)...)
		cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+t.TempDir())
		cmd.Stdin = stdin
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("docker %s: %v\n%s\ninit output:\n%s", strings.Join(args, " "), err, out, d.out.String())
		}
		return string(out)
	}
	run(&layer, "import", "-", "berth-wsl-busybox")
	out := run(nil, "run", "--rm", "berth-wsl-busybox", "/bin/busybox", "sh", "-c", "echo hello from $(/bin/busybox uname -s)")
	if !strings.Contains(out, "hello from Linux") {
		t.Errorf("container said %q", out)
	}
	t.Logf("docker run of a FROM-scratch busybox image: %q", strings.TrimSpace(out))

	// From a container, through the switch: its DNS (which knows
	// host.docker.internal) and the NAT of HostIP to the host's loopback.
	hl, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer hl.Close()
	go func() {
		_ = http.Serve(hl, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "hello from the host") }))
	}()
	port := strconv.Itoa(hl.Addr().(*net.TCPAddr).Port)
	out = run(nil, "run", "--rm", "berth-wsl-busybox", "/bin/busybox", "sh", "-c",
		"/bin/busybox nslookup host.docker.internal && /bin/busybox wget -q -O - http://"+guestconfig.HostIP+":"+port+"/")
	if !strings.Contains(out, guestconfig.HostIP) || !strings.Contains(out, "hello from the host") {
		t.Errorf("a container did not resolve host.docker.internal to %s or reach the host's loopback through it:\n%s", guestconfig.HostIP, out)
	}
	t.Logf("a container resolved host.docker.internal and reached the host's 127.0.0.1:%s through the switch", port)
}

// processes lists the processes in the init's PID or network namespace.
func (d *distro) processes(t *testing.T) []string {
	t.Helper()
	var found []string
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		pidNS, _ := os.Readlink("/proc/" + e.Name() + "/ns/pid")
		netNS, _ := os.Readlink("/proc/" + e.Name() + "/ns/net")
		if pidNS == d.pidNS || netNS == d.netNS {
			comm, _ := os.ReadFile("/proc/" + e.Name() + "/comm")
			found = append(found, e.Name()+" "+strings.TrimSpace(string(comm)))
		}
	}
	return found
}

// mountNamespacesHoldingRoot counts the mount namespaces in which the
// distro's tmpfs is mounted (the test's own is one).
func (d *distro) mountNamespacesHoldingRoot(t *testing.T) int {
	t.Helper()
	nss := map[string]bool{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		ns, err := os.Readlink("/proc/" + e.Name() + "/ns/mnt")
		if err != nil || nss[ns] {
			continue
		}
		mi, err := os.ReadFile("/proc/" + e.Name() + "/mountinfo")
		if err == nil && bytes.Contains(mi, []byte(" "+d.source+" ")) {
			nss[ns] = true
		}
	}
	return len(nss)
}

// children lists pid's children (from every process's stat: the kernel
// here may lack /proc/PID/task/TID/children).
func children(pid int) []int {
	var pids []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces and parentheses.
		s := string(b)
		fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(fields) > 1 && fields[1] == strconv.Itoa(pid) {
			pids = append(pids, n)
		}
	}
	return pids
}

// unpack extracts a gzip'd tar as `wsl --import` would.
func unpack(tarball, root string) error {
	f, err := os.Open(tarball)
	if err != nil {
		return err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return err
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
		p := filepath.Join(root, h.Name)
		if !strings.HasPrefix(p, root+"/") {
			return fmt.Errorf("entry %q leaves the root", h.Name)
		}
		mode := uint32(h.Mode & 0o7777)
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(p, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			w, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
			if err != nil {
				return err
			}
			_, err = io.Copy(w, tr)
			if cerr := w.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
		case tar.TypeSymlink:
			if err := os.Symlink(h.Linkname, p); err != nil {
				return err
			}
			continue
		case tar.TypeLink:
			if err := os.Link(filepath.Join(root, h.Linkname), p); err != nil {
				return err
			}
			continue
		default:
			return fmt.Errorf("%s: unexpected type %c", h.Name, h.Typeflag)
		}
		if err := unix.Chmod(p, mode); err != nil {
			return err
		}
	}
}

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
