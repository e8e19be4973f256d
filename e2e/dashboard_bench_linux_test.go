package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/berth-dev/berth/hostagent/api"
)

// agentIdleWindow is how long each phase of BenchmarkDashboardIdle is
// measured.
const agentIdleWindow = 20 * time.Second

// BenchmarkDashboardIdle measures the real host agent's CPU time
// (/proc/PID/stat's utime + stime) with the machine idle, over
// agentIdleWindow: twice before any dashboard page was opened (how much
// the figure moves by itself), with a page open in headless Chromium, and
// after the browser closed; and the agent's goroutines before and after. The page costs
// nothing once closed: the last figure is the first. `make bench`.
func BenchmarkDashboardIdle(b *testing.B) {
	e := newEnv(b)
	if _, err := os.Stat(chromium); err != nil {
		b.Fatalf("%s is needed (hack/deps-dashboard.txt): %v", chromium, err)
	}
	e.mustBerth(b, "start")
	pid := e.status(b).AgentPID
	addr := strings.TrimSpace(e.mustBerth(b, "dashboard", "--no-open"))
	ctl := api.NewClient(filepath.Join(e.machineDir(), "agent.sock"))
	goroutines := func() int {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		r, err := ctl.Resources(ctx)
		if err != nil {
			b.Fatal(err)
		}
		return r.Goroutines
	}
	for b.Loop() {
		time.Sleep(5 * time.Second) // the start's last work
		before := goroutines()
		never := agentCPU(b, pid, agentIdleWindow)
		// Two windows alike: how much the figures move by themselves.
		never2 := agentCPU(b, pid, agentIdleWindow)
		br := newBrowser(b)
		br.run(b, time.Minute, chromedp.Navigate(addr), visible("#containers"), waitText("#machine-state", "running"))
		time.Sleep(3 * time.Second) // the page's first lists
		open := agentCPU(b, pid, agentIdleWindow)
		br.close()
		time.Sleep(3 * time.Second)
		closed := agentCPU(b, pid, agentIdleWindow)
		after := goroutines()
		b.Logf("the agent's goroutines: %d before the page opened, %d after it closed", before, after)
		per := float64(agentIdleWindow) / float64(10*time.Second)
		b.ReportMetric(float64(never.Milliseconds())/per, "ms-cpu/10s-never-opened")
		b.ReportMetric(float64(never2.Milliseconds())/per, "ms-cpu/10s-never-opened-2")
		b.ReportMetric(float64(open.Milliseconds())/per, "ms-cpu/10s-page-open")
		b.ReportMetric(float64(closed.Milliseconds())/per, "ms-cpu/10s-page-closed")
		if st := e.status(b); st.State != "running" {
			b.Fatalf("the machine is %s (%s): the figures are not of an idle running machine", st.State, st.Error)
		}
	}
}

// agentCPU is the CPU time process pid spends over d.
func agentCPU(b *testing.B, pid int, d time.Duration) time.Duration {
	b.Helper()
	t0 := procCPU(b, pid)
	time.Sleep(d)
	return procCPU(b, pid) - t0
}

// procCPU is utime + stime of /proc/PID/stat, in clock ticks of 10 ms
// (USER_HZ is 100 on Linux).
func procCPU(b *testing.B, pid int) time.Duration {
	b.Helper()
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	// The fields after the command's name, which is in parentheses and
	// may hold spaces: state is the first, utime the 12th, stime the 13th.
	f := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+2:]))
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		b.Fatalf("/proc/%d/stat: %q", pid, raw)
	}
	return time.Duration(ut+st) * 10 * time.Millisecond
}
