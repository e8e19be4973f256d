package qemu

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"

	"github.com/berth-dev/berth/vm"
)

// virtiofsdPaths are where distributions install virtiofsd.
var virtiofsdPaths = []string{
	"/usr/lib/qemu/virtiofsd", // Debian/Ubuntu qemu-system-common (QEMU's C daemon up to QEMU 7.2)
	"/usr/libexec/virtiofsd",  // Fedora, Debian's Rust virtiofsd package
	"/usr/lib/virtiofsd",
}

// probeVirtiofsd looks at what this host offers: whether the image's
// virtiofsd runs, and, only when it does not, the host's own.
func probeVirtiofsd(bundled *vm.Program) virtiofsdHost {
	h := virtiofsdHost{goos: runtime.GOOS, bundled: bundled, root: os.Geteuid() == 0, uid: os.Geteuid(), gid: os.Getegid()}
	if bundled != nil {
		if _, h.bundledErr = run(bundled.Command("--version")); h.bundledErr == nil {
			return h // chooseSharing takes the image's daemon
		}
	}
	h.system = findVirtiofsd()
	if h.system != "" {
		help, _ := run([]string{h.system, "--help"})
		h.systemRust = isRustVirtiofsd(help)
	}
	return h
}

// isRustVirtiofsd tells the Rust daemon from QEMU's C one by its --help:
// only the Rust one has --shared-dir.
func isRustVirtiofsd(help string) bool { return strings.Contains(help, "--shared-dir") }

// run runs a short command and returns its output.
func run(argv []string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if err != nil {
		msg := strings.TrimSpace(out.String())
		if len(msg) > 200 {
			msg = msg[:200] + "..."
		}
		if msg == "" {
			return "", err
		}
		return "", fmt.Errorf("%w: %s", err, msg)
	}
	if out.Len() == 0 {
		return "", errors.New("no output")
	}
	return out.String(), nil
}

// findVirtiofsd returns the host's virtiofsd, or "".
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
