package qemu

import (
	"os"
	"os/exec"
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

// virtiofsdNeedsRoot: QEMU's C virtiofsd sandboxes itself with namespaces
// and keeps a pid file under /var/run, so it runs as root only. (Run in a
// user namespace it fails on that pid file.)
func virtiofsdNeedsRoot() bool { return os.Geteuid() != 0 }
