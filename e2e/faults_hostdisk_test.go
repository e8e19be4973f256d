//go:build linux

package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/hostinfo"
)

// hostDiskFull puts a machine on a small file system of its own (a
// tmpfs: mounting one needs root, which CI has), fills that file system
// while a container writes to the data disk, and frees it again. QEMU
// stops the VM rather than fail the guest's writes; status says the host's
// disk is full; once there is room the VM goes on by itself, the write
// completes, and the data disk's file system is clean.
func hostDiskFull(t *testing.T, rec *recoveries) {
	if os.Geteuid() != 0 {
		t.Skip("mounting a small file system for the machine needs root (CI runs as root)")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=1536m,mode=0700", "berth-faults", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount tmpfs: %v %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", dir).Run() })
	e := newEnvIn(t, dir)
	e.mustBerth(t, "config", "set", "disk", "4GiB")
	e.mustBerth(t, "start")
	const img = "berth-hostdisk"
	e.buildBusyboxImage(t, img)

	// Leave 120 MiB free, and write 300 MiB of real data in the guest.
	free, err := hostinfo.DiskFree(dir)
	if err != nil {
		t.Fatal(err)
	}
	ballast := filepath.Join(dir, "ballast")
	if out, err := exec.Command("fallocate", "-l", itoa(int64(free)-120<<20), ballast).CombinedOutput(); err != nil {
		t.Fatalf("fallocate: %v %s", err, out)
	}
	e.mustDocker(t, "run", "-d", "--name", "writer", img, "sh", "-c", "dd if=/dev/urandom of=/big bs=1M count=300 && sync && echo written")
	var st status
	waitFor(t, "berth status to say the host's disk is full", 3*time.Minute, func() bool {
		st = e.status(t)
		return strings.Contains(st.Error, "host's disk is full")
	})
	t.Logf("status %s: %s", st.State, st.Error)
	if st.State != "degraded" {
		t.Errorf("state %q with the host's disk full, want degraded", st.State)
	}
	if err := os.Remove(ballast); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	waitFor(t, "the engine to answer once the host has room", 2*time.Minute, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err := e.docker(ctx, nil, "version")
		return err == nil
	})
	took := time.Since(t0)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if out, err := e.docker(ctx, nil, "wait", "writer"); err != nil || strings.TrimSpace(out) != "0" {
		logs, _ := e.docker(ctx, nil, "logs", "writer")
		t.Fatalf("the writer's exit: %v %q; its log: %s", err, out, logs)
	}
	if out := e.mustDocker(t, "logs", "writer"); !strings.Contains(out, "written") {
		t.Errorf("the writer's log: %s", out)
	}
	if st := e.status(t); st.State != "running" {
		t.Errorf("state after the host had room again: %s (%s)", st.State, st.Error)
	}
	// A shutdown (not fastStart's save, which leaves the file system
	// mounted in the saved VM) for e2fsck to read a clean disk.
	e.mustBerth(t, "stop", "--no-save")
	disk := filepath.Join(e.machineDir(), "data.img")
	if out, err := exec.Command("e2fsck", "-fn", disk).CombinedOutput(); err != nil {
		t.Errorf("the data disk's file system after the host's disk was full: e2fsck -fn: %v\n%s", err, out)
	}
	rec.add("the host's disk full while the data disk grows (then space freed)", took,
		"status says the host's disk is full; the VM waits, then goes on by itself; the guest's write completes; e2fsck clean")
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
