package qemu

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/berth-dev/berth/internal/proc"
	"github.com/berth-dev/berth/vm"
)

// How the driver shares folders: virtiofs, with a virtiofsd per share and
// guest memory QEMU can share with it. QEMU's 9p is not offered: Berth's
// guest kernel has no 9p, so a -virtfs device would share nothing.
const shareVirtiofs = "virtiofs"

// virtiofsdHost is what a host offers to serve shares with.
type virtiofsdHost struct {
	goos string
	// bundled is the guest image's own virtiofsd (Debian's Rust daemon
	// with its C library), nil when the image has none; bundledErr says
	// why it cannot run here.
	bundled    *vm.Program
	bundledErr error
	// system is the host's virtiofsd, "" when it has none; systemRust
	// tells the Rust daemon (which runs as any user) from QEMU's C one
	// (root only).
	system     string
	systemRust bool
	root       bool // Berth runs as root
	uid, gid   int  // Berth's user and group
}

// virtiofsd is the daemon chosen to serve the shares.
type virtiofsd struct {
	prog vm.Program
	rust bool // the Rust daemon's options (--shared-dir ...), else the C daemon's (-o source=...)
	// unprivileged: Berth is not root; the Rust daemon then runs in a user
	// namespace of its own and everything the guest creates belongs to
	// uid:gid, Berth's user (see args).
	unprivileged bool
	uid, gid     int
}

// chooseSharing picks the sharing method and the virtiofsd for this host,
// and says why when folders are shared some other way, or not at all
// (mode ""). The image's virtiofsd comes first: it runs as any user and
// behaves the same on every host.
func chooseSharing(h virtiofsdHost) (d *virtiofsd, mode, note string) {
	if h.goos != "linux" {
		return nil, "", "virtiofsd runs on Linux hosts only, and QEMU's other way (9p) is not in Berth's guest kernel, so folders are not shared"
	}
	if h.bundled != nil && h.bundledErr == nil {
		return &virtiofsd{prog: *h.bundled, rust: true, unprivileged: !h.root, uid: h.uid, gid: h.gid}, shareVirtiofs, ""
	}
	why := "the guest image has no virtiofsd of its own (rebuild it: make image)"
	if h.bundled != nil {
		why = "the guest image's virtiofsd does not run here (" + h.bundledErr.Error() + ")"
	}
	switch {
	case h.system != "" && (h.systemRust || h.root):
		if h.bundled == nil {
			why = "" // a host virtiofsd is what images without one always used
		} else {
			why += "; using " + h.system
		}
		return &virtiofsd{prog: vm.Program{Path: h.system}, rust: h.systemRust, unprivileged: !h.root, uid: h.uid, gid: h.gid}, shareVirtiofs, why
	case h.system != "":
		return nil, "", why + ", and " + h.system + " (QEMU's C virtiofsd) runs as root only, so folders are not shared when Berth runs as another user"
	}
	return nil, "", why + ", and the host has none (Debian/Ubuntu: qemu-system-common or virtiofsd ships one), so folders are not shared"
}

// vfsSocket is the vhost-user socket of share i, in the machine's directory.
func vfsSocket(stateDir string, i int) string {
	return filepath.Join(stateDir, fmt.Sprintf(vfsSockFormat, i))
}

// sharedRAMArgs put the guest's RAM in a memfd that vhost-user back ends
// (virtiofsd, the agent's network card) can map, when one runs.
func sharedRAMArgs(m *vm.Machine, shareMode string) []string {
	if m.Network.Link != vm.LinkVhostUser && (len(m.Shares) == 0 || shareMode != shareVirtiofs) {
		return nil
	}
	return []string{
		"-object", fmt.Sprintf("memory-backend-memfd,id=mem,size=%dM,share=on", m.MemoryMiB),
		"-numa", "node,memdev=mem",
	}
}

// shareArgs are QEMU's arguments for the machine's shares: for each, a
// PCIe root port, the socket to its virtiofsd and the device on the port.
// A device on the root bus could not be unplugged, and a saved VM
// (save.go) has its shares unplugged first: QEMU cannot save a
// vhost-user-fs device.
func shareArgs(m *vm.Machine, mode string) []string {
	return shareArgsWith(m, mode, true)
}

// shareArgsWith leaves the devices out when devices is false: a restored
// VM gets them plugged after its state is loaded, on the same ports.
func shareArgsWith(m *vm.Machine, mode string, devices bool) []string {
	if len(m.Shares) == 0 || mode != shareVirtiofs {
		return nil
	}
	var args []string
	for i := range m.Shares {
		args = append(args,
			"-device", fmt.Sprintf("pcie-root-port,id=%s,chassis=%d,bus=pcie.0", vfsPort(i), 16+i),
			"-chardev", "socket,id="+vfsChardev(i)+",path="+escapeOpt(vfsSocket(m.StateDir, i)))
		if devices {
			args = append(args, "-device", shareDevices(m)[i].arg())
		}
	}
	return args
}

func vfsPort(i int) string    { return fmt.Sprintf("vfsport%d", i) }
func vfsChardev(i int) string { return fmt.Sprintf("vfs%d", i) }

// device is a QEMU device's properties: a -device argument, or the
// arguments of QMP's device_add.
type device [][2]string

func (d device) arg() string {
	var b strings.Builder
	for i, kv := range d {
		if i > 0 {
			b.WriteByte(',')
		}
		if kv[0] == "driver" {
			b.WriteString(kv[1])
			continue
		}
		b.WriteString(kv[0] + "=" + escapeOpt(kv[1]))
	}
	return b.String()
}

// shareDevices are the machine's vhost-user-fs devices, one per share.
func shareDevices(m *vm.Machine) []device {
	var ds []device
	for i, s := range m.Shares {
		ds = append(ds, device{
			{"driver", "vhost-user-fs-pci"}, {"id", fmt.Sprintf("vfsdev%d", i)},
			{"chardev", vfsChardev(i)}, {"tag", s.Tag}, {"bus", vfsPort(i)},
		})
	}
	return ds
}

// virtiofsdArgs are the daemon's arguments for one share.
//
// Caching: cache=auto (with timeout=0 for the C daemon) revalidates names
// and attributes and drops a file's cached pages when it changed on open,
// so an edit on either side is seen by the other at once (with the Rust
// daemon a host edit reached a polling container in under 0.1 s), while
// reads of an unchanged file stay cached. cache=never would make large
// direct reads (dd bs=1M) several times faster but sends every small read
// to the host and forbids mmap; always would keep stale pages.
//
// Ownership: as root, the daemon creates files with the guest's owners. As
// a normal user, the Rust daemon's namespace sandbox puts it in a user
// namespace of its own where only the host user is mapped (other host
// users' files show as nobody in the guest), and every guest user is
// squashed to the host user: what a container creates, as root or anyone,
// belongs to the host user, and a chown in the guest succeeds without
// changing the host owner. The host user's files keep its uid in the
// guest, as with Docker on Linux: a container running as that uid may
// write where the host user may; other users are refused by the guest
// kernel's own permission checks.
func (v *virtiofsd) args(sock string, s vm.Share) []string {
	if !v.rust {
		return []string{
			"--socket-path=" + sock,
			"-o", "source=" + s.HostPath,
			"-o", "cache=auto", "-o", "timeout=0",
			"-o", "log_level=warn",
		}
	}
	args := []string{
		"--socket-path=" + sock,
		"--shared-dir=" + s.HostPath,
		"--cache=auto",
		"--sandbox=namespace",
		"--log-level=warn",
	}
	if s.ReadOnly {
		args = append(args, "--readonly")
	}
	if v.unprivileged {
		args = append(args,
			fmt.Sprintf("--translate-uid=squash-guest:0:%d:4294967295", v.uid),
			fmt.Sprintf("--translate-gid=squash-guest:0:%d:4294967295", v.gid))
	}
	return args
}

// startVirtiofsd starts one virtiofsd per share and waits for their
// sockets. The daemons exit by themselves when QEMU disconnects; stop
// makes sure of it.
func (d *Driver) startVirtiofsd(v *virtiofsd) (stop func(), err error) {
	var cmds []*exec.Cmd
	stop = func() {
		for _, c := range cmds {
			_ = c.Process.Kill()
			_ = c.Wait()
		}
		for i := range d.m.Shares {
			// The Rust daemon keeps a pid file next to its socket.
			_ = os.Remove(vfsSocket(d.m.StateDir, i))
			_ = os.Remove(vfsSocket(d.m.StateDir, i) + ".pid")
		}
	}
	logf, err := os.OpenFile(filepath.Join(d.m.StateDir, virtiofsdLog), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("creating the virtiofsd log: %w", err)
	}
	defer logf.Close()
	if err := logf.Chmod(0o600); err != nil { // a log kept from before
		return nil, fmt.Errorf("the virtiofsd log: %w", err)
	}
	for i, s := range d.m.Shares {
		sock := vfsSocket(d.m.StateDir, i)
		_ = os.Remove(sock)
		argv := v.prog.Command(v.args(sock, s)...)
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Stdout, cmd.Stderr = logf, logf
		proc.Detach(cmd)
		if err := cmd.Start(); err != nil {
			stop()
			return nil, fmt.Errorf("starting virtiofsd for %s: %w", s.HostPath, err)
		}
		cmds = append(cmds, cmd)
		if err := waitSocket(sock, cmd, 10*time.Second); err != nil {
			stop()
			return nil, fmt.Errorf("virtiofsd for %s: %w (see %s)", s.HostPath, err, logf.Name())
		}
	}
	return stop, nil
}

// sharesExitWait bounds the wait for an earlier agent's share daemons once
// their QEMU is gone: they notice within milliseconds.
const sharesExitWait = 5 * time.Second

// waitSharesExit waits, at most max, for the share daemons an earlier
// agent started for this machine's QEMU (found through the pid files the
// Rust daemon keeps next to its socket) to exit: they end by themselves
// when QEMU goes, a moment after it, and a stop must not return while they
// still run. It never kills: a pid file left behind may name a pid
// reused by another process.
func waitSharesExit(ctx context.Context, stateDir string, max time.Duration) {
	ctx, cancel := context.WithTimeout(ctx, max)
	defer cancel()
	files, _ := filepath.Glob(filepath.Join(stateDir, vfsSockGlob+".pid"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 0 {
			_ = proc.WaitExit(ctx, pid, 20*time.Millisecond)
		}
	}
}

// waitSocket waits for a daemon's listening socket to appear.
func waitSocket(path string, cmd *exec.Cmd, timeout time.Duration) error {
	exited := make(chan struct{})
	go func() {
		// Only observes: the process is reaped by whoever waits on it.
		for proc.Alive(cmd.Process.Pid) {
			time.Sleep(20 * time.Millisecond)
		}
		close(exited)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for {
		if _, err := os.Stat(path); err == nil {
			return nil
		}
		select {
		case <-exited:
			return errors.New("it exited at start")
		case <-ctx.Done():
			return fmt.Errorf("no socket after %s", timeout)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// SharesDown implements vm.ShareWatcher: QEMU cannot reconnect a
// vhost-user-fs device, so a share whose virtiofsd died stays unreachable
// in the guest until the machine restarts; the agent says so. The
// daemon's pid file (the Rust daemon keeps one next to its socket, and it
// outlives a kill -9) tells whether it still runs, for the agent that
// started it and for one that adopted the VM alike.
func (d *Driver) SharesDown() []vm.ShareDown {
	if d.Info().FileSharing != shareVirtiofs {
		return nil
	}
	var down []vm.ShareDown
	for i, s := range d.m.Shares {
		b, err := os.ReadFile(vfsSocket(d.m.StateDir, i) + ".pid")
		if reason := shareServerGone(b, err, proc.Alive); reason != "" {
			down = append(down, vm.ShareDown{HostPath: s.HostPath, Reason: reason})
		}
	}
	return down
}

// shareServerGone says why a share's server is gone, from its pid file's
// content (or the error reading it) and whether a pid is alive; "" when it
// runs, or when there is no pid file to tell (a daemon that keeps none).
func shareServerGone(pidFile []byte, readErr error, alive func(int) bool) string {
	if readErr != nil {
		return ""
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(pidFile)))
	if err != nil || pid <= 0 {
		return ""
	}
	if alive(pid) {
		return ""
	}
	return fmt.Sprintf("its virtiofsd (pid %d) exited", pid)
}
