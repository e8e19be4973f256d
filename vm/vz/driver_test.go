//go:build !windows

package vz

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/pidfile"
	"github.com/berth-dev/berth/internal/proc"
	"github.com/berth-dev/berth/internal/sockets"
	"github.com/berth-dev/berth/vm"
)

// helperDriver is a driver of m whose helper is this test binary with a
// fakeVZ (TestMain), in mode; it runs as a separate, detached process.
func helperDriver(t *testing.T, m *vm.Machine, mode string) *Driver {
	t.Helper()
	t.Setenv(envFakeHelper, mode)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	d := newDriver(m, []string{exe}, testMac)
	d.boot = 30 * time.Second
	return d
}

// noLeak fails the test, and kills it, if the helper pid still runs at
// the end.
func noLeak(t *testing.T, pid int) {
	t.Cleanup(func() {
		if proc.Alive(pid) {
			t.Errorf("the helper (pid %d) was left running", pid)
			_ = proc.Kill(pid)
		}
	})
}

func startHelper(t *testing.T, d *Driver) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := d.Start(ctx); err != nil {
		t.Fatal(err)
	}
	pid := d.Info().PID
	if pid == 0 || pid == os.Getpid() {
		t.Fatalf("helper pid %d", pid)
	}
	noLeak(t, pid)
	return pid
}

// A second driver (a later agent) adopts the running helper: the same
// process, which its Stop then ends; the first driver sees it exit, and
// no file of the helper stays.
func TestDriverAdoptsTheRunningHelper(t *testing.T) {
	m := testMachine(t)
	d1 := helperDriver(t, m, "honour")
	pid := startHelper(t, d1)
	if got, alive := d1.RunningPID(); !alive || got != pid {
		t.Fatalf("RunningPID = %d, %v; want %d", got, alive, pid)
	}

	d2 := helperDriver(t, m, "honour")
	if got, alive := d2.RunningPID(); !alive || got != pid {
		t.Fatalf("a new driver's RunningPID = %d, %v; want %d", got, alive, pid)
	}
	if err := vm.Adopt(context.Background(), d2); err != nil {
		t.Fatal(err)
	}
	if info := d2.Info(); info.PID != pid || info.Driver != DriverName || info.Accelerator != accelerator {
		t.Fatalf("adopted: %+v, want pid %d", info, pid)
	}
	if err := d2.Adopt(context.Background()); err == nil {
		t.Error("a driver adopted twice")
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := d2.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if proc.Alive(pid) {
		t.Fatal("the helper runs after Stop")
	}
	if err := d1.Wait(ctx); err != nil {
		t.Errorf("the starting driver's Wait: %v, want a clean exit", err)
	}
	if err := d2.Wait(ctx); err != nil {
		t.Errorf("the adopting driver's Wait: %v", err)
	}
	checkGone(t, m, pidFile, recordFile, controlSock, specFile)
	if err := d2.Adopt(context.Background()); !errors.Is(err, vm.ErrNotRunning) {
		t.Errorf("Adopt after the stop: %v, want ErrNotRunning", err)
	}
}

// The helper outlives the agent that started it (its own session, not
// the agent's child any more): the next agent adopts it and stops it.
func TestHelperOutlivesTheAgent(t *testing.T) {
	m := testMachine(t)
	b, _ := json.Marshal(m)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	agent := exec.Command(exe)
	agent.Env = append(os.Environ(), envFakeAgent+"="+string(b))
	var stderr strings.Builder
	agent.Stderr = &stderr
	out, err := agent.Output()
	if err != nil {
		t.Fatalf("the first agent: %v: %s", err, stderr.String())
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatalf("the first agent printed %q", out)
	}
	noLeak(t, pid)
	if !proc.Alive(pid) {
		t.Fatalf("the helper (pid %d) died with the agent", pid)
	}
	d := helperDriver(t, m, "honour")
	if err := d.Adopt(context.Background()); err != nil {
		t.Fatal(err)
	}
	if d.Info().PID != pid {
		t.Fatalf("adopted pid %d, want %d", d.Info().PID, pid)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := d.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := d.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if proc.Alive(pid) {
		t.Fatal("the helper runs after Stop")
	}
	checkGone(t, m, pidFile, recordFile, controlSock, specFile)
}

// A guest that ignores the framework's stop request (an arm64 guest
// without a GPIO power key) is stopped by the helper when Stop's grace is
// over, before Stop's context ends. The driver that stops it did not start
// or adopt it (`berth stop` without an agent): it finds it by its files.
func TestDriverStopEndsAGuestThatIgnoresTheRequest(t *testing.T) {
	m := testMachine(t)
	starter := helperDriver(t, m, "ignore")
	pid := startHelper(t, starter)
	d := helperDriver(t, m, "ignore")
	const grace = time.Second
	ctx, cancel := context.WithTimeout(context.Background(), stopMargin+grace)
	defer cancel()
	start := time.Now()
	if err := d.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < grace/2 {
		t.Errorf("stopped after %s: the grace was not waited for", took)
	}
	if proc.Alive(pid) {
		t.Fatal("the helper runs after Stop")
	}
	log, _ := os.ReadFile(filepath.Join(m.StateDir, logFile))
	if !strings.Contains(string(log), "did not power off in time") {
		t.Errorf("the helper's log does not say it ended the VM:\n%s", log)
	}
	if err := starter.Wait(ctx); err != nil {
		t.Errorf("the starter's Wait: %v", err)
	}
	checkGone(t, m, pidFile, recordFile, controlSock, specFile)
}

// Kill ends a helper this driver did not start, found by its files.
func TestDriverKill(t *testing.T) {
	m := testMachine(t)
	starter := helperDriver(t, m, "ignore")
	pid := startHelper(t, starter)
	d := helperDriver(t, m, "ignore")
	start := time.Now()
	if err := d.Kill(); err != nil {
		t.Fatal(err)
	}
	if proc.Alive(pid) {
		t.Fatal("the helper runs after Kill")
	}
	if took := time.Since(start); took > killWait {
		t.Errorf("Kill took %s", took)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := starter.Wait(ctx); err != nil {
		t.Errorf("the starter's Wait: %v", err)
	}
	checkGone(t, m, pidFile, recordFile, controlSock, specFile)
	if err := d.Kill(); err != nil {
		t.Errorf("a second Kill: %v", err)
	}
}

// On a host without Virtualization.framework (this Linux build), Start
// says so and creates nothing: no process, socket, pidfile or spec.
func TestStartWithoutVZ(t *testing.T) {
	if newHypervisor != nil {
		t.Skip("this build has Virtualization.framework")
	}
	m := testMachine(t)
	d, err := New(m)
	if err != nil {
		t.Fatal(err)
	}
	err = d.Start(context.Background())
	if !errors.Is(err, errNoVZ) {
		t.Fatalf("Start = %v, want errNoVZ", err)
	}
	if pid, _ := d.running(); pid != 0 {
		t.Errorf("a helper (pid %d) was started", pid)
	}
	if entries, _ := os.ReadDir(m.StateDir); len(entries) != 0 {
		t.Errorf("Start left %v", entries)
	}
	if err := available(); !errors.Is(err, errNoVZ) {
		t.Errorf("available = %v, want errNoVZ", err)
	}
}

// The helper itself refuses in a build without the framework, and the
// driver's Start reports its reason and leaves nothing but its log.
func TestStartWhenTheHelperRefuses(t *testing.T) {
	m := testMachine(t)
	d := helperDriver(t, m, "none")
	err := d.Start(context.Background())
	if err == nil || !strings.Contains(err.Error(), errNoVZ.Error()) {
		t.Fatalf("Start = %v, want the helper's %q", err, errNoVZ)
	}
	if pid, alive := d.RunningPID(); alive {
		t.Errorf("RunningPID = %d, alive", pid)
	}
	entries, _ := os.ReadDir(m.StateDir)
	for _, e := range entries {
		if e.Name() != logFile {
			t.Errorf("Start left %s", e.Name())
		}
	}
}

// The guest never prints its marker: Start gives up, the helper is ended.
func TestStartTimesOut(t *testing.T) {
	m := testMachine(t)
	m.BootMarker = "a marker the fake never prints"
	d := helperDriver(t, m, "honour")
	d.boot = 500 * time.Millisecond
	err := d.Start(context.Background())
	if err == nil || !strings.Contains(err.Error(), "did not reach its init") {
		t.Fatalf("Start = %v", err)
	}
	if pid, alive := d.RunningPID(); alive {
		t.Errorf("the helper (pid %d) runs after a failed start", pid)
	}
	checkGone(t, m, pidFile, recordFile, controlSock, specFile)
}

// adoptable lays out the files of a helper that runs (this process) for
// a driver to adopt, and answers its control socket with answer.
func adoptable(t *testing.T, answer response) *Driver {
	t.Helper()
	m := testMachine(t)
	d := newDriver(m, []string{"unused"}, testMac)
	pf, err := pidfile.Acquire(filepath.Join(m.StateDir, pidFile))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pf.Release() })
	writeRecordFile(t, m, record{PID: os.Getpid(), MAC: m.Network.MAC})
	ln, err := sockets.Listen(filepath.Join(m.StateDir, controlSock))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_, _ = readRequest(c)
			b, _ := json.Marshal(answer)
			_, _ = c.Write(append(b, '\n'))
			c.Close()
		}
	}()
	return d
}

func writeRecordFile(t *testing.T, m *vm.Machine, r record) {
	t.Helper()
	b, _ := json.Marshal(r)
	if err := os.WriteFile(filepath.Join(m.StateDir, recordFile), b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// Adoption needs the pidfile, the record and the control socket to
// agree; a helper that is gone is ErrNotRunning.
func TestAdoptRefusals(t *testing.T) {
	running := response{State: StateRunning, PID: os.Getpid()}
	t.Run("all three agree", func(t *testing.T) {
		d := adoptable(t, running)
		if err := d.Adopt(context.Background()); err != nil {
			t.Fatal(err)
		}
		if d.Info().PID != os.Getpid() {
			t.Errorf("adopted pid %d", d.Info().PID)
		}
	})
	for _, tc := range []struct {
		name   string
		answer response
		prep   func(t *testing.T, d *Driver)
		want   string
	}{
		{"record of another pid", running, func(t *testing.T, d *Driver) {
			writeRecordFile(t, d.m, record{PID: 1, MAC: d.m.Network.MAC})
		}, "names pid 1"},
		{"no record", running, func(t *testing.T, d *Driver) { os.Remove(d.path(recordFile)) }, "record is unreadable"},
		{"another machine's card", running, func(t *testing.T, d *Driver) {
			writeRecordFile(t, d.m, record{PID: os.Getpid(), MAC: "5a:94:ef:00:00:01"})
		}, "MAC"},
		{"no control socket", running, func(t *testing.T, d *Driver) { os.Remove(d.path(controlSock)) }, "does not answer"},
		{"control socket of another process", response{State: StateRunning, PID: 1}, nil, "served by pid 1"},
		{"a VM that stops", response{State: StateStopping, PID: os.Getpid()}, nil, "is stopping"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := adoptable(t, tc.answer)
			if tc.prep != nil {
				tc.prep(t, d)
			}
			err := d.Adopt(context.Background())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Adopt = %v, want %q", err, tc.want)
			}
			if errors.Is(err, vm.ErrNotRunning) {
				t.Errorf("a running helper that disagrees is not ErrNotRunning: %v", err)
			}
			if d.Info().PID != 0 {
				t.Errorf("a refused adoption set the pid: %+v", d.Info())
			}
		})
	}
}

// A pidfile and record left by a helper that died are stale: nothing to
// adopt, no running VM.
func TestAdoptStaleFiles(t *testing.T) {
	m := testMachine(t)
	d := newDriver(m, []string{"unused"}, testMac)
	if err := d.Adopt(context.Background()); !errors.Is(err, vm.ErrNotRunning) {
		t.Fatalf("no files: %v, want ErrNotRunning", err)
	}
	exe, _ := os.Executable()
	dead := exec.Command(exe, "-test.run=^$")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	pid := dead.Process.Pid
	if err := os.WriteFile(d.path(pidFile), []byte(strconv.Itoa(pid)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	writeRecordFile(t, m, record{PID: pid, MAC: m.Network.MAC})
	if err := d.Adopt(context.Background()); !errors.Is(err, vm.ErrNotRunning) {
		t.Fatalf("stale files: %v, want ErrNotRunning", err)
	}
	if _, err := vm.RunningPID(d); !errors.Is(err, vm.ErrNotRunning) {
		t.Errorf("RunningPID with stale files: %v", err)
	}
	if err := d.Stop(context.Background()); err != nil {
		t.Errorf("Stop with stale files: %v", err)
	}
	if err := d.Kill(); err != nil {
		t.Errorf("Kill with stale files: %v", err)
	}
	checkGone(t, m, pidFile, recordFile)
}
