package initd

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/guest/agentapi"
)

const dataMount = "/mnt/data"

// dataBinds are the engine's state directories, each a directory of the
// data disk bound onto the path the daemon uses.
var dataBinds = []struct{ sub, target string }{
	{"docker", "/var/lib/docker"},
	{"containerd", "/var/lib/containerd"},
}

// e2fsck -p exit codes: 0 clean, 1 errors fixed, 2 fixed and the system
// should reboot (only meaningful for a mounted root); 4 and up mean errors
// left or a failure.
var e2fsckCodes = map[int]string{
	4: "file system errors left uncorrected", 8: "operational error",
	12: "errors left uncorrected and an operational error",
	16: "usage or syntax error", 32: "cancelled by the user", 128: "shared library error",
}

// prepareDataDisk formats a blank data disk, checks an ext4 one, mounts it
// and binds the engine's directories onto it. It never formats a disk that
// holds anything.
func (in *Init) prepareDataDisk(ctx context.Context) {
	dev := in.cfg.DataDisk.Device
	fail := func(format string, args ...any) {
		msg := fmt.Sprintf(format, args...)
		in.setDisk(func(d *agentapi.DataDisk) { d.State, d.Error = agentapi.DiskFailed, msg })
		in.logf("data disk: %s", msg)
	}
	if err := waitForFile(dev, diskTimeout); err != nil {
		fail("%v", err)
		return
	}
	class, devSize, err := classifyDevice(dev)
	if err != nil {
		fail("reading %s: %v", dev, err)
		return
	}
	var checkErr string
	switch class.Kind {
	case DiskBlank:
		in.logf("data disk %s is blank (%s); formatting it", dev, class.Detail)
		args := []string{"mkfs.ext4", "-q", "-F", "-E", "lazy_itable_init=1,lazy_journal_init=1"}
		if l := in.cfg.DataDisk.Label; l != "" {
			args = append(args, "-L", l)
		}
		if _, _, err := in.run(ctx, append(args, dev)...); err != nil {
			fail("formatting the blank disk %s failed: %v", dev, err)
			return
		}
		in.setDisk(func(d *agentapi.DataDisk) { d.Formatted = true })
	case DiskExt4:
		out, e, err := in.run(ctx, "e2fsck", "-p", dev)
		switch {
		case err != nil && e == (Exit{}): // it did not run at all
			checkErr = err.Error()
		case e.Signal == "" && e.Code < 4:
			if e.Code > 0 {
				in.logf("data disk %s: e2fsck fixed errors: %s", dev, out)
			}
		default:
			what := e2fsckCodes[e.Code]
			if e.Signal != "" || what == "" {
				what = e.String()
			}
			checkErr = fmt.Sprintf("e2fsck -p %s: exit %d (%s): %s", dev, e.Code, what, strings.TrimSpace(out))
		}
		if checkErr != "" {
			in.logf("data disk: %s; mounting it anyway, it will not be formatted", checkErr)
		}
	default:
		fail("%s holds %s, not an ext4 file system; refusing to format it (the data disk is formatted only when its first MiB is zeros)", dev, class.Detail)
		return
	}
	if err := mountData(dev); err != nil {
		msg := err.Error()
		if checkErr != "" {
			msg = checkErr + "; then " + msg
		}
		fail("%s", msg)
		return
	}
	in.balanceReserve()
	if class.Kind == DiskExt4 && devSize > class.FSBytes+1<<20 {
		// The host grew the disk image: grow the file system online.
		if _, _, err := in.run(ctx, "resize2fs", dev); err != nil {
			in.warnf("growing the data file system to the disk's size: %v", err)
		}
	}
	in.setDisk(func(d *agentapi.DataDisk) {
		d.State, d.Error = agentapi.DiskMounted, ""
		if checkErr != "" {
			d.State, d.Error = agentapi.DiskMountedWithErrors, checkErr
		}
	})
}

const (
	// reservePath holds space back from the engine: a disk that containers
	// filled to the last block would otherwise stop dockerd from starting
	// (its storage driver check writes to /var/lib/docker). ext4's reserved
	// blocks do not help: containers run as root too.
	reservePath = dataMount + "/.berth-reserve"
	reserveSize = 64 << 20
)

// balanceReserve frees the reserve when the disk is full, so the engine
// starts and the user can delete what filled it, and puts it back once
// there is room. fallocate writes nothing, so the sparse disk image does
// not grow.
func (in *Init) balanceReserve() {
	var st unix.Statfs_t
	if err := unix.Statfs(dataMount, &st); err != nil {
		return
	}
	free := st.Bavail * uint64(st.Bsize)
	_, statErr := os.Stat(reservePath)
	exists := statErr == nil
	switch {
	case exists && free < reserveSize:
		if err := os.Remove(reservePath); err != nil {
			in.warnf("data disk is full (%d bytes free) and its reserve could not be freed: %v", free, err)
			return
		}
		in.warnf("data disk was full (%d bytes free): released its %d MiB reserve so the engine can start; free space (docker system prune) before it fills again", free, reserveSize>>20)
	case !exists && free > 4*reserveSize:
		f, err := os.OpenFile(reservePath, os.O_CREATE|os.O_WRONLY, 0o600)
		if err != nil {
			return
		}
		defer f.Close()
		if err := unix.Fallocate(int(f.Fd()), 0, 0, reserveSize); err != nil {
			os.Remove(reservePath)
		}
	}
}

func classifyDevice(dev string) (DiskClass, uint64, error) {
	f, err := os.Open(dev)
	if err != nil {
		return DiskClass{}, 0, err
	}
	defer f.Close()
	size, _ := unix.IoctlGetUint64(int(f.Fd()), unix.BLKGETSIZE64)
	c, err := ClassifyDisk(f)
	return c, size, err
}

func mountData(dev string) error {
	if err := os.MkdirAll(dataMount, 0o755); err != nil {
		return err
	}
	// discard gives freed blocks back to the sparse disk image.
	if err := unix.Mount(dev, dataMount, "ext4", unix.MS_NOATIME, "discard"); err != nil {
		return fmt.Errorf("mounting %s (ext4) on %s: %w", dev, dataMount, err)
	}
	for _, b := range dataBinds {
		src := dataMount + "/" + b.sub
		for _, d := range []string{src, b.target} {
			if err := os.MkdirAll(d, 0o711); err != nil {
				return err
			}
		}
		if err := unix.Mount(src, b.target, "", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("binding %s to %s: %w", src, b.target, err)
		}
	}
	return nil
}

// unmountData unmounts everything on the data disk, deepest first; a mount
// that stays busy is detached, and the disk is remounted read-only so the
// journal is clean whatever happens.
func (in *Init) unmountData() {
	mounts, _ := os.ReadFile("/proc/self/mountinfo")
	var targets []string
	for _, line := range strings.Split(string(mounts), "\n") {
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		t := f[4]
		for _, p := range []string{dataMount, "/var/lib/docker", "/var/lib/containerd"} {
			if t == p || strings.HasPrefix(t, p+"/") {
				targets = append(targets, t)
				break
			}
		}
	}
	for i := len(targets) - 1; i >= 0; i-- {
		t := targets[i]
		if t == dataMount {
			continue
		}
		if err := unix.Unmount(t, 0); err != nil {
			_ = unix.Unmount(t, unix.MNT_DETACH)
		}
	}
	syncEngineDisks()
	var err error
	for range 20 {
		if err = unix.Unmount(dataMount, 0); err == nil || err == unix.EINVAL {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	in.logf("unmounting %s: %v; remounting it read-only", dataMount, err)
	if err := unix.Mount("", dataMount, "", unix.MS_REMOUNT|unix.MS_RDONLY, ""); err != nil {
		in.logf("remounting %s read-only: %v", dataMount, err)
	}
}

func (in *Init) setDisk(f func(*agentapi.DataDisk)) {
	in.mu.Lock()
	defer in.mu.Unlock()
	f(&in.disk)
}
