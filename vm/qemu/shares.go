package qemu

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/berth-dev/berth/internal/proc"
	"github.com/berth-dev/berth/vm"
)

// How the driver shares folders. virtiofs needs a virtiofsd per share and
// guest memory QEMU can share with it; 9p is built into QEMU (where QEMU
// has it) but is about 20 times slower, so it is the fallback only.
const (
	shareVirtiofs = "virtiofs"
	share9p       = "9p"
)

// shareMode picks the sharing method for this host and says why when it
// is not virtiofs; "" means folders cannot be shared.
func shareMode(goos, virtiofsd string, needsRoot bool) (mode, note string) {
	if virtiofsd != "" && needsRoot {
		return "", virtiofsd + " runs as root only, so folders are not shared when Berth runs as another user"
	}
	if virtiofsd != "" {
		return shareVirtiofs, ""
	}
	why := "virtiofsd was not found (Debian/Ubuntu: qemu-system-common ships it as /usr/lib/qemu/virtiofsd)"
	if goos != "linux" {
		why = "virtiofsd runs on Linux hosts only"
	}
	return share9p, why + "; QEMU shares folders over 9p instead, which Berth's guest kernel does not support, so shared folders are unavailable"
}

// vfsSocket is the vhost-user socket of share i, in the machine's directory.
func vfsSocket(stateDir string, i int) string {
	return filepath.Join(stateDir, fmt.Sprintf("vfs%d.sock", i))
}

// shareArgs are QEMU's arguments for the machine's shares.
func shareArgs(m *vm.Machine, mode string) []string {
	if len(m.Shares) == 0 {
		return nil
	}
	var args []string
	switch mode {
	case shareVirtiofs:
		// vhost-user devices need guest RAM that virtiofsd can map.
		args = append(args,
			"-object", fmt.Sprintf("memory-backend-memfd,id=mem,size=%dM,share=on", m.MemoryMiB),
			"-numa", "node,memdev=mem")
		for i, s := range m.Shares {
			id := fmt.Sprintf("vfs%d", i)
			args = append(args,
				"-chardev", "socket,id="+id+",path="+escapeOpt(vfsSocket(m.StateDir, i)),
				"-device", "vhost-user-fs-pci,chardev="+id+",tag="+escapeOpt(s.Tag))
		}
	case share9p:
		for i, s := range m.Shares {
			opts := fmt.Sprintf("local,id=fs%d,path=%s,mount_tag=%s,security_model=none", i, escapeOpt(s.HostPath), escapeOpt(s.Tag))
			if s.ReadOnly {
				opts += ",readonly=on"
			}
			args = append(args, "-virtfs", opts)
		}
	}
	return args
}

// virtiofsdArgs runs QEMU's C virtiofsd (the Rust one accepts the same
// -o options). cache=auto with timeout=0 revalidates names and attributes
// on every lookup and drops a file's cached pages when it changed on open,
// so an edit on either side is seen by the other at once, while reads of
// an unchanged file stay cached.
func virtiofsdArgs(sock string, s vm.Share) []string {
	return []string{
		"--socket-path=" + sock,
		"-o", "source=" + s.HostPath,
		"-o", "cache=auto", "-o", "timeout=0",
		"-o", "log_level=warn",
	}
}

// startVirtiofsd starts one virtiofsd per share and waits for their
// sockets. The daemons exit by themselves when QEMU disconnects; stop
// makes sure of it.
func (d *Driver) startVirtiofsd(bin string) (stop func(), err error) {
	var cmds []*exec.Cmd
	stop = func() {
		for _, c := range cmds {
			_ = c.Process.Kill()
			_ = c.Wait()
		}
		for i := range d.m.Shares {
			_ = os.Remove(vfsSocket(d.m.StateDir, i))
		}
	}
	logf, err := os.OpenFile(filepath.Join(d.m.StateDir, "virtiofsd.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("creating the virtiofsd log: %w", err)
	}
	defer logf.Close()
	for i, s := range d.m.Shares {
		sock := vfsSocket(d.m.StateDir, i)
		_ = os.Remove(sock)
		cmd := exec.Command(bin, virtiofsdArgs(sock, s)...)
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
