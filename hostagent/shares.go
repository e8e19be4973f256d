package hostagent

import (
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/berth-dev/berth/config"
	"github.com/berth-dev/berth/guest/guestconfig"
	"github.com/berth-dev/berth/hostagent/bridge"
	"github.com/berth-dev/berth/internal/winpath"
	"github.com/berth-dev/berth/vm"
)

// sharePlan is the machine's shared folders in the terms of each party:
// the hypervisor (host folder and tag), the guest (tag and mount point)
// and the socket bridge (which bind sources exist in the guest).
type sharePlan struct {
	vm     []vm.Share
	guest  []guestconfig.Share
	bridge *bridge.Paths
}

// shareHint tells a user whose bind source is not shared what to do.
const shareHint = "share it by adding it to `shares` in " + config.FileName + " (berth config edit), then run `berth restart`"

// guestReserved are the guest's own trees: a share there would hide the
// guest's system or the engine's state.
var guestReserved = []string{
	"/bin", "/boot", "/dev", "/etc", "/lib", "/lib64", "/proc", "/run", "/sbin", "/sys", "/usr",
	"/var/lib/docker", "/var/lib/containerd", "/var/run", "/mnt/data", "/berth",
}

// planShares maps the configured shares for a host OS. On Unix hosts a
// folder appears in the guest at its own path, so bind mounts of host
// paths work unchanged; on Windows `C:\Users\me` appears at
// /mnt/c/Users/me, where WSL puts it too.
func planShares(goos string, shares []config.Share) (sharePlan, error) {
	type item struct {
		cfg   config.Share
		guest string
	}
	var items []item
	var errs []error
	seen := map[string]int{}
	for i, s := range shares {
		g, err := guestPathFor(goos, s.Path)
		if err == nil {
			err = checkGuestPath(g)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("shares[%d].path: %q: %w", i, s.Path, err))
			continue
		}
		if j, dup := seen[g]; dup {
			errs = append(errs, fmt.Errorf("shares[%d].path: %q is shared already (shares[%d])", i, s.Path, j))
			continue
		}
		seen[g] = i
		if s.WindowsPath == "" && goos == "windows" {
			s.WindowsPath = s.Path
		}
		items = append(items, item{s, g})
	}
	if err := errors.Join(errs...); err != nil {
		return sharePlan{}, err
	}
	// Parents are mounted before the folders inside them.
	sort.SliceStable(items, func(a, b int) bool {
		return strings.Count(items[a].guest, "/") < strings.Count(items[b].guest, "/")
	})
	p := sharePlan{bridge: &bridge.Paths{GuestOnly: bridge.DefaultGuestOnly, Hint: shareHint}}
	for i, it := range items {
		tag := fmt.Sprintf("berth%d", i)
		p.vm = append(p.vm, vm.Share{Tag: tag, HostPath: it.cfg.Path, ReadOnly: it.cfg.ReadOnly})
		p.guest = append(p.guest, guestconfig.Share{Tag: tag, Path: it.guest, ReadOnly: it.cfg.ReadOnly})
		p.bridge.Shares = append(p.bridge.Shares, bridge.Share{HostPath: it.cfg.Path, GuestPath: it.guest, WindowsPath: it.cfg.WindowsPath})
	}
	return p, nil
}

// guestPathFor is where a host folder appears in the guest.
func guestPathFor(goos, p string) (string, error) {
	if goos != "windows" {
		if !strings.HasPrefix(p, "/") {
			return "", errors.New("must be an absolute path")
		}
		return path.Clean(p), nil
	}
	return winpath.MntPath(p)
}

func checkGuestPath(g string) error {
	if g == "/" {
		return errors.New("the root folder cannot be shared")
	}
	for _, r := range guestReserved {
		if g == r || strings.HasPrefix(g, r+"/") || strings.HasPrefix(r, g+"/") {
			return fmt.Errorf("overlaps the VM's own %s", r)
		}
	}
	return nil
}

// describe lists the shares for the status: "path", "path (read-only)".
func (p sharePlan) describe() []string {
	var out []string
	for i, s := range p.vm {
		d := s.HostPath
		if g := p.guest[i].Path; g != s.HostPath {
			d += " at " + g
		}
		if s.ReadOnly {
			d += " (read-only)"
		}
		out = append(out, d)
	}
	return out
}

// applyDriver tells the bridge when the driver could not share the
// folders, so a bind of one is refused with the reason.
func (p sharePlan) applyDriver(info vm.Info) {
	if len(p.vm) > 0 && info.FileSharing == "" {
		p.bridge.Shares = nil
		p.bridge.Hint = "folders are not shared: " + info.FileSharingNote
	}
}
