package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/guest/guestconfig"
)

func median(d []time.Duration) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

// BenchmarkStart: `berth start` until the engine answers, median of 5, next
// to a bare boot of the same kernel to the guest init's first line in the
// same run. The ratio is the figure (goal ≤ 2.0×). A start restores the VM
// the last `berth stop` saved (fastStart, the default); the same machine
// with fastStart off, booting each time, is measured too (median of 3).
func BenchmarkStart(b *testing.B) {
	e := newEnv(b)
	e.mustBerth(b, "start") // creates the machine and formats the disk
	accel := e.status(b).Accelerator
	// The bare boot emulates the CPU the driver chose, on its accelerator.
	vmArgs := qemuArgs(b, e)
	cpu, accelArg := argValue(b, vmArgs, "-cpu"), argValue(b, vmArgs, "-accel")
	e.mustBerth(b, "stop")
	const runs, coldRuns = 5, 3
	var starts, colds, bares []time.Duration
	start := func(restored bool) time.Duration {
		t0 := time.Now()
		e.mustBerth(b, "start")
		d := time.Since(t0)
		if tl := e.status(b).Timeline; tl == nil || tl.Restored != restored {
			b.Fatalf("a start with fastStart %v: restored = %v", restored, tl != nil && tl.Restored)
		}
		e.mustBerth(b, "stop")
		return d
	}
	for range b.N {
		for range runs {
			starts = append(starts, start(true))
			bares = append(bares, bareBoot(b, e, cpu, accelArg))
		}
		e.mustBerth(b, "config", "set", "fastStart", "false")
		for range coldRuns {
			colds = append(colds, start(false))
		}
		e.mustBerth(b, "config", "set", "fastStart", "true")
	}
	ms, mc, mb := median(starts), median(colds), median(bares)
	b.ReportMetric(ms.Seconds(), "start-s")
	b.ReportMetric(mc.Seconds(), "boot-start-s")
	b.ReportMetric(mb.Seconds(), "bare-boot-s")
	b.ReportMetric(ms.Seconds()/mb.Seconds(), "ratio")
	b.ReportMetric(mc.Seconds()/mb.Seconds(), "boot-ratio")
	b.Logf("accelerator %s: berth start (restored) median %.2fs %v; with fastStart off (a boot) %.2fs %v; bare boot median %.2fs %v; ratio %.2f (booting %.2f)",
		accel, ms.Seconds(), starts, mc.Seconds(), colds, mb.Seconds(), bares, ms.Seconds()/mb.Seconds(), mc.Seconds()/mb.Seconds())
}

// argValue is the value after flag in a command line.
func argValue(b *testing.B, args []string, flag string) string {
	b.Helper()
	for i := 0; i+1 < len(args); i++ {
		if args[i] == flag {
			return args[i+1]
		}
	}
	b.Fatalf("QEMU's command line has no %s: %q", flag, args)
	return ""
}

// bareBoot launches QEMU with the image's kernel and initramfs and no disk,
// network or config, and times it to the init's first console line.
func bareBoot(b *testing.B, e *env, cpu, accelArg string) time.Duration {
	b.Helper()
	img := filepath.Join(filepath.Dir(filepath.Dir(e.bin)), "share", "berth", "image", runtime.GOARCH)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "qemu-system-x86_64", "-nodefaults", "-no-user-config", "-M", "q35",
		"-accel", accelArg, "-cpu", cpu, "-smp", "2", "-m", "2048M", "-display", "none",
		"-kernel", filepath.Join(img, "vmlinuz"), "-initrd", filepath.Join(img, "initramfs.img"),
		"-append", "quiet panic=-1 console=ttyS0", "-serial", "stdio", "-no-reboot")
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if strings.Contains(sc.Text(), guestconfig.MarkerInitStarted) {
			return time.Since(t0)
		}
	}
	b.Fatalf("bare boot never reached the init")
	return 0
}

// BenchmarkAPIRoundTrip: docker API calls through Berth's socket (bridge +
// virtual network) next to the same calls made by the agent straight into
// the virtual network, and `docker version` as a user runs it. GET /version
// is the call the issue names (dockerd execs runc to answer it, so it is
// slow under emulation); GET /_ping shows the transport itself.
func BenchmarkAPIRoundTrip(b *testing.B) {
	e := newEnv(b)
	e.mustBerth(b, "start")
	const n = 100
	hc := e.socketClient()
	bridged := func(path string) []time.Duration {
		var ds []time.Duration
		for range n {
			t0 := time.Now()
			resp, err := hc.Get("http://docker" + path)
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			ds = append(ds, time.Since(t0))
		}
		return ds
	}
	direct := func(path string) []time.Duration {
		out := e.mustBerth(b, "debug", "engine-rtt", "-n", fmt.Sprint(n), "--path", path)
		var rtt struct{ Nanos []int64 }
		if err := json.Unmarshal([]byte(out), &rtt); err != nil {
			b.Fatalf("engine-rtt: %v: %s", err, out)
		}
		var ds []time.Duration
		for _, ns := range rtt.Nanos {
			ds = append(ds, time.Duration(ns))
		}
		return ds
	}
	for range b.N {
		for _, path := range []string{"/version", "/_ping"} {
			mb, md := median(bridged(path)), median(direct(path))
			name := strings.TrimPrefix(path, "/")
			b.ReportMetric(float64(mb.Microseconds()), name+"-bridged-p50-µs")
			b.ReportMetric(float64(md.Microseconds()), name+"-direct-p50-µs")
			b.Logf("GET %s p50: through the bridge %v, agent direct %v (ratio %.2f)", path, mb, md, float64(mb)/float64(md))
		}
	}
	var cli []time.Duration
	for range 20 {
		cli = append(cli, e.timeDockerVersion(b))
	}
	b.ReportMetric(float64(median(cli).Milliseconds()), "docker-version-p50-ms")
	b.Logf("`docker version` p50 %v", median(cli))
}
