package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestFastStart: `berth stop` saves the VM with its engine up and the next
// `berth start` restores it (fastStart, on by default): the containers the
// engine would start again run, the others do not, a volume and a shared
// folder are as they were (a file written on the host while the machine
// was stopped is seen), the clock is right, and the saved VM is used once.
// A data disk touched after the save makes the next start boot instead.
func TestFastStart(t *testing.T) {
	e := newEnv(t)
	share := filepath.Join(t.TempDir(), "src")
	if err := os.MkdirAll(share, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(e.home, "config.yaml"), "shares:\n  - path: "+share+"\n")
	e.mustBerth(t, "start")
	t.Cleanup(func() {
		if t.Failed() {
			e.dumpLogs(t)
		}
		e.berth(t.Context(), "stop")
	})
	e.buildBusyboxImage(t, "bb")
	e.mustDocker(t, "volume", "create", "keep")
	e.mustDocker(t, "run", "--rm", "-v", "keep:/v", "bb", "sh", "-c", "echo kept > /v/f")
	for name, policy := range map[string]string{"always": "always", "unless": "unless-stopped", "failure": "on-failure", "never": "no"} {
		e.mustDocker(t, "run", "-d", "--stop-timeout", "1", "--name", name, "--restart", policy, "-v", share+":/src", "bb", "sleep", "100000")
	}
	// Stopped by hand before the save: the engine would start "always"
	// again at its start, not "unless-stopped".
	e.mustDocker(t, "run", "-d", "--name", "always-stopped", "--restart", "always", "bb", "sleep", "100000")
	e.mustDocker(t, "run", "-d", "--name", "unless-stopped", "--restart", "unless-stopped", "bb", "sleep", "100000")
	e.mustDocker(t, "stop", "-t", "1", "always-stopped", "unless-stopped")

	e.mustBerth(t, "stop")
	dir := e.machineDir()
	for _, f := range []string{"saved-vm.json", "saved-vm.state", "saved-vm.ram", "resume-containers.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("after berth stop: %v", err)
		}
	}
	e.assertNothingLeft(t)
	writeFile(t, filepath.Join(share, "while-stopped"), "written on the host")

	t.Run("restored", func(t *testing.T) {
		e.mustBerth(t, "start")
		st := e.status(t)
		if st.Timeline == nil || !st.Timeline.Restored || len(st.Timeline.Guest) != 0 {
			t.Fatalf("the start did not restore the saved VM: %+v", st.Timeline)
		}
		for _, f := range []string{"saved-vm.json", "saved-vm.state", "saved-vm.ram", "resume-containers.json"} {
			if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
				t.Errorf("%s is still there after the restore: a saved VM is used once", f)
			}
		}
		running := strings.Fields(e.mustDocker(t, "ps", "--format", "{{.Names}}"))
		want := map[string]bool{"always": true, "unless": true, "failure": true, "always-stopped": true}
		for _, n := range running {
			if !want[n] {
				how, _ := e.docker(context.Background(), nil, "inspect", "--format", "started {{.State.StartedAt}}, finished {{.State.FinishedAt}}, restarts {{.RestartCount}}", n)
				t.Errorf("container %s runs after the restore (%s); the engine would not have started it", n, strings.TrimSpace(how))
			}
			delete(want, n)
		}
		for n := range want {
			t.Errorf("container %s does not run after the restore; the engine would have started it (running: %v)", n, running)
		}
		if out := strings.TrimSpace(e.mustDocker(t, "run", "--rm", "-v", "keep:/v", "bb", "cat", "/v/f")); out != "kept" {
			t.Errorf("volume after the restore: %q", out)
		}
		// The share's device was plugged again and the guest mounted it.
		if out := e.mustDocker(t, "exec", "always", "cat", "/src/while-stopped"); out != "written on the host" {
			t.Errorf("a file written on the host while stopped, read in a restarted container: %q", out)
		}
		e.mustDocker(t, "exec", "always", "sh", "-c", "echo from-guest > /src/back")
		if b, err := os.ReadFile(filepath.Join(share, "back")); err != nil || string(b) != "from-guest\n" {
			t.Errorf("a file written in the guest after the restore: %q, %v", b, err)
		}
		// The guest's clock is the host's, not the save's.
		out := strings.TrimSpace(e.mustBerth(t, "shell", "--", "date", "+%s"))
		guest, err := strconv.ParseInt(lastLine(out), 10, 64)
		if err != nil {
			t.Fatalf("guest date: %q", out)
		}
		if d := time.Since(time.Unix(guest, 0)); d > 30*time.Second || d < -30*time.Second {
			t.Errorf("guest clock is %v off the host's after the restore", d)
		}
	})
	if t.Failed() {
		return
	}

	t.Run("a data disk changed after the save is booted", func(t *testing.T) {
		e.mustBerth(t, "stop")
		disk := filepath.Join(dir, "data.img")
		if _, err := os.Stat(filepath.Join(dir, "saved-vm.json")); err != nil {
			t.Fatalf("no saved VM after the second stop: %v", err)
		}
		now := time.Now().Add(time.Second)
		if err := os.Chtimes(disk, now, now); err != nil {
			t.Fatal(err)
		}
		e.mustBerth(t, "start")
		st := e.status(t)
		if st.Timeline == nil || st.Timeline.Restored || len(st.Timeline.Guest) == 0 {
			t.Fatalf("the start restored a VM saved before its data disk changed: %+v", st.Timeline)
		}
		log, _ := os.ReadFile(filepath.Join(dir, "hostagent.log"))
		if !strings.Contains(string(log), "data.img changed since the VM was saved") {
			t.Errorf("the agent's log does not say why it booted")
		}
		if out := strings.TrimSpace(e.mustDocker(t, "run", "--rm", "-v", "keep:/v", "bb", "cat", "/v/f")); out != "kept" {
			t.Errorf("volume after the boot: %q", out)
		}
		// The boot started what the engine starts, and the unless-stopped
		// container the save stopped (the engine sees it stopped by hand).
		running := e.mustDocker(t, "ps", "--format", "{{.Names}}")
		for _, n := range []string{"always", "unless", "always-stopped"} {
			if !strings.Contains(running, n+"\n") {
				t.Errorf("container %s does not run after the boot: %q", n, running)
			}
		}
	})
	if t.Failed() {
		return
	}

	t.Run("a saved state QEMU cannot load is booted", func(t *testing.T) {
		e.mustBerth(t, "stop")
		state := filepath.Join(dir, "saved-vm.state")
		fi, err := os.Stat(state)
		if err != nil {
			t.Fatalf("no saved VM after the third stop: %v", err)
		}
		if err := os.Truncate(state, fi.Size()/2); err != nil {
			t.Fatal(err)
		}
		e.mustBerth(t, "start")
		if st := e.status(t); st.Timeline == nil || st.Timeline.Restored {
			t.Fatalf("a half saved state was restored: %+v", st.Timeline)
		}
		log, _ := os.ReadFile(filepath.Join(dir, "hostagent.log"))
		if !strings.Contains(string(log), "restoring the saved VM failed; booting") {
			t.Errorf("the agent's log does not say the restore failed")
		}
		if out := strings.TrimSpace(e.mustDocker(t, "run", "--rm", "-v", "keep:/v", "bb", "cat", "/v/f")); out != "kept" {
			t.Errorf("volume after the failed restore and the boot: %q", out)
		}
	})
}
