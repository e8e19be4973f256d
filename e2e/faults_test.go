//go:build linux

package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/proc"
	"github.com/berth-dev/berth/tray/trayhost"
)

// TestFaults is `make test-faults`: each process of a running machine is
// killed in turn, and a second machine has its CPUs stopped for ten
// minutes of wall clock (a laptop's sleep) meanwhile, while a third takes
// the load (loadSuite). After each fault the
// test measures how long until the engine answers again and checks that
// nothing was lost or leaked (world.checkNothingLost). The recovery table
// it prints is the README's "Reliability" table.
func TestFaults(t *testing.T) {
	if os.Getenv(EnvFaults) != "1" {
		t.Skipf("the fault suite kills a machine's processes and sleeps one for ten minutes: run it with `make test-faults` (%s=1)", EnvFaults)
	}
	rec := &recoveries{}
	// The load case boots its machine once the sleeping one sleeps (its
	// CPUs stopped cost nothing), so that two machines run at a time.
	asleep := make(chan struct{})
	var once sync.Once
	fellAsleep := func() { once.Do(func() { close(asleep) }) }
	t.Run("group", func(t *testing.T) {
		t.Run("kill -9", func(t *testing.T) { t.Parallel(); killFaults(t, rec) })
		t.Run("sleep and wake", func(t *testing.T) { t.Parallel(); defer fellAsleep(); sleepFault(t, rec, fellAsleep) })
		t.Run("load", func(t *testing.T) { t.Parallel(); <-asleep; loadSuite(t) })
	})
	t.Logf("recoveries:\n%s", rec.table())
}

// lost is what checkNothingLost checks, for the table.
const lost = "image, volume content, restart-policy containers and their ports, manual forward, config; no leaked process, socket, listener or fd"

func killFaults(t *testing.T, rec *recoveries) {
	e := newEnv(t)
	// The dashboard's port is chosen at each start unless the config
	// names one: named, a restarted agent listens where the first did.
	e.mustBerth(t, "config", "set", "dashboard.port", strconv.Itoa(freePort(t)))
	e.mustBerth(t, "start")
	w := setUpWorld(t, e, "berth-faults")

	for _, name := range []string{"dockerd", "containerd"} {
		t.Run(name, func(t *testing.T) {
			t0 := time.Now()
			w.guestKill(t, name)
			took := w.waitRecovered(t, t0, 4*time.Minute)
			w.checkNothingLost(t)
			rec.add("kill -9 of "+name+" (guest)", took, "the init restarts it; "+lost)
		})
	}

	t.Run("guest agent", func(t *testing.T) {
		// The guest agent is the guest's PID 1 (the init serves its
		// API): the kernel ignores a SIGKILL sent to it from inside.
		t0 := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		out, err := e.berth(ctx, "shell", "--", "sh", "-c", "kill -9 1; echo sent")
		cancel()
		if err != nil || !strings.Contains(out, "sent") {
			t.Fatalf("kill -9 1 in the guest: %v %s", err, out)
		}
		if out := e.mustBerth(t, "shell", "--", "echo", "still here"); !strings.Contains(out, "still here") {
			t.Fatalf("the guest agent after kill -9: %q", out)
		}
		took := w.waitRecovered(t, t0, time.Minute)
		w.checkNothingLost(t)
		rec.add("kill -9 of the guest agent (PID 1: ignored by the kernel)", took, lost)
	})

	t.Run("host agent", func(t *testing.T) {
		st := e.killAgent(t)
		t0 := time.Now()
		e.mustBerth(t, "start")
		took := w.waitRecovered(t, t0, 4*time.Minute)
		if now := e.status(t); now.VMPID != st.VMPID {
			t.Errorf("berth start after the agent's death booted a new VM (pid %d, was %d): it should adopt", now.VMPID, st.VMPID)
		}
		w.checkNothingLost(t)
		rec.add("kill -9 of the host agent, then `berth start` (adopts the VM)", took, lost)
	})

	t.Run("QEMU", func(t *testing.T) {
		st := e.status(t)
		if err := proc.Kill(st.VMPID); err != nil {
			t.Fatal(err)
		}
		t0 := time.Now()
		waitFor(t, "the agent to notice the VM's death", 30*time.Second, func() bool { return !pidAlive(st.AgentPID) })
		e.mustBerth(t, "start")
		took := w.waitRecovered(t, t0, 6*time.Minute)
		// The data disk was checked, not formatted: the volume's content
		// (checked below) is still there, and the check was clean or
		// repaired what the crash left.
		if now := e.status(t); now.State != "running" {
			t.Errorf("state after the VM's crash and a start: %s (%s)", now.State, now.Error)
		}
		serial, _ := os.ReadFile(filepath.Join(e.machineDir(), "serial.log"))
		if strings.Contains(string(serial), "mkfs") && strings.Contains(string(serial), "formatting") {
			t.Errorf("the data disk was formatted after the crash:\n%s", tail(serial, 3000))
		}
		w.checkNothingLost(t)
		rec.add("kill -9 of QEMU, then `berth start` (boots; fsck, never a format)", took, lost)
	})

	t.Run("virtiofsd", func(t *testing.T) {
		pids := machinePIDs(t, e.home)
		var vfs int
		for _, p := range pids {
			if processKind(cmdline(p)) == "virtiofsd" {
				vfs = p
			}
		}
		if vfs == 0 {
			t.Fatalf("no virtiofsd among %v", cmdlines(pids))
		}
		if err := proc.Kill(vfs); err != nil {
			t.Fatal(err)
		}
		t0 := time.Now()
		// The engine keeps running; status names the share.
		var st status
		waitFor(t, "berth status to say the share is down", 30*time.Second, func() bool {
			st = e.status(t)
			return st.State == "degraded" && strings.Contains(st.Error, "share")
		})
		t.Logf("status %s: %s", st.State, st.Error)
		if !w.engineAnswers() {
			t.Fatalf("the engine stopped answering when a share's daemon died")
		}
		logFile := filepath.Join(e.machineDir(), "hostagent.log")
		before, _ := os.ReadFile(logFile)
		t1 := time.Now()
		e.mustBerth(t, "stop")
		t.Logf("berth stop took %.1fs", time.Since(t1).Seconds())
		// The guest powered off by itself: a sync that waits on the dead
		// share would leave it to the agent's force after two minutes.
		if log, _ := os.ReadFile(logFile); len(log) >= len(before) && strings.Contains(string(log[len(before):]), "did not power off in time") {
			t.Errorf("the guest did not power off by itself with a share's daemon dead:\n%s", tail(log, 2000))
		}
		t1 = time.Now()
		out := e.mustBerth(t, "start", "--verbose")
		t.Logf("berth start took %.1fs:\n%s", time.Since(t1).Seconds(), out)
		took := w.waitRecovered(t, t0, 6*time.Minute)
		if now := e.status(t); now.State != "running" {
			t.Errorf("state after berth restart: %s (%s)", now.State, now.Error)
		}
		w.checkNothingLost(t)
		rec.add("kill -9 of virtiofsd (status degraded naming the share; `berth stop` and `start` bring it back)", took, lost)
	})

	t.Run("tray", func(t *testing.T) {
		trayBin := filepath.Join(filepath.Dir(e.bin), "berth-tray")
		if _, err := os.Stat(trayBin); err != nil {
			t.Fatalf("the tray binary is built next to berth (make berth-tray): %v", err)
		}
		vm := e.status(t).VMPID
		first := startTray(t, e, trayBin)
		if err := first.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		_ = first.Wait()
		t0 := time.Now()
		// The engine is untouched, and the next tray starts (its
		// single-instance lock died with the first one).
		if !w.engineAnswers() || e.status(t).VMPID != vm {
			t.Fatalf("the engine changed when the tray was killed")
		}
		second := startTray(t, e, trayBin)
		took := time.Since(t0)
		_ = second.Process.Signal(syscall.SIGKILL)
		_ = second.Wait()
		w.checkNothingLost(t)
		rec.add("kill -9 of the tray (the next one starts; the engine is untouched)", took, lost)
	})

	t.Run("stop and start", func(t *testing.T) { gracefulStop(t, e, w, rec) })
	// One booted machine at a time on this side; the sleep takes as long.
	e.mustBerth(t, "stop")
	t.Run("host disk full", func(t *testing.T) { hostDiskFull(t, rec) })
}

// gracefulStop: dockerd runs with live-restore (a crashed dockerd leaves
// the containers running), and a stop turns it off first, so that the
// containers still get their stop signal and the restart-policy ones come
// back at the next start.
func gracefulStop(t *testing.T, e *env, w *world, rec *recoveries) {
	e.mustDocker(t, "run", "-d", "--name", "graceful", "-v", w.volume+":/data", w.image, "sh", "-c",
		`rm -f /data/term; trap "echo got TERM > /data/term; exit 0" TERM; while true; do sleep 1; done`)
	e.mustBerth(t, "stop")
	t0 := time.Now()
	e.mustBerth(t, "start")
	took := w.waitRecovered(t, t0, 6*time.Minute)
	if got := strings.TrimSpace(e.mustDocker(t, "run", "--rm", "-v", w.volume+":/data", w.image, "cat", "/data/term")); got != "got TERM" {
		t.Errorf("the container did not get SIGTERM at berth stop: /data/term holds %q", got)
	}
	e.mustDocker(t, "rm", "graceful")
	w.checkNothingLost(t)
	rec.add("`berth stop` then `berth start` (containers get SIGTERM; restart-policy ones come back)", took, lost)
}

// startTray starts berth-tray on a private session bus and waits until
// its icon registers; the tray must not start the engine (it runs).
func startTray(t *testing.T, e *env, bin string) *exec.Cmd {
	t.Helper()
	bus, err := trayhost.StartBus()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(bus.Close)
	host, err := trayhost.NewHost(bus.Address)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(host.Close)
	cmd := exec.Command(bin)
	cmd.Env = append(e.environ(), "DBUS_SESSION_BUS_ADDRESS="+bus.Address)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := host.WaitItem(ctx); err != nil {
		t.Fatalf("the tray's icon did not register: %v", err)
	}
	return cmd
}
