package e2e

import (
	"bytes"
	"debug/elf"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// EnvE2EArch names the guest architecture the arch suite boots: with
// BERTH_E2E_ARCH=arm64, TestArm64 runs (`make test-e2e-arm64`); the normal
// end-to-end run leaves it alone.
const EnvE2EArch = "BERTH_E2E_ARCH"

const arm64Image = "berth-e2e/busybox-arm64:1"

// TestArm64 boots an arm64 guest through Berth's own QEMU driver with the
// real berth binary and `arch: arm64` in the config (under emulation on any
// other host), and runs the smoke suite with the real docker CLI through
// Berth's socket: the engine's architecture, a FROM-scratch build with
// Debian's arm64 busybox, a container, a published port on host loopback,
// a bind mount through virtiofs, a stop (through the guest agent) and start
// that keep the image, and a stop without the agent.
func TestArm64(t *testing.T) {
	if os.Getenv(EnvE2EArch) != "arm64" {
		t.Skipf("the arm64 guest boots under emulation (slow): run it with `make test-e2e-arm64` (%s=arm64)", EnvE2EArch)
	}
	began := time.Now()
	e := newEnv(t)
	shared := t.TempDir()
	cfg := fmt.Sprintf("arch: arm64\nshares:\n  - path: %s\n", shared)
	if err := os.WriteFile(filepath.Join(e.home, "config.yaml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	// Before the VM boots: a package that is missing fails the test early.
	busybox := filepath.Join(t.TempDir(), "busybox")
	bb := debFile(t, "arm64", "busybox-static", "usr/bin/busybox")
	if m := elfMachine(t, bb); m != elf.EM_AARCH64 {
		t.Fatalf("Debian's arm64 busybox-static is a %s binary", m)
	}
	if err := os.WriteFile(busybox, bb, 0o755); err != nil {
		t.Fatal(err)
	}

	t.Run("start", func(t *testing.T) {
		out := e.mustBerth(t, "start", "--verbose")
		t.Logf("berth start --verbose (first start, the data disk is formatted):\n%s", out)
		t.Logf("first start: engine ready %.1fs after the start began", startedIn(t, out))
		st := e.status(t)
		if st.State != "running" || st.Accelerator == "" {
			t.Fatalf("status after start: %+v", st)
		}
		b, err := os.ReadFile(filepath.Join(e.machineDir(), "machine.json"))
		if err != nil || !strings.Contains(string(b), `"arch": "arm64"`) {
			t.Fatalf("machine.json does not record arm64: %v\n%s", err, b)
		}
	})
	if t.Failed() {
		return
	}

	t.Run("docker version", func(t *testing.T) {
		out := strings.TrimSpace(e.mustDocker(t, "version", "--format", "{{.Server.Os}}/{{.Server.Arch}}"))
		if out != "linux/arm64" {
			t.Fatalf("docker version: server %q, want linux/arm64", out)
		}
	})

	t.Run("build from scratch", func(t *testing.T) { e.buildBusyboxImageFrom(t, arm64Image, busybox) })

	t.Run("run --rm", func(t *testing.T) {
		out := e.mustDocker(t, "run", "--rm", arm64Image, "uname", "-m")
		if strings.TrimSpace(out) != "aarch64" {
			t.Fatalf("uname -m in a container: %q, want aarch64", out)
		}
		if out := e.mustDocker(t, "ps", "-aq"); strings.TrimSpace(out) != "" {
			t.Fatalf("--rm left containers: %q", out)
		}
	})

	// The other way round from TestEngine's: amd64 binaries in the arm64
	// guest, through QEMU's x86_64 emulator, at build time and at run time.
	t.Run("an amd64 image builds and runs", func(t *testing.T) {
		if runtime.GOARCH != "amd64" {
			t.Skip("the host's busybox is the guest's own architecture")
		}
		const amd64Image = "berth-e2e/busybox-amd64:1"
		e.buildBusyboxImageFor(t, amd64Image, hostBusybox(t), "linux/amd64")
		checkUname(t, e, amd64Image, foreignArch{"amd64", "x86_64", elf.EM_X86_64})
	})

	t.Run("published port", func(t *testing.T) {
		port := freePort(t)
		id := strings.TrimSpace(e.mustDocker(t, "run", "-d", "-p", fmt.Sprintf("127.0.0.1:%d:8080", port), arm64Image,
			"sh", "-c", "mkdir /www && echo -n "+probeBody+" > /www/index.html && exec httpd -f -p 8080 -h /www"))
		defer e.mustDocker(t, "rm", "-f", id)
		took := expectBody(t, fmt.Sprintf("http://127.0.0.1:%d/", port), 2*time.Minute)
		t.Logf("127.0.0.1:%d answered %s after docker run returned", port, took.Round(time.Millisecond))
	})

	t.Run("bind mount through virtiofs", func(t *testing.T) {
		want := fmt.Sprintf("written on the host at %s", time.Now().Format(time.RFC3339Nano))
		writeFile(t, filepath.Join(shared, "from-host.txt"), want)
		out := e.mustDocker(t, "run", "--rm", "-v", shared+":/data:ro", arm64Image, "cat", "/data/from-host.txt")
		if out != want {
			t.Fatalf("the container read %q, want %q", out, want)
		}
	})

	t.Run("stop and start keep the image", func(t *testing.T) {
		// Without saving (fastStart, tried below): the guest shuts down.
		e.mustBerth(t, "stop", "--no-save")
		e.assertNothingLeft(t)
		// The guest agent powered the VM off: an arm64 guest has no power
		// button, so a forced stop would be the only other way.
		log, err := os.ReadFile(filepath.Join(e.machineDir(), "hostagent.log"))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(log, []byte(`"VM powered off"`)) || bytes.Contains(log, []byte("forcing the VM off")) {
			t.Fatalf("the VM was not powered off by its guest agent; agent log:\n%s", tail(log, 4000))
		}
		out := e.mustBerth(t, "start", "--verbose")
		t.Logf("berth start --verbose (second start):\n%s", out)
		t.Logf("second start: engine ready %.1fs after the start began", startedIn(t, out))
		if got := strings.TrimSpace(e.mustDocker(t, "image", "inspect", "--format", "{{.Architecture}}", arm64Image)); got != "arm64" {
			t.Fatalf("the built image after a restart: architecture %q", got)
		}
		if out := e.mustDocker(t, "run", "--rm", arm64Image, "echo", "still here"); strings.TrimSpace(out) != "still here" {
			t.Fatalf("run after restart: %q", out)
		}
	})

	t.Run("a saved arm64 VM is restored", func(t *testing.T) {
		e.mustBerth(t, "stop")
		e.assertNothingLeft(t)
		out := e.mustBerth(t, "start", "--verbose")
		t.Logf("berth start --verbose (restored):\n%s", out)
		if tl := e.status(t).Timeline; tl == nil || !tl.Restored {
			log, _ := os.ReadFile(filepath.Join(e.machineDir(), "hostagent.log"))
			t.Fatalf("the start after a stop did not restore the saved VM; agent log:\n%s", tail(log, 4000))
		}
		if out := e.mustDocker(t, "run", "--rm", "-v", shared+":/data:ro", arm64Image, "cat", "/data/from-host.txt"); out == "" {
			t.Fatalf("a shared folder after the restore: %q", out)
		}
	})

	// Without its agent, nothing can ask the guest agent: the VM is forced
	// off at once, not after waiting for a power button it cannot see.
	t.Run("kill -9 of the agent, stop forces the VM off", func(t *testing.T) {
		st := e.killAgent(t)
		t0 := time.Now()
		out := e.mustBerth(t, "stop")
		took := time.Since(t0)
		if !strings.Contains(out, "without its host agent") {
			t.Errorf("stop after the agent's death does not report the VM:\n%s", out)
		}
		if took > 20*time.Second {
			t.Errorf("stop took %s: it waited for a power-off that an arm64 guest cannot do", took.Round(time.Second))
		}
		e.assertNothingLeft(t)
		if pidAlive(st.VMPID) {
			t.Fatalf("VM pid %d still alive", st.VMPID)
		}
	})
	t.Logf("arm64 smoke suite: %s", time.Since(began).Round(time.Second))
}

// startedIn reads the engine's time to ready from `berth start --verbose`.
func startedIn(t *testing.T, out string) float64 {
	t.Helper()
	m := regexp.MustCompile(`Started in ([0-9.]+)s`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("berth start --verbose printed no timeline:\n%s", out)
	}
	s, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		t.Fatalf("berth start --verbose: %v", err)
	}
	return s
}

func elfMachine(t *testing.T, b []byte) elf.Machine {
	t.Helper()
	f, err := elf.NewFile(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("not an ELF binary: %v", err)
	}
	return f.Machine
}
