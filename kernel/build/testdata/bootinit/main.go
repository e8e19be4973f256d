// Command bootinit is a stand-in guest init for the image boot test: it
// loads /modules in /modules/order, mounts the root disk read-only, checks
// the engine's binaries run, prints markers to the console and powers off.
package main

import (
	"bytes"
	"fmt"
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
	for _, p := range []string{"/usr/sbin/dockerd", "/usr/bin/containerd", "/usr/sbin/runc", "/usr/sbin/iptables", "/usr/bin/docker-init"} {
		if fi, err := os.Stat("/root" + p); err != nil {
			say("MISSING %s: %v", p, err)
		} else {
			say("EXISTS %s %v", p, fi.Mode())
		}
	}
	must("mount root/proc", unix.Mount("proc", "/root/proc", "proc", 0, ""))
	must("mount root/sys", unix.Mount("sysfs", "/root/sys", "sysfs", 0, ""))
	must("mount root/dev", unix.Mount("devtmpfs", "/root/dev", "devtmpfs", 0, ""))
	must("mount root/run", unix.Mount("tmpfs", "/root/run", "tmpfs", 0, ""))
	must("mount root/tmp", unix.Mount("tmpfs", "/root/tmp", "tmpfs", 0, ""))
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
	say("BOOTINIT done")
}

func run(argv []string) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.SysProcAttr = &unix.SysProcAttr{Chroot: "/root"}
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
