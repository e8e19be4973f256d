package initd

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"

	"golang.org/x/sys/unix"
)

const binfmtDir = "/proc/sys/fs/binfmt_misc"

// registerBinfmt lets containers of the other architecture run: it mounts
// binfmt_misc (its module is in config.Modules) and registers the rules of
// binfmtRules, at every boot, before the engine starts. With Rosetta
// (config.Rosetta), its share is mounted read-only first; a Rosetta that
// cannot be mounted falls back to QEMU's emulator, with a warning. A rule
// whose name is registered already is left alone: in WSL the kernel, and
// so its binfmt_misc, is every distro's.
func (in *Init) registerBinfmt() {
	err := unix.Mount("binfmt_misc", binfmtDir, "binfmt_misc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "")
	if err != nil && !errors.Is(err, unix.EBUSY) {
		in.warnf("other architectures: mounting binfmt_misc: %v", err)
		return
	}
	rosetta := in.cfg.Rosetta
	if rosetta {
		if err := mountRosetta(); err != nil {
			in.warnf("Rosetta: the share %q is not mounted (%v); amd64 images run through QEMU's emulator", rosettaTag, err)
			rosetta = false
		}
	}
	for _, r := range binfmtRules(runtime.GOARCH, rosetta) {
		if _, err := os.Stat(filepath.Join(binfmtDir, r.Name)); err == nil {
			in.logf("binfmt %s: registered already", r.Name)
			continue
		}
		if _, err := os.Stat(r.Interpreter); err != nil {
			in.warnf("other architectures: %s cannot run: %v", r.Name, err)
			continue
		}
		if err := os.WriteFile(filepath.Join(binfmtDir, "register"), []byte(r.String()), 0); err != nil {
			in.warnf("other architectures: registering %s: %v", r.Name, err)
			continue
		}
		in.logf("binfmt %s: %s", r.Name, r.Interpreter)
	}
}

// rosettaTag is the virtio-fs tag of the Rosetta share (vm/vz.RosettaTag).
const rosettaTag = "rosetta"

func mountRosetta() error {
	if err := os.MkdirAll(RosettaMount, 0o755); err != nil {
		return err
	}
	err := unix.Mount(rosettaTag, RosettaMount, "virtiofs", unix.MS_RDONLY|unix.MS_NODEV|unix.MS_NOSUID, "")
	if errors.Is(err, unix.EBUSY) {
		return nil
	}
	return err
}
