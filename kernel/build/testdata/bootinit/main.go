// Command bootinit is a stand-in guest init for the image boot test: it
// loads /modules in /modules/order, mounts the root disk read-only and moves
// it onto /, checks the engine's binaries run (and with berth.test=dockerd
// on the kernel command line, that dockerd starts and answers), prints
// markers to the console and powers off.
package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

func main() {
	defer func() {
		unix.Sync()
		unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF)
	}()
	say("BOOTINIT start")
	must("mount /proc", unix.Mount("proc", "/proc", "proc", 0, ""))
	must("mount /sys", unix.Mount("sysfs", "/sys", "sysfs", 0, ""))
	must("mount /dev", unix.Mount("devtmpfs", "/dev", "devtmpfs", 0, ""))
	order, err := os.ReadFile("/modules/order")
	must("read /modules/order", err)
	for _, m := range strings.Fields(string(order)) {
		f, err := os.Open("/modules/" + m)
		must("open "+m, err)
		err = unix.FinitModule(int(f.Fd()), "", 0)
		f.Close()
		if err != nil && err != unix.EEXIST {
			say("MODULE-FAIL %s: %v", m, err)
			return
		}
	}
	say("MODULES-OK %s", strings.Join(strings.Fields(string(order)), " "))
	if !waitFor("/dev/vda", 10*time.Second) {
		say("NO /dev/vda")
		return
	}
	must("mkdir /root", os.MkdirAll("/root", 0o755))
	must("mount /dev/vda", unix.Mount("/dev/vda", "/root", "ext4", unix.MS_RDONLY, ""))
	say("ROOT-OK")
	// Move the root disk onto / (what switch_root does): the kernel runs
	// modprobe for module autoloading from the initial root, so the disk's
	// /sbin/modprobe must be reachable from there.
	must("chdir /root", os.Chdir("/root"))
	must("move root", unix.Mount(".", "/", "", unix.MS_MOVE, ""))
	must("chroot", unix.Chroot("."))
	must("chdir /", os.Chdir("/"))
	for _, p := range []string{"/usr/sbin/dockerd", "/usr/bin/containerd", "/usr/sbin/runc", "/usr/sbin/iptables", "/usr/bin/docker-init"} {
		if fi, err := os.Stat(p); err != nil {
			say("MISSING %s: %v", p, err)
		} else {
			say("EXISTS %s %v", p, fi.Mode())
		}
	}
	must("mount /proc", unix.Mount("proc", "/proc", "proc", 0, ""))
	must("mount /sys", unix.Mount("sysfs", "/sys", "sysfs", 0, ""))
	must("mount /dev", unix.Mount("devtmpfs", "/dev", "devtmpfs", 0, ""))
	must("mount /run", unix.Mount("tmpfs", "/run", "tmpfs", 0, ""))
	must("mount /tmp", unix.Mount("tmpfs", "/tmp", "tmpfs", 0, ""))
	for _, c := range [][]string{
		{"/usr/sbin/dockerd", "--version"},
		{"/usr/bin/containerd", "--version"},
		{"/usr/sbin/runc", "--version"},
		{"/usr/sbin/modprobe", "nf_tables"},
		{"/usr/sbin/iptables", "-L", "-n"},
		{"/usr/sbin/iptables", "-t", "nat", "-L", "-n"},
		{"/usr/bin/sh", "-c", "id; ls -l /usr/bin/passwd"},
	} {
		run(c)
	}
	if cmdline, _ := os.ReadFile("/proc/cmdline"); strings.Contains(string(cmdline), "berth.test=dockerd") {
		startDockerd()
	}
	say("BOOTINIT done")
}

// startDockerd starts the engine in the root (state on tmpfs) and asks it
// for its version over its socket.
func startDockerd() {
	for _, d := range []string{"/var/lib/docker", "/var/lib/containerd", "/var/log", "/etc/docker"} {
		must("mount "+d, unix.Mount("tmpfs", d, "tmpfs", 0, ""))
	}
	must("mount cgroup2", unix.Mount("cgroup2", "/sys/fs/cgroup", "cgroup2", 0, ""))
	var log bytes.Buffer
	cmd := exec.Command("/usr/sbin/dockerd")
	cmd.Dir = "/"
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin"}
	cmd.Stdout, cmd.Stderr = &log, &log
	start := time.Now()
	if err := cmd.Start(); err != nil {
		say("DOCKERD-FAIL start: %v", err)
		return
	}
	defer func() {
		cmd.Process.Signal(unix.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
		}
	}()
	client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", "/run/docker.sock")
	}}, Timeout: 5 * time.Second}
	for time.Since(start) < 90*time.Second {
		resp, err := client.Get("http://docker/version")
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			say("DOCKERD-OK after %s: %s", time.Since(start).Round(100*time.Millisecond), bytes.TrimSpace(body))
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	say("DOCKERD-FAIL no answer in 90s; log: %s", strings.ReplaceAll(log.String(), "\n", " | "))
}

func run(argv []string) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = "/"
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin"}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	status := "RUN-OK"
	if err != nil {
		status = "RUN-FAIL(" + err.Error() + ")"
	}
	say("%s %s: %s", status, strings.Join(argv, " "), strings.ReplaceAll(strings.TrimSpace(out.String()), "\n", " | "))
}

func waitFor(p string, d time.Duration) bool {
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if _, err := os.Stat(p); err == nil {
			return true
		}
	}
	return false
}

func say(format string, args ...any) {
	fmt.Fprintf(os.Stdout, format+"\n", args...)
}

func must(what string, err error) {
	if err != nil {
		say("FAIL %s: %v", what, err)
		unix.Sync()
		unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF)
	}
}
