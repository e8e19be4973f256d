package hostagent

import (
	"runtime"
	"syscall"
	"testing"
	"time"
)

// idleWindow is how long each of BenchmarkAgentIdle's phases is measured.
const idleWindow = 8 * time.Second

// BenchmarkAgentIdle measures the running agent's CPU time (user and
// system, as /proc/PID/stat's utime and stime count it, read through
// getrusage for microseconds) over idleWindow with no dashboard page
// ever opened, with a page open (its event stream: the agent's events and
// the engine's), and after that page closed; the agent runs against the
// fake driver, its guest and the stand-in engine in their own process, so
// what this process spends is the agent's. A closed page must leave
// nothing running: the goroutines come back to where they were before it
// opened, or the benchmark fails. `make bench-agent-idle` (in make bench).
func BenchmarkAgentIdle(b *testing.B) {
	for b.Loop() {
		a := startAgent(b, "", fakeDriverName)
		addr, err := a.ctl.Dashboard(a.ctx)
		if err != nil {
			b.Fatal(err)
		}
		settle()
		before := runtime.NumGoroutine()
		never := cpuOver(idleWindow)
		closePage := openPage(a.ctx, b, addr)
		settle()
		open := cpuOver(idleWindow)
		closePage()
		deadline := time.Now().Add(5 * time.Second)
		for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if n := runtime.NumGoroutine(); n > before {
			b.Fatalf("%d goroutines after the page closed, %d before it opened: something it started runs on", n, before)
		}
		closed := cpuOver(idleWindow)
		per := float64(idleWindow) / float64(10*time.Second)
		b.ReportMetric(float64(never.Microseconds())/1e3/per, "ms-cpu/10s-never-opened")
		b.ReportMetric(float64(open.Microseconds())/1e3/per, "ms-cpu/10s-page-open")
		b.ReportMetric(float64(closed.Microseconds())/1e3/per, "ms-cpu/10s-page-closed")
		if err := a.ctl.Stop(a.ctx); err != nil {
			b.Fatal(err)
		}
		if err := <-a.runErr; err != nil {
			b.Fatal(err)
		}
	}
}

// settle lets what a change started (a start, a page's first lists) end
// before a window is measured.
func settle() { time.Sleep(2 * time.Second) }

// cpuOver is the CPU time this process spends over d.
func cpuOver(d time.Duration) time.Duration {
	t0 := processCPU()
	time.Sleep(d)
	return processCPU() - t0
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
