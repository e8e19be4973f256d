package initd

import (
	"os"
	"strconv"
	"time"

	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/guest/guestconfig"
)

// powerOff stops the engine in order (dockerd first, which stops the
// containers, then containerd), ends every other process, flushes and
// unmounts the data disk and powers the machine off.
func (in *Init) powerOff(reason string) {
	in.logf("shutting down: %s", reason)
	if in.diskDone != nil {
		// Never cut a format or a check short.
		select {
		case <-in.diskDone:
		case <-time.After(2 * time.Minute):
		}
	}
	in.mu.Lock()
	in.stopping = true
	dockerdStop, dockerdDone := in.dockerdStop, in.dockerdDone
	containerdStop, containerdDone := in.containerdStop, in.containerdDone
	in.mu.Unlock()
	if dockerdStop != nil {
		dockerdStop()
		<-dockerdDone
	}
	if containerdStop != nil {
		containerdStop()
		<-containerdDone
	}
	in.killAll()
	syncEngineDisks()
	if in.wsl {
		// The distro's disk is WSL's; the engine's mounts end with this
		// mount namespace, and anything left with this PID namespace.
		in.logf("exiting after %.1fs", time.Since(in.start).Seconds())
		in.console.printf("%s", guestconfig.MarkerPowerOff)
		os.Exit(0)
	}
	in.unmountData()
	syncEngineDisks()
	in.logf("powering off after %.1fs", time.Since(in.start).Seconds())
	in.console.printf("%s", guestconfig.MarkerPowerOff)
	_ = unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF)
	select {} // PID 1 must not exit
}

// syncEngineDisks flushes the file systems the guest writes and must keep:
// the engine's data (the data disk in the VM; the distro's disk under WSL)
// and the root. Not sync(2): it flushes every file system, shared folders
// too, and a share whose host daemon died never answers; virtiofs cannot
// be aborted (no forced unmount, no control file), so the sync, and the
// power-off after it, would wait forever.
func syncEngineDisks() {
	for _, p := range []string{"/var/lib/docker", dataMount, "/"} {
		fd, err := unix.Open(p, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			continue
		}
		_ = unix.Syncfs(fd)
		_ = unix.Close(fd)
	}
}

// killAll sends SIGTERM to every remaining process (container shims and
// whatever they left), then SIGKILL to those still there after 3 s.
func (in *Init) killAll() {
	_ = unix.Kill(-1, unix.SIGTERM)
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		if !otherProcesses() {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	_ = unix.Kill(-1, unix.SIGKILL)
	time.Sleep(200 * time.Millisecond)
}

// otherProcesses reports whether any user-space process besides PID 1 is
// left. kill(-1, 0) cannot tell: it counts kernel threads too.
func otherProcesses() bool {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return false
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == 1 {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err == nil && isUserProcess(string(stat)) {
			return true
		}
	}
	return false
}
