package qemu

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/berth-dev/berth/internal/hostinfo"
)

// resumeFree is the host's free space at which a VM stopped on a full
// host disk goes on: room for the write that failed and some more.
const resumeFree = 256 << 20

// Stalled implements vm.StallWatcher. QEMU's default for a write error of
// "no space" (werror=enospc) is to stop the VM and keep the request, so a
// full host disk never corrupts the guest's file system: the write is
// done again when the VM goes on. The agent asks at each health check;
// once the host has room again, the VM goes on here.
func (d *Driver) Stalled(context.Context) string {
	st, err := queryStatus(d.files.QMP)
	if err != nil || st != "io-error" {
		return ""
	}
	dir := d.dataDiskDir()
	free, ferr := hostinfo.DiskFree(dir)
	if ferr == nil && free >= resumeFree {
		if st, err := runState(d.files.QMP, "cont"); err == nil && st == "running" {
			d.log.Info("the host has room again: the VM goes on", "free", free, "dir", dir)
			return ""
		}
	}
	return stallReason(dir, free, ferr)
}

// dataDiskDir is the directory of the VM's writable disk, where a write
// error on the host happens.
func (d *Driver) dataDiskDir() string {
	for _, disk := range d.m.Disks {
		if !disk.ReadOnly {
			return filepath.Dir(disk.Path)
		}
	}
	return d.m.StateDir
}

// stallReason is the status of a VM QEMU stopped on a write error.
func stallReason(dir string, free uint64, freeErr error) string {
	if freeErr != nil {
		return fmt.Sprintf("the VM stopped on a write error to its data disk in %s (the host's free space there is unknown: %v); it goes on when QEMU can write again", dir, freeErr)
	}
	return fmt.Sprintf("the host's disk is full: the VM stopped on a write to its data disk in %s (%d MiB free there); free space on the host and it goes on by itself, nothing lost", dir, free>>20)
}
