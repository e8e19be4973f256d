package e2e

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// BenchmarkMemoryGivenBack: the VM process's resident memory on the host
// (QEMU's VmRSS: the guest's RAM it has touched) idle, while a container
// holds 1.5 GiB (a file in a tmpfs), and in the minute after the container
// is gone, when the guest reports its freed pages through the balloon and
// QEMU gives them back. Goal: back within 300 MiB of idle within a minute.
func BenchmarkMemoryGivenBack(b *testing.B) {
	e := newEnv(b)
	// Room for 1.5 GiB beside the engine.
	if err := os.WriteFile(filepath.Join(e.home, "config.yaml"), []byte("memory: 3GiB\n"), 0o600); err != nil {
		b.Fatal(err)
	}
	e.mustBerth(b, "start")
	pid := e.status(b).VMPID
	if pid == 0 {
		b.Fatal("berth status names no VM process")
	}
	e.buildBusyboxImage(b, "berth-mem")
	for range b.N {
		time.Sleep(20 * time.Second) // the boot's own garbage reported
		idle := vmRSS(b, pid)
		e.mustDocker(b, "run", "-d", "--name", "mem", "--tmpfs", "/big:size=1700m", "berth-mem",
			"sh", "-c", "dd if=/dev/zero of=/big/f bs=1M count=1536 && touch /big/done && sleep 3600")
		waitFor(b, "the container's 1.5 GiB", 5*time.Minute, func() bool {
			out, err := e.docker(b.Context(), nil, "exec", "mem", "ls", "/big/done")
			return err == nil && strings.Contains(out, "done")
		})
		loaded := vmRSS(b, pid)
		// Under emulation dockerd may give up waiting for the kill's exit
		// event: ask until the container is gone.
		waitFor(b, "the container removed", 2*time.Minute, func() bool {
			_, err := e.docker(b.Context(), nil, "rm", "-f", "mem")
			return err == nil
		})
		gone := time.Now()
		var within time.Duration
		var after int64
		for time.Since(gone) < time.Minute {
			time.Sleep(time.Second)
			after = vmRSS(b, pid)
			if within == 0 && after-idle <= 300<<10 {
				within = time.Since(gone)
			}
		}
		b.ReportMetric(float64(idle>>10), "idle-MiB")
		b.ReportMetric(float64(loaded>>10), "loaded-MiB")
		b.ReportMetric(float64(after>>10), "after-60s-MiB")
		b.Logf("VM RSS: idle %d MiB, holding 1.5 GiB %d MiB, 60 s after %d MiB (%+d MiB of idle); within 300 MiB of idle after %v",
			idle>>10, loaded>>10, after>>10, (after-idle)>>10, within.Round(time.Second))
		if within == 0 {
			b.Errorf("the VM kept %d MiB over its idle figure for a minute: the memory was not given back", (after-idle)>>10)
		}
	}
}

// vmRSS is a process's resident set in KiB (VmRSS, which counts the
// guest RAM QEMU shares with the agent's vhost-user back end too).
func vmRSS(b *testing.B, pid int) int64 {
	b.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), "VmRSS:"); ok {
			kib, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				b.Fatalf("VmRSS %q: %v", v, err)
			}
			return kib
		}
	}
	b.Fatalf("no VmRSS in /proc/%d/status", pid)
	return 0
}
