package initd

import (
	"context"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/guest/agentapi"
)

// Health reports the machine's state (agentapi.Backend).
func (in *Init) Health(context.Context) agentapi.Health {
	in.mu.Lock()
	h := agentapi.Health{
		Engine:        in.engineState(),
		DataDisk:      in.disk,
		Time:          time.Now(),
		UptimeSeconds: time.Since(in.start).Seconds(),
		Warnings:      append([]string(nil), in.warnings...),
		Boot:          in.boot.list(),
	}
	containerd, dockerd := in.containerd, in.dockerd
	in.mu.Unlock()
	h.Containerd = agentapi.ProcessStatus{State: "not-started"}
	h.Dockerd = h.Containerd
	if containerd != nil {
		h.Containerd = containerd.Status()
	}
	if dockerd != nil {
		h.Dockerd = dockerd.Status()
	}
	if h.DataDisk.State == agentapi.DiskMounted || h.DataDisk.State == agentapi.DiskMountedWithErrors {
		var st unix.Statfs_t
		if unix.Statfs(in.dataPath, &st) == nil {
			h.DataDisk.SizeBytes = st.Blocks * uint64(st.Bsize)
			h.DataDisk.FreeBytes = st.Bavail * uint64(st.Bsize)
			h.DataDisk.FreeInodes = st.Ffree
		}
		if h.Engine.State == agentapi.EngineRestarting && (h.DataDisk.FreeBytes < 1<<20 || h.DataDisk.FreeInodes == 0) {
			h.Engine.Reason += fmt.Sprintf(" (the data disk is full: %d bytes, %d inodes free)", h.DataDisk.FreeBytes, h.DataDisk.FreeInodes)
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		h.Memory = ParseMeminfo(string(b))
	}
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		h.KernelRelease = unix.ByteSliceToString(u.Release[:])
	}
	return h
}
