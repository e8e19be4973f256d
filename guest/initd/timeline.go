package initd

import (
	"slices"
	"sync"
	"time"

	"github.com/berth-dev/berth/guest/agentapi"
)

// The boot's steps, as the timeline names them.
const (
	markKernel     = "kernel"       // the init started: firmware, kernel and initramfs are behind
	markRootDisk   = "root disk"    // the root image mounted (stage 1)
	markModules    = "modules"      // the kernel modules loaded
	markDataDisk   = "data disk"    // mounted, checked or made
	markNetwork    = "network"      // eth0 up with the guest's address
	markAPI        = "guest agent"  // the firewall up and the guest agent API served
	markEngineGo   = "engine start" // containerd and dockerd started
	markDockerd    = "dockerd ready"
	markWSLStarted = "init" // WSL mode: the init runs (its clock starts here)
)

// timeline records when each step of the boot ended, on the clock since
// returns (the kernel's boot time in the VM; in WSL the time since the init
// started). A step is recorded the first time it ends: a dockerd that
// restarts later does not move the boot's mark.
type timeline struct {
	since func() time.Duration

	mu    sync.Mutex
	marks []agentapi.BootMark
}

func (t *timeline) mark(name string) {
	at := t.since().Seconds()
	t.mu.Lock()
	defer t.mu.Unlock()
	if slices.ContainsFunc(t.marks, func(m agentapi.BootMark) bool { return m.Name == name }) {
		return
	}
	t.marks = append(t.marks, agentapi.BootMark{Name: name, At: at})
}

// list is the marks so far, in the order the steps ended.
func (t *timeline) list() []agentapi.BootMark {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := slices.Clone(t.marks)
	slices.SortStableFunc(out, func(a, b agentapi.BootMark) int {
		switch {
		case a.At < b.At:
			return -1
		case a.At > b.At:
			return 1
		}
		return 0
	})
	return out
}
