package qemu

import (
	"os"
	"os/exec"
	"syscall"
)

// virtiofsdPaths are where distributions install virtiofsd.
var virtiofsdPaths = []string{
	"/usr/lib/qemu/virtiofsd", // Debian/Ubuntu qemu-system-common (QEMU's C daemon)
	"/usr/libexec/virtiofsd",  // Fedora, Debian's Rust virtiofsd package
	"/usr/lib/virtiofsd",
}

// findVirtiofsd returns the virtiofsd to use, or "".
func findVirtiofsd() string {
	for _, p := range virtiofsdPaths {
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	if p, err := exec.LookPath("virtiofsd"); err == nil {
		return p
	}
	return ""
}

// asInvokingUser makes a virtiofsd started by a user other than root run
// as root of a user namespace that maps only that user. It then has the
// capabilities it needs inside its own sandbox, and every file the guest
// creates is owned by the user on the host, whoever creates it in the
// guest. As root it runs unchanged: the guest's owners are the host's.
func asInvokingUser(cmd *exec.Cmd) {
	uid, gid := os.Getuid(), os.Getgid()
	if uid == 0 {
		return
	}
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Cloneflags |= syscall.CLONE_NEWUSER
	cmd.SysProcAttr.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: uid, Size: 1}}
	cmd.SysProcAttr.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: gid, Size: 1}}
	cmd.SysProcAttr.GidMappingsEnableSetgroups = false
	// Raising the open-file limit past the hard limit fails without root.
	cmd.Args = append(cmd.Args, "--rlimit-nofile=0")
}
