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
	"github.com/berth-dev/berth/kernel"
)

// TestWSLInit runs the WSL flavour of the guest the way a WSL2 distro
// would, on this Linux host: the image's wsl-rootfs.tar.gz unpacked on a
// tmpfs as the distro's root, a mount and network namespace standing in
// for the distro (unshare, then what Microsoft's /init does: /proc, /sys,
// /dev, loopback up), and `/sbin/berth-init --wsl` started there as a
// process (not PID 1) with the config on standard input. It checks that
// the init answers the guest agent API, runs dockerd (the Docker API and
// a container of a FROM-scratch busybox image), stops cleanly when the
// guest agent is asked to, reaps every process of its PID namespace and
// leaves no mount behind.
//
// Transport: the kernel here has AF_VSOCK (the init's auto choice would
// be vsock), but no loopback transport (vsock_loopback), so nothing on
// this machine can dial a vsock listener of its own; the test therefore
// asks for the TCP loopback fallback explicitly (--listen tcp) and dials
// it inside the stand-in's network namespace.
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
	start := time.Now()
	d.start(t, m.WSLInit)

	client := agentapi.NewClient(func(ctx context.Context, _, _ string) (net.Conn, error) {
		return d.dial(ctx, guestconfig.AgentPort)
	})
	h := waitEngine(t, client, d, 3*time.Minute)
	seen := time.Since(start)
	initStart := h.Time.Add(-time.Duration(h.UptimeSeconds * float64(time.Second)))
	t.Logf("engine running %.2fs after the init started (%.2fs after the test started it); kernel %s", h.Engine.ReadyAt.Sub(initStart).Seconds(), seen.Seconds(), h.KernelRelease)
	if h.DataDisk.SizeBytes == 0 {
		t.Errorf("health names no size of the data directory (/var/lib/docker): %+v", h.DataDisk)
	}

	d.checkDockerAPI(t)
	d.runBusybox(t)

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
	if t.Failed() || testing.Verbose() {
		t.Logf("init output:\n%s", d.out.String())
	}
}

// distro is the stand-in for Berth's WSL2 distro.
type distro struct {
	root   string // the tmpfs holding the unpacked tarball
	source string // the tmpfs's source name, to find its mounts
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	out    syncBuffer
	done   chan error

	launcher, init int // pids, in this test's PID namespace
	pidNS, netNS   string
	netnsPath      string
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
exec chroot "$r" %[2]s --wsl --listen tcp`, d.root, initPath)
	d.cmd = exec.Command("unshare", "--mount", "--net", "--fork", "--kill-child", "sh", "-c", script)
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
	cfg := guestconfig.Config{Hostname: "berth", Engine: guestconfig.Engine{StopTimeout: guestconfig.Duration(10 * time.Second)}}
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

// dial connects to 127.0.0.1:port inside the distro's network namespace:
// the socket is made by a thread that joined it.
func (d *distro) dial(ctx context.Context, port int) (net.Conn, error) {
	type result struct {
		c   net.Conn
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		self, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			runtime.UnlockOSThread()
			ch <- result{nil, err}
			return
		}
		defer self.Close()
		target, err := os.Open(d.netnsPath)
		if err != nil {
			runtime.UnlockOSThread()
			ch <- result{nil, err}
			return
		}
		defer target.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			ch <- result{nil, err}
			return
		}
		var nd net.Dialer
		c, err := nd.DialContext(ctx, "tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		// A thread that cannot go back dies with this goroutine.
		if unix.Setns(int(self.Fd()), unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		}
		ch <- result{c, err}
	}()
	r := <-ch
	return r.c, r.err
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

func (d *distro) checkDockerAPI(t *testing.T) {
	t.Helper()
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) { return d.dial(ctx, guestconfig.DockerPort) },
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
// runs it, with the real docker CLI in the distro's network namespace.
func (d *distro) runBusybox(t *testing.T) {
	t.Helper()
	docker, err := exec.LookPath("docker")
	if err != nil {
		t.Skip("no docker CLI")
	}
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
		argv := append([]string{"--net=" + d.netnsPath, "--", docker, "-H", "tcp://127.0.0.1:" + strconv.Itoa(guestconfig.DockerPort)}, args...)
		cmd := exec.Command("nsenter", argv...)
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
