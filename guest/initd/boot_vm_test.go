//go:build bootvm

// Real boots of the guest image under QEMU, run by hand (they take minutes
// and need qemu-system-x86_64, the docker CLI and busybox on the host):
//
//	go test -tags bootvm -v -timeout 30m -run TestBoot ./guest/initd/ -image <image dir> [-init <berth-init binary>]
package initd

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cavaliergopher/cpio"

	"github.com/berth-dev/berth/guest/agentapi"
	"github.com/berth-dev/berth/guest/guestconfig"
)

var (
	imageDir   = flag.String("image", "", "guest image directory (vmlinuz, initramfs.img, rootfs.img)")
	dockerPort = flag.Int("docker-port", 23750, "host port forwarded to the guest's dockerd")
	agentPort  = flag.Int("agent-port", 23800, "host port forwarded to the guest agent")
	smp        = flag.Int("smp", 2, "guest vCPUs")
	accel      = flag.String("accel", "tcg,thread=single", "QEMU -accel value (multi-threaded TCG risks a guest Oops: see vm/qemu accelArg)")
	boots      = flag.Int("boots", 3, "boots for TestBootTimes")
	debugBoot  = flag.Bool("debug", false, "boot with config.Debug (daemon output on the console)")
	consoleDir = flag.String("console-dir", "", "keep each boot's console in this directory")
	initBinary = flag.String("init", "", "a guest init binary to boot instead of the image's /init")
)

// writeBootInitrd writes the image's initramfs followed by a cpio archive
// holding cfg at guestconfig.Path.
func writeBootInitrd(dst, base string, cfg guestconfig.Config) error {
	b, err := os.ReadFile(base)
	if err != nil {
		return err
	}
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	js, err := json.Marshal(cfg)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	w := cpio.NewWriter(&buf)
	if err := w.WriteHeader(&cpio.Header{Name: "berth", Mode: cpio.TypeDir | 0o755}); err != nil {
		return err
	}
	if *initBinary != "" {
		// A later archive's file replaces an earlier one's.
		ib, err := os.ReadFile(*initBinary)
		if err != nil {
			return err
		}
		if err := w.WriteHeader(&cpio.Header{Name: "init", Mode: cpio.TypeReg | 0o755, Size: int64(len(ib)), Links: 1}); err != nil {
			return err
		}
		if _, err := w.Write(ib); err != nil {
			return err
		}
	}
	if err := w.WriteHeader(&cpio.Header{Name: strings.TrimPrefix(guestconfig.Path, "/"), Mode: cpio.TypeReg | 0o600, Size: int64(len(js))}); err != nil {
		return err
	}
	if _, err := w.Write(js); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return os.WriteFile(dst, append(b, buf.Bytes()...), 0o644)
}

type vm struct {
	t       *testing.T
	cmd     *exec.Cmd
	start   time.Time
	mu      sync.Mutex
	console bytes.Buffer
	markers map[string]time.Duration
	exited  chan struct{}
	err     error
	monitor string
}

func testConfig() guestconfig.Config {
	cfg := guestconfig.Default()
	cfg.HostTime = time.Now()
	cfg.Debug = *debugBoot
	return cfg
}

// bootVM boots the image with dataImg as the data disk.
func bootVM(t *testing.T, dataImg string, cfg guestconfig.Config) *vm {
	t.Helper()
	if *imageDir == "" {
		t.Skip("-image not given")
	}
	dir := t.TempDir()
	initrd := filepath.Join(dir, "initrd.img")
	if err := writeBootInitrd(initrd, filepath.Join(*imageDir, "initramfs.img"), cfg); err != nil {
		t.Fatal(err)
	}
	v := &vm{t: t, markers: map[string]time.Duration{}, exited: make(chan struct{}), monitor: filepath.Join(dir, "mon.sock")}
	v.cmd = exec.Command("qemu-system-x86_64", "-M", "q35", "-accel", *accel, "-cpu", "max", "-m", "2048",
		"-smp", fmt.Sprint(*smp), "-nographic", "-no-reboot", "-monitor", "unix:"+v.monitor+",server,nowait",
		"-kernel", filepath.Join(*imageDir, "vmlinuz"), "-initrd", initrd,
		"-append", "console=ttyS0 quiet panic=-1",
		"-drive", "if=none,id=root,file="+filepath.Join(*imageDir, "rootfs.img")+",format=raw,readonly=on",
		"-device", "virtio-blk-pci,drive=root",
		"-drive", "if=none,id=data,file="+dataImg+",format=raw,discard=unmap",
		"-device", "virtio-blk-pci,drive=data",
		"-netdev", fmt.Sprintf("user,id=n0,net=192.168.127.0/24,host=192.168.127.1,hostfwd=tcp:127.0.0.1:%d-192.168.127.2:2375,hostfwd=tcp:127.0.0.1:%d-192.168.127.2:2380", *dockerPort, *agentPort),
		"-device", "virtio-net-pci,netdev=n0,mac="+guestconfig.GuestMAC)
	out, err := v.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	v.cmd.Stderr = v.cmd.Stdout
	v.cmd.Stdin = nil
	v.start = time.Now()
	if err := v.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			line := sc.Text()
			v.mu.Lock()
			v.console.WriteString(line + "\n")
			for _, m := range []string{guestconfig.MarkerInitStarted, guestconfig.MarkerEngineReady, guestconfig.MarkerPowerOff, guestconfig.MarkerInitFailed} {
				if strings.Contains(line, m) {
					if _, seen := v.markers[m]; !seen {
						v.markers[m] = time.Since(v.start)
					}
				}
			}
			v.mu.Unlock()
		}
		v.err = v.cmd.Wait()
		close(v.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-v.exited:
		default:
			v.cmd.Process.Kill()
			<-v.exited
		}
		if t.Failed() {
			t.Logf("console:\n%s", v.consoleText())
		}
		if *consoleDir != "" {
			name := fmt.Sprintf("%s-%s.log", strings.ReplaceAll(t.Name(), "/", "_"), v.start.Format("150405.000"))
			os.WriteFile(filepath.Join(*consoleDir, name), []byte(v.consoleText()), 0o644)
		}
	})
	return v
}

func (v *vm) consoleText() string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.console.String()
}

func (v *vm) marker(m string) (time.Duration, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	d, ok := v.markers[m]
	return d, ok
}

func (v *vm) waitMarker(m string, timeout time.Duration) time.Duration {
	v.t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if d, ok := v.marker(m); ok {
			return d
		}
		select {
		case <-v.exited:
			if d, ok := v.marker(m); ok {
				return d
			}
			v.t.Fatalf("VM exited (%v) before %s", v.err, m)
		case <-time.After(50 * time.Millisecond):
		}
	}
	v.t.Fatalf("no %s within %s", m, timeout)
	return 0
}

func (v *vm) waitExit(timeout time.Duration) error {
	v.t.Helper()
	select {
	case <-v.exited:
		return v.err
	case <-time.After(timeout):
		v.t.Fatalf("VM still running after %s", timeout)
		return nil
	}
}

func (v *vm) hmp(cmd string) {
	c, err := net.Dial("unix", v.monitor)
	if err != nil {
		v.t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "%s\n", cmd)
	time.Sleep(300 * time.Millisecond)
}

func agentClient() *agentapi.Client {
	return agentapi.NewClient(func(ctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", fmt.Sprintf("127.0.0.1:%d", *agentPort))
	})
}

func health(t *testing.T) agentapi.Health {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	h, err := agentClient().Health(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func waitHealth(t *testing.T, v *vm, what string, cond func(agentapi.Health) bool, timeout time.Duration) agentapi.Health {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last agentapi.Health
	var lastErr error
	for time.Now().Before(deadline) {
		select {
		case <-v.exited:
			t.Fatalf("VM exited (%v) before health showed %s", v.err, what)
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		h, err := agentClient().Health(ctx)
		cancel()
		if err == nil && cond(h) {
			return h
		}
		last, lastErr = h, err
		time.Sleep(500 * time.Millisecond)
	}
	b, _ := json.MarshalIndent(last, "", "  ")
	t.Fatalf("health never showed %s within %s (last error %v):\n%s", what, timeout, lastErr, b)
	return last
}

func docker(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("docker", args...)
	cmd.Env = append(os.Environ(), fmt.Sprintf("DOCKER_HOST=tcp://127.0.0.1:%d", *dockerPort))
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func mustDocker(t *testing.T, args ...string) string {
	t.Helper()
	out, err := docker(t, args...)
	if err != nil {
		t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func newDataDisk(t *testing.T, dir string, garbage int) string {
	t.Helper()
	p := filepath.Join(dir, "data.img")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(8 << 30); err != nil {
		t.Fatal(err)
	}
	if garbage > 0 {
		b := make([]byte, garbage)
		rand.Read(b)
		f.WriteAt(b, 0)
	}
	return p
}

const busyboxImage = "berth-test-busybox"

func buildBusybox(t *testing.T) {
	t.Helper()
	dir := t.TempDir()
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Skip("no /bin/busybox on the host")
	}
	os.WriteFile(filepath.Join(dir, "busybox"), bb, 0o755)
	os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\nCOPY busybox /bin/busybox\nRUN [\"/bin/busybox\", \"--install\", \"-s\", \"/bin\"]\nENTRYPOINT [\"/bin/busybox\"]\n"), 0o644)
	cmd := exec.Command("docker", "build", "-q", "-t", busyboxImage, dir)
	cmd.Env = append(os.Environ(), fmt.Sprintf("DOCKER_HOST=tcp://127.0.0.1:%d", *dockerPort), "DOCKER_BUILDKIT=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("docker build: %v\n%s", err, out)
	}
}

// TestBootLifecycle: first boot formats, the engine works, containers
// cannot reach the guest's API ports, a killed dockerd comes back, the
// shutdown API powers off; the second boot keeps the image; a kill -9 of
// QEMU is recovered; the ACPI power button shuts down cleanly.
func TestBootLifecycle(t *testing.T) {
	dir := t.TempDir()
	data := newDataDisk(t, dir, 0)

	v := bootVM(t, data, testConfig())
	ready := v.waitMarker(guestconfig.MarkerEngineReady, 3*time.Minute)
	started, _ := v.marker(guestconfig.MarkerInitStarted)
	t.Logf("first boot: init started %.2fs, engine ready %.2fs", started.Seconds(), ready.Seconds())
	h := health(t)
	if h.Engine.State != agentapi.EngineRunning || !h.DataDisk.Formatted || h.DataDisk.State != agentapi.DiskMounted {
		t.Fatalf("health after first boot: %+v", h)
	}
	t.Logf("docker version:\n%s", mustDocker(t, "version"))
	buildBusybox(t)
	if out := mustDocker(t, "run", "--rm", busyboxImage, "echo", "hello from a container"); !strings.Contains(out, "hello from a container") {
		t.Fatalf("docker run: %s", out)
	}
	for _, port := range []int{guestconfig.DockerPort, guestconfig.AgentPort} {
		out, err := docker(t, "run", "--rm", busyboxImage, "wget", "-T", "3", "-q", "-O-", fmt.Sprintf("http://192.168.127.2:%d/_ping", port))
		if err == nil {
			t.Errorf("a container reached the guest's port %d: %s", port, out)
		}
		t.Logf("container → 192.168.127.2:%d: %s", port, lastLines(out, 1))
		out, err = docker(t, "run", "--rm", busyboxImage, "wget", "-T", "3", "-q", "-O-", fmt.Sprintf("http://172.17.0.1:%d/_ping", port))
		if err == nil {
			t.Errorf("a container reached docker0's port %d: %s", port, out)
		}
	}
	rules := mustDocker(t, "run", "--rm", "--privileged", "--network", "host", "-v", "/:/host", busyboxImage, "chroot", "/host", "iptables", "-S", "INPUT")
	t.Logf("guest INPUT chain after dockerd started:\n%s", rules)
	if !strings.HasPrefix(strings.TrimSpace(rules), "-P INPUT ACCEPT\n-A INPUT -j BERTH-INPUT") {
		t.Errorf("BERTH-INPUT is not INPUT's first rule")
	}
	time.Sleep(3 * time.Second) // let the containers' shims go
	h = health(t)
	t.Logf("guest memory, engine idle: %d MiB used (%d MiB total-available) of %d MiB", h.Memory.UsedBytes>>20, (h.Memory.TotalBytes-h.Memory.AvailableBytes)>>20, h.Memory.TotalBytes>>20)

	// kill -9 of dockerd comes back.
	pid := health(t).Dockerd.PID
	docker(t, "run", "--rm", "--pid", "host", "--privileged", busyboxImage, "kill", "-9", fmt.Sprint(pid))
	h = waitHealth(t, v, "dockerd restarted", func(h agentapi.Health) bool {
		return h.Dockerd.Restarts >= 1 && h.Engine.State == agentapi.EngineRunning
	}, 2*time.Minute)
	t.Logf("after kill -9 of dockerd: pid %d → %d, lastExit %q", pid, h.Dockerd.PID, h.Dockerd.LastExit)
	mustDocker(t, "run", "-d", "--name", "sleeper", busyboxImage, "sleep", "1000")

	t0 := time.Now()
	if err := agentClient().Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := v.waitExit(2 * time.Minute); err != nil {
		t.Fatalf("QEMU exit after shutdown: %v", err)
	}
	if _, ok := v.marker(guestconfig.MarkerPowerOff); !ok {
		t.Fatal("no power-off marker")
	}
	t.Logf("shutdown through the API took %.1fs", time.Since(t0).Seconds())

	// Second boot: same disk, no reformat, image kept.
	v = bootVM(t, data, testConfig())
	v.waitMarker(guestconfig.MarkerEngineReady, 3*time.Minute)
	if h := health(t); h.DataDisk.Formatted || h.DataDisk.State != agentapi.DiskMounted {
		t.Fatalf("second boot disk: %+v", h.DataDisk)
	}
	if out := mustDocker(t, "image", "ls", "-q", busyboxImage); strings.TrimSpace(out) == "" {
		t.Fatal("image lost after a clean reboot")
	}
	mustDocker(t, "start", "sleeper")
	// kill -9 of QEMU, with a container writing.
	mustDocker(t, "run", "-d", busyboxImage, "sh", "-c", "while true; do date >> /tmp/x; sync; done")
	time.Sleep(2 * time.Second)
	v.cmd.Process.Kill()
	v.waitExit(time.Minute)

	v = bootVM(t, data, testConfig())
	v.waitMarker(guestconfig.MarkerEngineReady, 3*time.Minute)
	h = health(t)
	if h.DataDisk.State != agentapi.DiskMounted {
		t.Fatalf("after a hard kill: %+v", h.DataDisk)
	}
	if out := mustDocker(t, "image", "ls", "-q", busyboxImage); strings.TrimSpace(out) == "" {
		t.Fatal("image lost after a hard kill")
	}
	t.Logf("after kill -9 of QEMU the disk mounted: %+v", h.DataDisk)

	// ACPI power button.
	mustDocker(t, "start", "sleeper")
	t0 = time.Now()
	v.hmp("system_powerdown")
	if err := v.waitExit(2 * time.Minute); err != nil {
		t.Fatalf("QEMU exit after system_powerdown: %v", err)
	}
	if _, ok := v.marker(guestconfig.MarkerPowerOff); !ok {
		t.Fatal("no power-off marker after system_powerdown")
	}
	if !strings.Contains(v.consoleText(), "ACPI power button") {
		t.Fatal("shutdown not attributed to the power button")
	}
	t.Logf("ACPI shutdown took %.1fs", time.Since(t0).Seconds())
}

// TestBootGarbageDisk: a data disk that holds something else is never
// formatted and the health says exactly why the engine does not start.
func TestBootGarbageDisk(t *testing.T) {
	dir := t.TempDir()
	data := newDataDisk(t, dir, 4<<20)
	before, _ := os.ReadFile(data)
	_ = before
	v := bootVM(t, data, testConfig())
	v.waitMarker(guestconfig.MarkerInitStarted, time.Minute)
	h := waitHealth(t, v, "failed engine", func(h agentapi.Health) bool { return h.Engine.State == agentapi.EngineFailed }, 3*time.Minute)
	b, _ := json.MarshalIndent(h, "", "  ")
	t.Logf("health:\n%s", b)
	if h.DataDisk.State != agentapi.DiskFailed || !strings.Contains(h.DataDisk.Error, "refusing to format") {
		t.Fatalf("disk: %+v", h.DataDisk)
	}
	// Ctrl-Alt-Del: the init turned it into SIGINT (reboot(CAD_OFF)).
	v.hmp("sendkey ctrl-alt-delete")
	if err := v.waitExit(time.Minute); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(v.consoleText(), "shutting down: signal interrupt") {
		t.Fatal("Ctrl-Alt-Del did not shut down through SIGINT")
	}
	after, _ := os.ReadFile(data)
	if !bytes.Equal(before[:4<<20], after[:4<<20]) {
		t.Fatal("the garbage disk was written to")
	}
}

// TestBootTimes boots a fresh disk -boots times and reports the medians of
// launch → init started and launch → engine ready.
func TestBootTimes(t *testing.T) {
	var started, ready []time.Duration
	var oops int
	for i := range *boots {
		dir := t.TempDir()
		v := bootVM(t, newDataDisk(t, dir, 0), testConfig())
		r := v.waitMarker(guestconfig.MarkerEngineReady, 3*time.Minute)
		s, _ := v.marker(guestconfig.MarkerInitStarted)
		started, ready = append(started, s), append(ready, r)
		if strings.Contains(v.consoleText(), "Oops") {
			oops++
		}
		time.Sleep(5 * time.Second)
		m := health(t).Memory
		t.Logf("boot %d: init started %.2fs, engine ready %.2fs; idle memory used %d MiB (total-available %d MiB)",
			i+1, s.Seconds(), r.Seconds(), m.UsedBytes>>20, (m.TotalBytes-m.AvailableBytes)>>20)
		agentClient().Shutdown(context.Background())
		v.waitExit(2 * time.Minute)
	}
	t.Logf("medians of %d (smp %d, accel %s): init started %.2fs, engine ready %.2fs; oopses %d",
		*boots, *smp, *accel, median(started).Seconds(), median(ready).Seconds(), oops)
}

func median(d []time.Duration) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

var _ = io.EOF

func sizedDataDisk(t *testing.T, size int64) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "data.img")
	if err := os.WriteFile(p, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(p, size); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestBootFullDisk: a data disk filled to the last block still lets the
// engine start on the next boot (or says why not).
func TestBootFullDisk(t *testing.T) {
	data := sizedDataDisk(t, 512<<20)
	v := bootVM(t, data, testConfig())
	v.waitMarker(guestconfig.MarkerEngineReady, 3*time.Minute)
	buildBusybox(t)
	out, err := docker(t, "run", "--name", "filler", busyboxImage, "dd", "if=/dev/zero", "of=/big", "bs=1M")
	t.Logf("filling the disk: %v: %s", err, lastLines(out, 2))
	t.Logf("disk after filling: %+v", health(t).DataDisk)
	if err := agentClient().Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	v.waitExit(2 * time.Minute)

	v = bootVM(t, data, testConfig())
	h := waitHealth(t, v, "running or failed engine", func(h agentapi.Health) bool {
		return h.Engine.State == agentapi.EngineRunning || h.Engine.State == agentapi.EngineFailed || h.Dockerd.Restarts > 0
	}, 3*time.Minute)
	b, _ := json.MarshalIndent(h, "", "  ")
	t.Logf("health after boot on a full disk:\n%s", b)
	if h.Engine.State != agentapi.EngineRunning {
		t.Fatalf("engine not running on a full disk")
	}
	mustDocker(t, "rm", "filler")
	t.Logf("after docker rm: %+v", health(t).DataDisk)
	// SIGTERM to PID 1 (from a container in the guest's pid namespace).
	docker(t, "run", "--rm", "--pid", "host", "--privileged", busyboxImage, "kill", "-TERM", "1")
	if err := v.waitExit(2 * time.Minute); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(v.consoleText(), "shutting down: signal terminated") {
		t.Fatal("SIGTERM did not shut down")
	}
}

// TestBootCorruptDisk: an ext4 data disk with errors e2fsck -p will not fix
// is mounted anyway, never formatted, and health quotes e2fsck.
func TestBootCorruptDisk(t *testing.T) {
	data := sizedDataDisk(t, 1<<30)
	for _, args := range [][]string{
		{"mkfs.ext4", "-q", "-F", "-L", "berth-data", data},
		{"debugfs", "-w", "-R", "mkdir docker", data},
		{"debugfs", "-w", "-R", "set_inode_field docker block[0] 0xFFFFFF0", data},
		{"debugfs", "-w", "-R", "ssv state 2", data},
	} {
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			t.Skipf("%v: %v %s", args, err, out)
		}
	}
	v := bootVM(t, data, testConfig())
	h := waitHealth(t, v, "the disk's state", func(h agentapi.Health) bool {
		return h.DataDisk.State != agentapi.DiskPending && (h.Engine.State != agentapi.EngineStarting)
	}, 3*time.Minute)
	time.Sleep(5 * time.Second)
	h = health(t)
	b, _ := json.MarshalIndent(h, "", "  ")
	t.Logf("health:\n%s", b)
	// Here the damage is the engine's own directory, so it cannot run;
	// with damage elsewhere the state would be mounted-with-errors.
	if h.DataDisk.State == agentapi.DiskMounted || !strings.Contains(h.DataDisk.Error, "e2fsck -p /dev/vdb: exit 4") || h.DataDisk.Formatted {
		t.Fatalf("disk: %+v", h.DataDisk)
	}
	agentClient().Shutdown(context.Background())
	v.waitExit(2 * time.Minute)
}

func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(l[max(0, len(l)-n):], "\n")
}

var inspect = flag.String("inspect", "", "TestBootInspect: shell commands to run in the guest (through a privileged container chrooted to /)")

// TestBootInspect boots a fresh disk and runs -inspect in the guest's root.
func TestBootInspect(t *testing.T) {
	if *inspect == "" {
		t.Skip("-inspect not given")
	}
	v := bootVM(t, newDataDisk(t, t.TempDir(), 0), testConfig())
	v.waitMarker(guestconfig.MarkerEngineReady, 3*time.Minute)
	buildBusybox(t)
	time.Sleep(5 * time.Second)
	out, err := docker(t, "run", "--rm", "--privileged", "--pid", "host", "--network", "host", "-v", "/:/host", busyboxImage, "chroot", "/host", "/bin/busybox", "sh", "-c", *inspect)
	t.Logf("%v\n%s", err, out)
	agentClient().Shutdown(context.Background())
	v.waitExit(2 * time.Minute)
}

// TestBootGrowDisk: a data disk image the host made larger gets a larger
// file system at the next boot.
func TestBootGrowDisk(t *testing.T) {
	data := sizedDataDisk(t, 1<<30)
	v := bootVM(t, data, testConfig())
	v.waitMarker(guestconfig.MarkerEngineReady, 3*time.Minute)
	before := health(t).DataDisk.SizeBytes
	agentClient().Shutdown(context.Background())
	v.waitExit(2 * time.Minute)
	if err := os.Truncate(data, 2<<30); err != nil {
		t.Fatal(err)
	}
	v = bootVM(t, data, testConfig())
	v.waitMarker(guestconfig.MarkerEngineReady, 3*time.Minute)
	h := health(t)
	t.Logf("file system %d MiB → %d MiB; warnings %q", before>>20, h.DataDisk.SizeBytes>>20, h.Warnings)
	if h.DataDisk.SizeBytes < before+(900<<20) {
		t.Fatal("the file system did not grow")
	}
	agentClient().Shutdown(context.Background())
	v.waitExit(2 * time.Minute)
}
