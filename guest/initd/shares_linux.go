package initd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/guest/guestconfig"
)

// ninePOptions are the 9p mount options for a hypervisor that offers 9p
// only: version 9p2000.L keeps owners and modes, and a large msize keeps
// the number of round trips down.
const ninePOptions = "trans=virtio,version=9p2000.L,msize=524288,cache=mmap,access=client"

// mountShares mounts the host's shared folders before the engine starts,
// so a container that restarts with the engine finds its bind sources. A
// folder that cannot be mounted is a warning: the engine still starts.
func (in *Init) mountShares() {
	if in.cfg.FileSharing == guestconfig.FileSharingSFTP {
		if len(in.cfg.Shares) > 0 {
			in.startSFTPShares()
		}
		return
	}
	for _, s := range in.cfg.Shares {
		kind, err := mountShare(s)
		if err != nil {
			in.warnf("shared folder %s (tag %s) not mounted: %v", s.Path, s.Tag, err)
			continue
		}
		mode := "read-write"
		if s.ReadOnly {
			mode = "read-only"
		}
		in.logf("shared folder %s mounted (%s, %s)", s.Path, kind, mode)
	}
}

// mountShare mounts one share with virtiofs, or with 9p when the
// hypervisor exposes the tag over 9p; it returns the file system used.
func mountShare(s guestconfig.Share) (string, error) {
	if err := os.MkdirAll(s.Path, 0o755); err != nil {
		return "", err
	}
	var flags uintptr = unix.MS_NODEV
	if s.ReadOnly {
		flags |= unix.MS_RDONLY
	}
	verr := unix.Mount(s.Tag, s.Path, "virtiofs", flags, "")
	if verr == nil {
		return "virtiofs", nil
	}
	perr := unix.Mount(s.Tag, s.Path, "9p", flags, ninePOptions)
	if perr == nil {
		return "9p", nil
	}
	if errors.Is(perr, unix.ENODEV) {
		perr = errors.New("this guest kernel has no 9p support")
	}
	return "", fmt.Errorf("virtiofs: %w; 9p: %w", verr, perr)
}

// UnmountShares implements agentapi.ShareMounter: the shares go, inner
// folders before their parents, and the disks are flushed. A share still
// in use (a shell's working directory) is detached: its device is about
// to be unplugged either way. The data disk is flushed: a boot that
// replaces the saved VM must find on it what the engine wrote.
func (in *Init) UnmountShares() error {
	var errs []error
	if s := in.sftpShares(); s != nil {
		errs = append(errs, s.unmountAll())
	}
	for i := len(in.cfg.Shares) - 1; i >= 0; i-- {
		s := in.cfg.Shares[i]
		err := unix.Unmount(s.Path, 0)
		if errors.Is(err, unix.EBUSY) {
			err = unix.Unmount(s.Path, unix.MNT_DETACH)
		}
		if err != nil && !errors.Is(err, unix.EINVAL) { // EINVAL: not mounted
			errs = append(errs, fmt.Errorf("unmounting %s: %w", s.Path, err))
			continue
		}
		in.logf("shared folder %s unmounted", s.Path)
	}
	// The engine's disk, not a global sync: one that reached a share
	// whose daemon died would never return.
	if f, err := os.Open(in.dataPath); err == nil {
		if err := unix.Syncfs(int(f.Fd())); err != nil {
			errs = append(errs, fmt.Errorf("flushing %s: %w", in.dataPath, err))
		}
		f.Close()
	}
	return errors.Join(errs...)
}

// MountShares implements agentapi.ShareMounter: after a restore the share
// devices are plugged as the guest runs again, and each is mounted as soon
// as its device is there.
func (in *Init) MountShares(ctx context.Context) error {
	if s := in.sftpShares(); s != nil {
		// The host agent connects again once its connections end.
		return s.waitAll(ctx)
	}
	var errs []error
	for _, s := range in.cfg.Shares {
		for {
			kind, err := mountShare(s)
			if err == nil {
				in.logf("shared folder %s mounted (%s)", s.Path, kind)
				break
			}
			select {
			case <-ctx.Done():
				errs = append(errs, fmt.Errorf("shared folder %s (tag %s) not mounted: %w", s.Path, s.Tag, err))
			case <-time.After(50 * time.Millisecond):
				continue
			}
			break
		}
	}
	return errors.Join(errs...)
}
