package initd

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/guest/guestconfig"
)

const (
	modulesDir  = "/modules"
	stage1Dir   = "/.berth"
	diskTimeout = 15 * time.Second
)

// inInitramfs reports whether / is the kernel's initramfs (a ramfs or
// tmpfs), which means stage 1 must run.
func inInitramfs() bool {
	var st unix.Statfs_t
	if unix.Statfs("/", &st) != nil {
		return false
	}
	return st.Type == unix.RAMFS_MAGIC || st.Type == unix.TMPFS_MAGIC
}

// stage1 runs in the initramfs: it loads the modules needed to see the
// root disk, mounts the disk read-only under a tmpfs overlay and makes that
// the root, continuing in the same process. It returns the machine config's
// bytes, read before the initramfs is freed.
func (in *Init) stage1() ([]byte, error) {
	if err := mountAll([]mountSpec{
		{source: "proc", target: "/proc", fstype: "proc", flags: unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC},
		{source: "sysfs", target: "/sys", fstype: "sysfs", flags: unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC},
		{source: "devtmpfs", target: "/dev", fstype: "devtmpfs", flags: unix.MS_NOSUID, data: "mode=0755"},
	}); err != nil {
		return nil, err
	}
	cfg, err := os.ReadFile(guestconfig.Path)
	if err != nil {
		return nil, fmt.Errorf("reading machine config: %w", err)
	}
	// The image's rootfs.img, attached first: a virtio or a SCSI disk.
	rootDevice, order := rootBoot(cfg)
	if err := in.loadInitramfsModules(order); err != nil {
		return nil, err
	}
	if err := waitForFile(rootDevice, diskTimeout); err != nil {
		return nil, fmt.Errorf("root disk: %w", err)
	}
	newRoot, err := mountOverlayRoot(rootDevice)
	if err != nil {
		return nil, err
	}
	for _, d := range []string{"/dev", "/proc", "/sys"} {
		if err := os.MkdirAll(newRoot+d, 0o755); err != nil {
			return nil, err
		}
		if err := unix.Mount(d, newRoot+d, "", unix.MS_MOVE, ""); err != nil {
			return nil, fmt.Errorf("moving %s into the new root: %w", d, err)
		}
	}
	freeInitramfs(newRoot)
	if err := switchRoot(newRoot); err != nil {
		return nil, err
	}
	return cfg, nil
}

// loadInitramfsModules loads the modules /modules/<order> lists, in order.
func (in *Init) loadInitramfsModules(order string) error {
	f, err := os.Open(filepath.Join(modulesDir, order))
	if errors.Is(err, os.ErrNotExist) {
		return nil // a kernel with everything built in
	} else if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name := strings.TrimSpace(sc.Text())
		if name == "" || strings.HasPrefix(name, "#") {
			continue
		}
		if err := loadModule(filepath.Join(modulesDir, name)); err != nil {
			in.warnf("loading %s: %v", name, err)
		}
	}
	return sc.Err()
}

func loadModule(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	err = unix.FinitModule(int(f.Fd()), "", 0)
	if errors.Is(err, unix.ENOSYS) { // a kernel without finit_module
		var b []byte
		if b, err = os.ReadFile(path); err == nil {
			err = unix.InitModule(b, "")
		}
	}
	if errors.Is(err, unix.EEXIST) {
		return nil
	}
	return err
}

func waitForFile(path string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		if _, err := os.Stat(path); err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not appear within %s", path, timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// mountOverlayRoot mounts the root disk read-only with a tmpfs on top, so
// the machine can write anywhere and every boot starts from the image.
func mountOverlayRoot(rootDevice string) (string, error) {
	lower, rw, root := stage1Dir+"/lower", stage1Dir+"/rw", stage1Dir+"/root"
	if err := mountAll([]mountSpec{
		{source: rootDevice, target: lower, fstype: "ext4", flags: unix.MS_RDONLY, data: "noload"},
		{source: "tmpfs", target: rw, fstype: "tmpfs", data: "mode=0755"},
	}); err != nil {
		return "", err
	}
	for _, d := range []string{rw + "/upper", rw + "/work", root} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return "", err
		}
	}
	opts := fmt.Sprintf("lowerdir=%s,upperdir=%s/upper,workdir=%s/work", lower, rw, rw)
	if err := unix.Mount("overlay", root, "overlay", 0, opts); err != nil {
		return "", fmt.Errorf("mounting the root overlay (%s): %w", opts, err)
	}
	return root, nil
}

// freeInitramfs deletes the initramfs's files (modules, config, the init
// binary's directory entry) as switch_root does; only entries on the
// initramfs itself, never across a mount.
func freeInitramfs(keep string) {
	var rootSt unix.Stat_t
	if unix.Lstat("/", &rootSt) != nil {
		return
	}
	var walk func(dir string)
	walk = func(dir string) {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return
		}
		for _, e := range entries {
			p := filepath.Join(dir, e.Name())
			if p == keep || p == stage1Dir {
				continue
			}
			var st unix.Stat_t
			if unix.Lstat(p, &st) != nil || st.Dev != rootSt.Dev {
				continue
			}
			if e.IsDir() {
				walk(p)
				_ = unix.Rmdir(p)
			} else {
				_ = unix.Unlink(p)
			}
		}
	}
	walk("/")
}

func switchRoot(newRoot string) error {
	if err := unix.Chdir(newRoot); err != nil {
		return err
	}
	if err := unix.Mount(newRoot, "/", "", unix.MS_MOVE, ""); err != nil {
		return fmt.Errorf("moving the new root onto /: %w", err)
	}
	if err := unix.Chroot("."); err != nil {
		return fmt.Errorf("chroot into the new root: %w", err)
	}
	return unix.Chdir("/")
}
