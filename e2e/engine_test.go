package e2e

import (
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/proc"
)

const image = "berth-e2e/busybox:1"

// TestEngine is the suite over one machine; the steps share its state and
// run in order.
func TestEngine(t *testing.T) {
	e := newEnv(t)

	t.Run("start", func(t *testing.T) {
		out := e.mustBerth(t, "start", "--verbose")
		t.Logf("berth start:\n%s", out)
		for _, want := range []string{"Engine ready", "docker context use berth", "DOCKER_HOST=unix://", "Started in ", "guest boot, each step ended at: kernel "} {
			if !strings.Contains(out, want) {
				t.Errorf("start output lacks %q", want)
			}
		}
		st := e.status(t)
		if st.State != "running" || !strings.HasPrefix(st.DockerHost, "unix://") || st.Accelerator == "" {
			t.Fatalf("status after start: %+v", st)
		}
		// Where the start's time went: every step of the guest's boot,
		// each ended after the kernel started and by the engine's answer.
		if st.Timeline == nil {
			t.Fatal("status after start: no timeline")
		}
		steps := map[string]float64{}
		for _, m := range st.Timeline.Guest {
			steps[m.Name] = m.At
		}
		for _, name := range []string{"kernel", "root disk", "modules", "data disk", "network", "guest agent", "engine start", "dockerd ready"} {
			if at, ok := steps[name]; !ok || at <= 0 || at > steps["dockerd ready"] {
				t.Errorf("the guest's boot timeline has %s at %v (present %v); timeline %+v", name, at, ok, st.Timeline.Guest)
			}
		}
		// The socket is the owner's only.
		fi, err := os.Stat(strings.TrimPrefix(st.DockerHost, "unix://"))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("docker socket mode: %v %v", fi.Mode(), err)
		}
	})
	if t.Failed() {
		return
	}

	t.Run("start again is a no-op", func(t *testing.T) {
		out := e.mustBerth(t, "start")
		if !strings.Contains(out, "already running") {
			t.Fatalf("second start: %s", out)
		}
	})

	t.Run("second agent refused", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		out, err := e.berth(ctx, "hostagent", "--image-dir", "/nonexistent")
		if err == nil || !strings.Contains(out, "already runs") {
			t.Fatalf("second agent: err=%v out=%s", err, out)
		}
		if st := e.status(t); st.State != "running" {
			t.Fatalf("first agent hurt by the second: %+v", st)
		}
	})

	t.Run("docker version", func(t *testing.T) {
		out := e.mustDocker(t, "version", "--format", "{{.Server.Version}} {{.Server.Os}}")
		if !strings.Contains(out, "linux") {
			t.Fatalf("docker version: %s", out)
		}
	})

	t.Run("build from scratch", func(t *testing.T) { e.buildBusyboxImage(t, image) })

	other := otherArch()
	otherImage := "berth-e2e/busybox-" + other.goarch + ":1"
	t.Run("an image of the other architecture builds and runs", func(t *testing.T) {
		busybox := filepath.Join(t.TempDir(), "busybox")
		bb := debFile(t, other.goarch, "busybox-static", "usr/bin/busybox")
		if m := elfMachine(t, bb); m != other.elf {
			t.Fatalf("Debian's %s busybox-static is a %s binary", other.goarch, m)
		}
		if err := os.WriteFile(busybox, bb, 0o755); err != nil {
			t.Fatal(err)
		}
		e.buildBusyboxImageFor(t, otherImage, busybox, "linux/"+other.goarch)
		if got := strings.TrimSpace(e.mustDocker(t, "image", "inspect", "--format", "{{.Architecture}}", otherImage)); got != other.goarch {
			t.Errorf("the image is for %q, want %s", got, other.goarch)
		}
		checkUname(t, e, otherImage, other)
	})

	t.Run("run echo", func(t *testing.T) {
		out := e.mustDocker(t, "run", "--rm", image, "echo", "hello from berth")
		if strings.TrimSpace(out) != "hello from berth" {
			t.Fatalf("run: %q", out)
		}
	})

	t.Run("run with stdin", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		out, err := e.docker(ctx, []byte("piped line\n"), "run", "--rm", "-i", image, "tr", "a-z", "A-Z")
		if err != nil || strings.TrimSpace(out) != "PIPED LINE" {
			t.Fatalf("run -i: %v %q", err, out)
		}
	})

	t.Run("run -it through a pty", func(t *testing.T) {
		// The container's shell sees a terminal.
		if out := e.dockerInPTY(t, "if [ -t 0 ]; then echo TTY-$((6*7)); fi; exit\r", "run", "--rm", "-it", image, "sh"); !strings.Contains(out, "TTY-42") {
			t.Fatalf("docker run -it output: %q", out)
		}
	})

	t.Run("logs -f", func(t *testing.T) {
		id := strings.TrimSpace(e.mustDocker(t, "run", "-d", image, "sh", "-c", "for i in 1 2 3; do echo line$i; sleep 1; done"))
		defer e.mustDocker(t, "rm", "-f", id)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		out, err := e.docker(ctx, nil, "logs", "-f", id)
		if err != nil || out != "line1\nline2\nline3\n" {
			t.Fatalf("logs -f: %v %q", err, out)
		}
	})

	t.Run("shell", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		out, err := e.berth(ctx, "shell", "--", "sh", "-c", "cat /proc/sys/kernel/hostname; exit 7")
		if !strings.Contains(out, "berth") {
			t.Errorf("shell output %q", out)
		}
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 7 {
			t.Errorf("shell exit: %v", err)
		}
		out = e.mustBerth(t, "logs", "engine")
		if !strings.Contains(out, "API listen on") {
			t.Errorf("engine log lacks dockerd's start: %q", out)
		}
	})

	t.Run("a guest clock that jumps is corrected", func(t *testing.T) {
		// As after the host slept: the guest's clock is 30 s behind.
		e.mustBerth(t, "shell", "--", "sh", "-c", "date -s @$(( $(date +%s) - 30 ))")
		t0 := time.Now()
		var drift float64
		waitFor(t, "the guest clock to be within a second of the host's", 20*time.Second, func() bool {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			before := time.Now()
			out, err := e.berth(ctx, "shell", "--", "date", "+%s")
			guest, perr := strconv.ParseFloat(strings.TrimSpace(out), 64)
			if err != nil || perr != nil {
				return false
			}
			// date prints whole seconds: allow for the truncation.
			drift = guest - float64(before.UnixNano())/1e9
			return drift > -2 && drift < 1.5
		})
		t.Logf("guest clock corrected %.1fs after a 30 s jump (drift now %.1fs)", time.Since(t0).Seconds(), drift)
	})

	t.Run("stop leaves nothing, start keeps the image", func(t *testing.T) {
		out := e.mustBerth(t, "stop")
		if !strings.Contains(out, "stopped") {
			t.Fatalf("stop: %s", out)
		}
		e.assertNothingLeft(t)
		if st := e.status(t); st.State != "stopped" {
			t.Fatalf("status after stop: %+v", st)
		}
		out = e.mustBerth(t, "stop")
		if !strings.Contains(out, "not running") {
			t.Fatalf("stop when stopped: %s", out)
		}
		e.mustBerth(t, "start")
		e.mustDocker(t, "image", "inspect", image)
		// The emulator is registered again at every boot.
		checkUname(t, e, otherImage, other)
	})

	t.Run("kill -9 of QEMU, start keeps the image", func(t *testing.T) {
		st := e.status(t)
		if st.VMPID == 0 {
			t.Fatalf("no VM pid in status: %+v", st)
		}
		if err := proc.Kill(st.VMPID); err != nil {
			t.Fatal(err)
		}
		// The agent notices and exits; the machine is then stopped.
		waitFor(t, "the agent to notice the VM's death", 30*time.Second, func() bool { return !pidAlive(st.AgentPID) })
		e.mustBerth(t, "start")
		e.mustDocker(t, "image", "inspect", image)
		out := e.mustDocker(t, "run", "--rm", image, "echo", "after crash")
		if strings.TrimSpace(out) != "after crash" {
			t.Fatalf("run after crash: %q", out)
		}
	})

	t.Run("kill -9 of the agent, stop cleans up", func(t *testing.T) {
		st := e.killAgent(t)
		out := e.mustBerth(t, "stop")
		for _, want := range []string{"stale pidfile", "without its host agent"} {
			if !strings.Contains(out, want) {
				t.Errorf("stop after agent crash does not report %q:\n%s", want, out)
			}
		}
		e.assertNothingLeft(t)
		if pidAlive(st.VMPID) {
			t.Fatalf("VM pid %d still alive", st.VMPID)
		}
	})
}

// TestEngineIsolation: the engine's TCP port exists only inside the VM's
// private network; neither the host nor a container reaches it.
func TestEngineIsolation(t *testing.T) {
	e := newEnv(t)
	e.mustBerth(t, "start")
	out, _ := exec.Command("ss", "-Hltn").CombinedOutput()
	for _, port := range []string{":2375", ":2380"} {
		if strings.Contains(string(out), port+" ") {
			t.Errorf("something listens on host port %s:\n%s", port, out)
		}
	}
	e.buildBusyboxImage(t, image)
	for _, target := range []string{"192.168.127.2 2375", "192.168.127.2 2380", "172.17.0.1 2375"} {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		out, err := e.docker(ctx, nil, "run", "--rm", image, "sh", "-c", "nc -w 3 "+target+" </dev/null && echo CONNECTED || echo REFUSED")
		cancel()
		if err != nil || !strings.Contains(out, "REFUSED") {
			t.Errorf("container reaching %s: %v %q", target, err, out)
		}
	}
}

// TestCorruptDataDiskIsNotFormatted: a data disk that holds something other
// than Berth's file system stops the start with an exact error and is left
// byte for byte as it was.
func TestCorruptDataDiskIsNotFormatted(t *testing.T) {
	e := newEnv(t)
	dir := e.machineDir()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	garbage := bytes.Repeat([]byte("not a file system; the user's data. "), 1<<16)
	disk := dir + "/data.img"
	if err := os.WriteFile(disk, garbage, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	out, err := e.berth(ctx, "start")
	if err == nil {
		t.Fatalf("start on a corrupt data disk succeeded:\n%s", out)
	}
	if !strings.Contains(out, "data disk") {
		t.Errorf("error does not say what happened:\n%s", out)
	}
	t.Logf("berth start on a corrupt disk:\n%s", out)
	got, _ := os.ReadFile(disk)
	if !bytes.Equal(got, garbage) {
		t.Fatal("the data disk was modified")
	}
}

// foreignArch is the architecture the guest runs through emulation: the
// other one of amd64 and arm64 than the host's (the guest's).
type foreignArch struct {
	goarch string // Go's and Debian's name
	uname  string // the kernel's, as `uname -m` prints it
	elf    elf.Machine
}

func otherArch() foreignArch {
	if runtime.GOARCH == "arm64" {
		return foreignArch{"amd64", "x86_64", elf.EM_X86_64}
	}
	return foreignArch{"arm64", "aarch64", elf.EM_AARCH64}
}

// checkUname runs the other architecture's image: its busybox says the
// machine is that architecture, as QEMU's user-mode emulator presents it.
func checkUname(t *testing.T, e *env, image string, a foreignArch) {
	t.Helper()
	out := e.mustDocker(t, "run", "--rm", "--platform", "linux/"+a.goarch, image, "uname", "-m")
	if got := strings.TrimSpace(out); got != a.uname {
		t.Errorf("uname -m in the %s container: %q, want %s", a.goarch, got, a.uname)
	}
}
